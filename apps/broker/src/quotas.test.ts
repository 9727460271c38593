import { describe, expect, it } from "vitest";
import { AckTracker } from "./ack-tracker.js";
import { LoginGate } from "./login-gate.js";
import { RetainedQuota } from "./quotas.js";

describe("RetainedQuota", () => {
  const limits = {
    maxRetainedPerClient: 2,
    maxRetainedBytesPerClient: 100,
    maxRetained: 3,
    maxRetainedBytes: 1000,
  };

  it("counts per owner and in all; replacing and clearing free their share", () => {
    const q = new RetainedQuota(limits);
    expect(q.admit("a", "t1", 40)).toBe(true);
    expect(q.admit("a", "t2", 40)).toBe(true);
    expect(q.admit("a", "t3", 1)).toBe(false); // a third message for a
    expect(q.admit("a", "t1", 60)).toBe(true); // replaces t1: 60 + 40 = 100 bytes
    expect(q.admit("a", "t1", 61)).toBe(false); // 101 bytes
    expect(q.usage("a")).toEqual({ count: 2, bytes: 100 });
    expect(q.admit("b", "t4", 10)).toBe(true);
    expect(q.admit("c", "t5", 10)).toBe(false); // a fourth in all
    expect(q.admit("a", "t2", 0)).toBe(true); // clears t2
    expect(q.admit("c", "t5", 10)).toBe(true);
    expect(q.usage()).toEqual({ count: 3, bytes: 80 });
  });
});

describe("AckTracker", () => {
  const publish = (qos: number, id: number) =>
    Buffer.from([0x30 | (qos << 1), 7, 0, 1, 0x74, id >> 8, id & 0xff, 0x61, 0x62]);

  it("accepts the acknowledgement of what was sent, once, even across chunks", () => {
    const t = new AckTracker();
    const both = Buffer.concat([publish(1, 5), publish(2, 6)]);
    t.sent(both.subarray(0, 4));
    t.sent(both.subarray(4));
    expect(t.received(Buffer.from([0x40, 2]))).toBeUndefined();
    expect(t.received(Buffer.from([0, 5, 0x50, 2, 0, 6]))).toBeUndefined();
    t.sent(Buffer.from([0x62, 2, 0, 6])); // PUBREL 6
    expect(t.received(Buffer.from([0x70, 2, 0, 6]))).toBeUndefined();
    expect(t.received(Buffer.from([0x40, 2, 0, 5]))).toMatch(/unsolicited PUBACK for packet id 5/);
  });

  // CONNECT with protocol "MQTT", level 4 and these connect flags (no payload needed here).
  const connect = (flags: number) =>
    Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 30, 0, 0]);

  it("lets a persistent session acknowledge a message of an earlier connection", () => {
    const resumed = new AckTracker();
    expect(resumed.received(connect(0x00))).toBeUndefined();
    // Its PUBACK for a message the broker delivered before the client was cut off.
    expect(resumed.received(Buffer.from([0x40, 2, 0xc5, 0x90]))).toBeUndefined();
    const clean = new AckTracker();
    expect(clean.received(connect(0x02))).toBeUndefined();
    expect(clean.received(Buffer.from([0x40, 2, 0xc5, 0x90]))).toMatch(/unsolicited PUBACK/);
  });

  it("does not take a QoS 0 message as awaiting an acknowledgement", () => {
    const t = new AckTracker();
    t.sent(Buffer.from([0x30, 5, 0, 1, 0x74, 0, 9]));
    expect(t.received(Buffer.from([0x40, 2, 0, 9]))).toMatch(/unsolicited PUBACK/);
  });
});

describe("LoginGate", () => {
  it("serves an address without failures before queued guesses from a failing one", async () => {
    const gate = new LoginGate({ concurrency: 1, queueLimit: 10, baseDelayMs: 1, maxDelayMs: 1 });
    const order: string[] = [];
    const check = (who: string, ok: boolean) => async () => {
      order.push(who);
      await new Promise((r) => setTimeout(r, 5));
      return ok;
    };
    const runs = [
      gate.run("10.0.0.9", "m1", check("guess1", false), (ok) => !ok),
      gate.run("10.0.0.9", "m1", check("guess2", false), (ok) => !ok),
      gate.run("10.0.0.9", "m1", check("guess3", false), (ok) => !ok),
    ];
    await new Promise((r) => setTimeout(r, 1));
    runs.push(gate.run("10.0.0.1", "m2", check("honest", true), (ok) => !ok));
    await Promise.all(runs);
    // guess1 ran first and failed; from then on its address is suspect and the honest login goes next.
    expect(order.slice(0, 2)).toEqual(["guess1", "honest"]);
  });

  it("refuses (busy) past its queue", async () => {
    const gate = new LoginGate({ concurrency: 1, queueLimit: 1, baseDelayMs: 1, maxDelayMs: 1 });
    const slow = () => new Promise<boolean>((r) => setTimeout(() => r(true), 20));
    const results = await Promise.all(
      [1, 2, 3].map(() => gate.run("10.0.0.1", "m1", slow, () => false)),
    );
    expect(results.map((r) => r.kind)).toEqual(["done", "done", "busy"]);
    expect(gate.busyRefusals).toBe(1);
  });
});
