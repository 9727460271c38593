import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { consortBin as bin, start, stopAll, waitFor } from "./processes.js";

afterAll(() => {
  stopAll();
});

/** `consort hash-password` with the password on stdin, as a script would give it. */
function hash(
  password: string,
  args: string[] = [],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, "hash-password", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("close", (code) => resolve({ code, out, err }));
    child.stdin.end(password);
  });
}

describe("consort hash-password", () => {
  it("makes a users-file entry that a broker process accepts, and a wrong password is refused", async () => {
    const made = await hash("op-s3cret\n", ["--username", "operator", "--role", "operator"]);
    expect(made.code, made.err).toBe(0);
    expect(made.out).not.toContain("op-s3cret");
    const dir = mkdtempSync(join(tmpdir(), "consort-users-"));
    const users = join(dir, "users.yaml");
    writeFileSync(users, made.out);
    const broker = start(["broker", "--port", "0", "--site", "plant", "--users", users]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const ok = await mqtt.connectAsync(url, {
      clientId: "operator",
      username: "operator",
      password: "op-s3cret",
      reconnectPeriod: 0,
    });
    expect(ok.connected).toBe(true);
    await ok.endAsync();
    await expect(
      mqtt.connectAsync(url, {
        clientId: "operator",
        username: "operator",
        password: "wrong",
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Bad username or password|Not authorized|refused/i);
    broker.child.kill("SIGTERM");
  }, 30_000);

  it("prints a bare hash, and refuses empty or several-line input", async () => {
    const bare = await hash("x\n");
    expect(bare.out).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
    const empty = await hash("");
    expect(empty.code).toBe(65);
    expect(empty.err).toMatch(/the password is empty/);
    const two = await hash("a\nb\n");
    expect(two.code).toBe(65);
  });
});
