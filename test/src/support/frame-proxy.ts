import net from "node:net";
import { createRng, type Rng } from "@consort/core";
import { parseMessage } from "@consort/protocol";
import mqttPacket, { type Packet } from "mqtt-packet";

/**
 * A frame-aware TCP proxy for MQTT 3.1.1, for chaos tests: it cuts each direction's byte stream
 * into whole control packets (read with mqtt-packet) and, drawn from a seed, sends some PUBLISH
 * packets twice and holds others back a bounded while (later packets overtake them). A QoS 1
 * PUBLISH sent twice is acknowledged twice by its receiver; the proxy swallows the first PUBACK,
 * so the sender, which sent it once, hears one, and only once the copy too has been received
 * (its packet id cannot be reused meanwhile). Everything else passes byte for byte, in order.
 */
export interface FrameProxyOptions {
  /** The broker behind the proxy. */
  readonly target: { readonly host: string; readonly port: number };
  readonly seed: number;
  /** Share of PUBLISH packets sent twice (0..1). */
  readonly duplicate: number;
  /** Share of PUBLISH packets held back, overtaken by what follows (0..1). */
  readonly reorder: number;
  /** A held packet goes out after at most this long (ms). */
  readonly maxHoldMs: number;
  /**
   * A client's PUBLISH to lose as a broker that dies after acknowledging it would: the proxy
   * answers PUBACK itself and forwards nothing.
   */
  readonly lose?: (topic: string, payload: Buffer) => boolean;
  /** Each PUBLISH and PUBACK seen and what became of it, for a failure's post-mortem. */
  readonly trace?: (line: string) => void;
}

export interface FrameProxyStats {
  connections: number;
  frames: number;
  lost: number;
  publishes: number;
  duplicated: number;
  held: number;
  swallowedAcks: number;
}

export interface FrameProxy {
  readonly url: string;
  readonly stats: FrameProxyStats;
  /** Breaks every connection at once, without DISCONNECT (the broker sends the last wills). */
  cut(): void;
  close(): Promise<void>;
}

/** Type 3 = PUBLISH, 4 = PUBACK (MQTT 3.1.1 §2.2.1). */
const PUBLISH = 3;

/** The length of the whole packet starting at `offset`, or undefined while it is incomplete. */
function frameLength(buffer: Buffer, offset: number): number | undefined {
  let length = 0;
  let multiplier = 1;
  let i = offset + 1;
  for (let digits = 0; ; digits++) {
    if (digits === 4) throw new Error("malformed remaining length");
    if (i >= buffer.length) return undefined;
    const byte = buffer[i++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  const total = i - offset + length;
  return buffer.length - offset >= total ? total : undefined;
}

/** One direction of one connection: frames from `from` go to `to`, some doubled or held. */
class Direction {
  private pending: Buffer = Buffer.alloc(0);
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private parsed: Packet | undefined;
  /** PUBACKs to drop, by packet id: the extra acknowledgements of doubled PUBLISHes. */
  readonly swallow = new Map<number, number>();
  opposite: Direction | undefined;
  /** The client id (from CONNECT), for traces. */
  name = "?";
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly to: net.Socket,
    /** Whether this direction carries the client's packets to the broker. */
    private readonly upward: boolean,
    private readonly rng: Rng,
    private readonly options: FrameProxyOptions,
    private readonly stats: FrameProxyStats,
  ) {
    this.parser.on("packet", (p: Packet) => {
      this.parsed = p;
    });
    this.parser.on("error", () => {
      this.parsed = undefined;
    });
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    for (;;) {
      const n = frameLength(this.pending, offset);
      if (n === undefined) break;
      this.frame(this.pending.subarray(offset, offset + n));
      offset += n;
    }
    this.pending = Buffer.from(this.pending.subarray(offset));
  }

  private frame(frame: Buffer): void {
    this.stats.frames++;
    this.parsed = undefined;
    this.parser.parse(frame);
    const packet = this.parsed as Packet | undefined;
    if (packet?.cmd === "connect") this.name = packet.clientId;
    const trace = this.options.trace;
    const tag = () =>
      `${this.upward ? "up" : "down"} ${this.upward ? this.name : this.opposite?.name}`;
    if (packet?.cmd === "puback" && packet.messageId !== undefined) {
      const owed = this.swallow.get(packet.messageId) ?? 0;
      if (owed > 0) {
        this.stats.swallowedAcks++;
        if (owed === 1) this.swallow.delete(packet.messageId);
        else this.swallow.set(packet.messageId, owed - 1);
        trace?.(`${tag()} puback ${packet.messageId} swallowed`);
        return;
      }
    }
    if (packet?.cmd === "puback") trace?.(`${tag()} puback ${packet.messageId}`);
    if (frame[0]! >> 4 !== PUBLISH || packet?.cmd !== "publish") {
      this.write(frame);
      return;
    }
    this.stats.publishes++;
    trace?.(
      `${tag()} publish ${packet.messageId} ${packet.topic} ${describe(packet.payload, packet.topic)}`,
    );
    if (this.upward && this.options.lose?.(packet.topic, packet.payload as Buffer)) {
      this.stats.lost++;
      if (packet.qos > 0 && packet.messageId !== undefined)
        this.opposite?.write(mqttPacket.generate({ cmd: "puback", messageId: packet.messageId }));
      return;
    }
    // Two draws per PUBLISH whatever the outcome, so a seed gives the same choices in order.
    const doubled = this.rng.next() < this.options.duplicate;
    const held = this.rng.next() < this.options.reorder;
    const holdMs = this.rng.int(1, this.options.maxHoldMs);
    if (doubled) {
      this.stats.duplicated++;
      if (packet.qos > 0 && packet.messageId !== undefined && this.opposite) {
        const id = packet.messageId;
        this.opposite.swallow.set(id, (this.opposite.swallow.get(id) ?? 0) + 1);
      }
    }
    if (held) {
      this.stats.held++;
      this.later(frame, holdMs);
    } else this.write(frame);
    // The copy may come straight after, or overtaken by later packets.
    if (doubled) this.later(frame, this.rng.int(0, this.options.maxHoldMs));
  }

  private later(frame: Buffer, ms: number): void {
    const copy = Buffer.from(frame);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.write(copy);
    }, ms);
    this.timers.add(timer);
  }

  write(frame: Buffer): void {
    if (!this.to.destroyed && this.to.writable) this.to.write(frame);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function describe(payload: Buffer | string, topic: string): string {
  try {
    const m = parseMessage(Buffer.from(payload), topic) as {
      type: string;
      id: string;
    };
    return `${m.type} ${m.id}`;
  } catch {
    return `${payload.length} bytes`;
  }
}

/** Starts the proxy on an ephemeral loopback port. */
export async function startFrameProxy(options: FrameProxyOptions): Promise<FrameProxy> {
  const rng = createRng(options.seed);
  const stats: FrameProxyStats = {
    connections: 0,
    frames: 0,
    lost: 0,
    publishes: 0,
    duplicated: 0,
    held: 0,
    swallowedAcks: 0,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    stats.connections++;
    client.setNoDelay(true);
    const upstream = net.connect(options.target.port, options.target.host);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const up = new Direction(upstream, true, rng, options, stats);
    const down = new Direction(client, false, rng, options, stats);
    up.opposite = down;
    down.opposite = up;
    const end = () => {
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("data", (d: Buffer) => {
      try {
        up.push(d);
      } catch {
        end();
      }
    });
    upstream.on("data", (d: Buffer) => {
      try {
        down.push(d);
      } catch {
        end();
      }
    });
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stats,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
