/**
 * Follows MQTT framing on a byte stream without keeping any of it: each packet is a fixed header
 * (one type byte, then a remaining length of 1-4 bytes, 7 bits each, MQTT 3.1.1 §2.2.3) and that
 * many bytes. aedes caps no packet size (DESIGN "Known hazards"), and mqtt-packet buffers a packet
 * until its declared length has arrived; the meter sees the declaration as soon as its bytes
 * arrive, so the connection can be dropped before the body is buffered.
 */

export type FrameVerdict =
  /** Everything so far declares packets within the limit. */
  | { readonly kind: "ok" }
  /** A packet declared `declaredBytes` of remaining length, above the limit. */
  | { readonly kind: "oversize"; readonly declaredBytes: number }
  /** A remaining-length field ran past its 4 bytes. */
  | { readonly kind: "malformed" };

const OK: FrameVerdict = { kind: "ok" };
const MAX_LENGTH_BYTES = 4;

export class MqttFrameMeter {
  readonly #maxRemainingBytes: number;
  #phase: "type" | "length" | "body" = "type";
  #length = 0;
  #lengthBytes = 0;
  #bodyLeft = 0;
  #verdict: FrameVerdict = OK;

  /** `maxRemainingBytes`: the largest remaining length a packet may declare. */
  constructor(maxRemainingBytes: number) {
    this.#maxRemainingBytes = maxRemainingBytes;
  }

  /** True between packets: the next byte fed is a packet's type byte. */
  get atPacketStart(): boolean {
    return this.#phase === "type";
  }

  /** Reads the next bytes of the stream. Once not ok, the verdict sticks. */
  feed(chunk: Uint8Array): FrameVerdict {
    let i = 0;
    while (i < chunk.length && this.#verdict.kind === "ok") {
      switch (this.#phase) {
        case "type":
          i += 1;
          this.#phase = "length";
          this.#length = 0;
          this.#lengthBytes = 0;
          break;
        case "length": {
          const byte = chunk[i]!;
          i += 1;
          this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
          this.#lengthBytes += 1;
          if (this.#length > this.#maxRemainingBytes) {
            // Later length bytes only add, so the declaration is already too large.
            this.#verdict = {
              kind: "oversize",
              declaredBytes: this.#declaredSoFar(chunk, i, byte),
            };
          } else if ((byte & 0x80) === 0) {
            this.#bodyLeft = this.#length;
            this.#phase = this.#length === 0 ? "type" : "body";
          } else if (this.#lengthBytes === MAX_LENGTH_BYTES) {
            this.#verdict = { kind: "malformed" };
          }
          break;
        }
        case "body": {
          const step = Math.min(this.#bodyLeft, chunk.length - i);
          i += step;
          this.#bodyLeft -= step;
          if (this.#bodyLeft === 0) this.#phase = "type";
          break;
        }
      }
    }
    return this.#verdict;
  }

  /** The full declared length when its bytes are in this chunk, for the log line. */
  #declaredSoFar(chunk: Uint8Array, next: number, last: number): number {
    let length = this.#length;
    let count = this.#lengthBytes;
    let byte = last;
    while ((byte & 0x80) !== 0 && count < MAX_LENGTH_BYTES && next < chunk.length) {
      byte = chunk[next]!;
      next += 1;
      length += (byte & 0x7f) * 128 ** count;
      count += 1;
    }
    return length;
  }
}
