import type { ProtocolErrorCode } from "./errors.js";

/** Messages and bytes by direction, type and topic kind, and drops by reason: every process keeps one. */
export class MessageStats {
  /** By message type. */
  readonly sent = new Map<string, { messages: number; bytes: number }>();
  readonly received = new Map<string, { messages: number; bytes: number }>();
  /** By topic kind of the catalogue ("agent-in", "peer", "clock", ...). */
  readonly sentByTopic = new Map<string, { messages: number; bytes: number }>();
  readonly receivedByTopic = new Map<string, { messages: number; bytes: number }>();
  readonly dropped = new Map<ProtocolErrorCode | "duplicate" | "stale", number>();

  countSent(type: string, bytes: number, topicKind = "other"): void {
    add(this.sent, type, bytes);
    add(this.sentByTopic, topicKind, bytes);
  }
  countReceived(type: string, bytes: number, topicKind = "other"): void {
    add(this.received, type, bytes);
    add(this.receivedByTopic, topicKind, bytes);
  }
  countDropped(reason: ProtocolErrorCode | "duplicate" | "stale"): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }
  totals(): {
    sentMessages: number;
    sentBytes: number;
    receivedMessages: number;
    receivedBytes: number;
    dropped: number;
  } {
    const sum = (m: Map<string, { messages: number; bytes: number }>, k: "messages" | "bytes") =>
      [...m.values()].reduce((s, v) => s + v[k], 0);
    return {
      sentMessages: sum(this.sent, "messages"),
      sentBytes: sum(this.sent, "bytes"),
      receivedMessages: sum(this.received, "messages"),
      receivedBytes: sum(this.received, "bytes"),
      dropped: [...this.dropped.values()].reduce((a, b) => a + b, 0),
    };
  }
  toJSON() {
    return {
      sent: Object.fromEntries(this.sent),
      received: Object.fromEntries(this.received),
      sentByTopic: Object.fromEntries(this.sentByTopic),
      receivedByTopic: Object.fromEntries(this.receivedByTopic),
      dropped: Object.fromEntries(this.dropped),
      totals: this.totals(),
    };
  }
}

function add(
  map: Map<string, { messages: number; bytes: number }>,
  key: string,
  bytes: number,
): void {
  const entry = map.get(key) ?? { messages: 0, bytes: 0 };
  entry.messages++;
  entry.bytes += bytes;
  map.set(key, entry);
}
