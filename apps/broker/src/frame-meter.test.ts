import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MqttFrameMeter } from "./frame-meter.js";

/** The MQTT remaining-length encoding (§2.2.3). */
function encodeLength(length: number): number[] {
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return bytes;
}

function packet(length: number, type = 0x30): Buffer {
  return Buffer.concat([Buffer.from([type, ...encodeLength(length)]), Buffer.alloc(length, 7)]);
}

function splitAt(buffer: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(buffer.subarray(from, p));
    from = p;
  }
  parts.push(buffer.subarray(from));
  return parts;
}

describe("MqttFrameMeter", () => {
  it("accepts packets within the limit, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lengths, cuts) => {
          const meter = new MqttFrameMeter(300);
          const stream = Buffer.concat(lengths.map((n) => packet(n)));
          return splitAt(stream, cuts).every((c) => meter.feed(c).kind === "ok");
        },
      ),
    );
  });

  it("flags a packet above the limit after valid ones, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 5 }),
        fc.integer({ min: 201, max: 268_435_455 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lengths, big, cuts) => {
          const meter = new MqttFrameMeter(200);
          // Only the header of the large packet: the meter must not need its body.
          const header = Buffer.from([0x30, ...encodeLength(big)]);
          const stream = Buffer.concat([...lengths.map((n) => packet(n)), header]);
          const verdicts = splitAt(stream, cuts).map((c) => meter.feed(c));
          return verdicts.at(-1)?.kind === "oversize";
        },
      ),
    );
  });

  it("reports the declared length of a 256 MB CONNECT from its first five bytes", () => {
    const meter = new MqttFrameMeter(262_144);
    expect(meter.feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))).toEqual({
      kind: "oversize",
      declaredBytes: 268_435_455,
    });
  });

  it("flags a remaining-length field longer than four bytes", () => {
    const meter = new MqttFrameMeter(268_435_455);
    expect(meter.feed(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80]))).toEqual({ kind: "malformed" });
  });

  it("keeps its verdict once not ok", () => {
    const meter = new MqttFrameMeter(10);
    expect(meter.feed(packet(11)).kind).toBe("oversize");
    expect(meter.feed(packet(1)).kind).toBe("oversize");
  });

  it("allows a packet of exactly the limit", () => {
    const meter = new MqttFrameMeter(128);
    expect(meter.feed(packet(128)).kind).toBe("ok");
    expect(meter.feed(packet(129)).kind).toBe("oversize");
  });
});
