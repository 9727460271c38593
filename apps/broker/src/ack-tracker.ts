/**
 * Finds unsolicited acknowledgements (MQTT 3.1.1 §4.3): a PUBACK, PUBREC or PUBCOMP from a client
 * for a packet id the broker has no matching PUBLISH or PUBREL outstanding for. aedes has no hook
 * for incoming acknowledgements and silently ignores these, so both directions of the byte
 * stream are followed here: packet heads only, bodies are skipped without being kept.
 * PUBREL is not checked: after a reconnect a client must resend PUBREL for a QoS 2 message of the
 * previous connection (MQTT-4.4.0-1), and whether that message is still stored lives in the
 * persistence, not on this connection. For the same reason a client resuming a persistent session
 * (CleanSession 0) may acknowledge a PUBLISH of an earlier connection (its PUBACK queued while it
 * was cut off, or sent before the broker's resend): on such a connection an acknowledgement of an
 * unknown id is let through to aedes, which matches it against the stored session.
 */

const CONNECT = 1;
const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;
const NAMES: Record<number, string> = {
  [PUBACK]: "PUBACK",
  [PUBREC]: "PUBREC",
  [PUBCOMP]: "PUBCOMP",
};

/** Calls `onPacket(type, flags, head)` with up to `headBytes(type, flags)` body bytes of each packet. */
class HeadReader {
  #phase: "type" | "length" | "body" = "type";
  #type = 0;
  #flags = 0;
  #length = 0;
  #lengthBytes = 0;
  #left = 0;
  #want = 0;
  #head: number[] = [];

  constructor(
    private readonly headBytes: (type: number, flags: number) => number,
    private readonly onPacket: (type: number, flags: number, head: Buffer) => void,
  ) {}

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#phase === "type") {
        const byte = chunk[i]!;
        i += 1;
        this.#type = byte >> 4;
        this.#flags = byte & 0x0f;
        this.#length = 0;
        this.#lengthBytes = 0;
        this.#phase = "length";
      } else if (this.#phase === "length") {
        const byte = chunk[i]!;
        i += 1;
        this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
        this.#lengthBytes += 1;
        if ((byte & 0x80) === 0 || this.#lengthBytes === 4) {
          this.#left = this.#length;
          this.#want = Math.min(this.#length, this.headBytes(this.#type, this.#flags));
          this.#head = [];
          this.#phase = "body";
          if (this.#left === 0) this.#finish();
        }
      } else {
        const step = Math.min(this.#left, chunk.length - i);
        for (let k = 0; k < step && this.#head.length < this.#want; k++) {
          this.#head.push(chunk[i + k]!);
          // A PUBLISH head ends after its topic and packet id: stop there, not at the payload.
          if (this.#type === PUBLISH && this.#head.length === 2)
            this.#want = Math.min(this.#want, 4 + ((this.#head[0]! << 8) | this.#head[1]!));
        }
        i += step;
        this.#left -= step;
        if (this.#left === 0) this.#finish();
      }
    }
  }

  #finish(): void {
    this.#phase = "type";
    this.onPacket(this.#type, this.#flags, Buffer.from(this.#head));
  }
}

export class AckTracker {
  /** QoS 1 PUBLISH ids sent, awaiting PUBACK. */
  readonly #awaitingPuback = new Set<number>();
  /** QoS 2 PUBLISH ids sent, awaiting PUBREC. */
  readonly #awaitingPubrec = new Set<number>();
  /** PUBREL ids sent, awaiting PUBCOMP. */
  readonly #awaitingPubcomp = new Set<number>();
  #violation: string | undefined;
  /** The client resumed (or keeps) a persistent session: ids may be of an earlier connection. */
  #persistent = false;

  readonly #out = new HeadReader(
    // A PUBLISH head holds the topic length, the topic, then the packet id: read up to 2+65535+2.
    (type) => (type === PUBLISH ? 65_539 : type === PUBREL ? 2 : 0),
    (type, flags, head) => {
      if (type === PUBREL && head.length === 2) {
        this.#awaitingPubcomp.add(head.readUInt16BE(0));
        return;
      }
      if (type !== PUBLISH) return;
      const qos = (flags >> 1) & 3;
      if (qos === 0 || head.length < 2) return;
      const at = 2 + head.readUInt16BE(0);
      if (head.length < at + 2) return;
      const id = head.readUInt16BE(at);
      (qos === 1 ? this.#awaitingPuback : this.#awaitingPubrec).add(id);
    },
  );

  readonly #in = new HeadReader(
    // CONNECT: the protocol name ("MQTT" or "MQIsdp"), the level, then the connect flags.
    (type) => (type === CONNECT ? 10 : type >= PUBACK && type <= PUBCOMP ? 2 : 0),
    (type, _flags, head) => {
      if (type === CONNECT && head.length >= 2) {
        const at = 2 + head.readUInt16BE(0) + 1;
        if (head.length > at) this.#persistent = (head[at]! & 0x02) === 0;
        return;
      }
      if (this.#violation !== undefined || head.length < 2) return;
      if (type !== PUBACK && type !== PUBREC && type !== PUBCOMP) return;
      const id = head.readUInt16BE(0);
      const waiting =
        type === PUBACK
          ? this.#awaitingPuback
          : type === PUBREC
            ? this.#awaitingPubrec
            : this.#awaitingPubcomp;
      if (!waiting.delete(id) && !this.#persistent) {
        this.#violation = `unsolicited ${NAMES[type]} for packet id ${id} (MQTT 3.1.1 §4.3)`;
      }
    },
  );

  /** Bytes the broker wrote to the client. */
  sent(chunk: Uint8Array): void {
    this.#out.feed(chunk);
  }

  /** Bytes the client sent; a description of the first unsolicited acknowledgement, if any. */
  received(chunk: Uint8Array): string | undefined {
    this.#in.feed(chunk);
    return this.#violation;
  }
}
