/**
 * Receivers deduplicate by `(sender, seq)` (QoS 1 delivers at least once, and a restarted agent
 * resends its journalled outbox). A sender whose sequence restarts with each session (a restarted
 * coordinator) is a new sender per epoch: the transport keys it `from#epoch`. Keeps, per sender, the highest sequence below which everything
 * was seen, plus the few seen above it, so memory stays bounded.
 */
export class Deduplicator {
  private readonly senders = new Map<string, { floor: number; above: Set<number> }>();

  constructor(private readonly maxAbove = 1024) {}

  /** True the first time a (sender, seq) is offered, false on every repeat. */
  firstTime(sender: string, seq: number): boolean {
    let s = this.senders.get(sender);
    if (!s) {
      s = { floor: -1, above: new Set() };
      this.senders.set(sender, s);
    }
    if (seq <= s.floor || s.above.has(seq)) return false;
    s.above.add(seq);
    while (s.above.has(s.floor + 1)) {
      s.above.delete(s.floor + 1);
      s.floor++;
    }
    if (s.above.size > this.maxAbove) {
      // A long gap (a lost message that will never come): move the floor up to the smallest seen.
      const smallest = Math.min(...s.above);
      s.floor = smallest;
      s.above.delete(smallest);
      while (s.above.has(s.floor + 1)) {
        s.above.delete(s.floor + 1);
        s.floor++;
      }
    }
    return true;
  }
}
