import { createServer } from "node:net";
import { Aedes } from "aedes";
import { describe, expect, it } from "vitest";
import { connectPatiently } from "./session.js";

describe("connectPatiently", () => {
  it("keeps trying while the broker cannot be reached, then gives up with the last error", async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const lines: { retryInMs: number; reason: string }[] = [];
    const logger = {
      info: (details: Record<string, unknown>, _message: string) =>
        lines.push(details as { retryInMs: number; reason: string }),
      warn: () => {},
    };
    await expect(
      connectPatiently({ url: `mqtt://127.0.0.1:${port}`, clientId: "a", logger }, 3000),
    ).rejects.toThrow(/could not reach the broker at mqtt:\/\/127\.0\.0\.1:\d+ for 3 s/);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]?.reason).toMatch(/ECONNREFUSED/);
    expect(lines[1]?.retryInMs).toBe(2 * lines[0]!.retryInMs);
  });

  it("does not retry a refused login", async () => {
    const broker = await Aedes.createBroker({
      authenticate: (_client, _username, _password, done) => {
        const error = Object.assign(new Error("refused"), { returnCode: 5 });
        done(error as never, false);
      },
    });
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const lines: string[] = [];
    const logger = { info: (_: unknown, line: string) => lines.push(line), warn: () => {} };
    const started = Date.now();
    try {
      await expect(
        connectPatiently(
          {
            url: `mqtt://127.0.0.1:${port}`,
            clientId: "a",
            username: "a",
            password: "wrong",
            logger,
          },
          60_000,
        ),
      ).rejects.toThrow(/not authorized/i);
      expect(lines).toEqual([]);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
