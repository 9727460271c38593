import type { Ticks } from "@consort/core";
import type { Body } from "@consort/protocol";

/**
 * Conservative lock-step time for simulated fleets: the clock master moves simulated time only
 * when the whole fleet is quiet — every online agent has reported `idle` for the current step,
 * and no point-to-point message is in flight (for each agent, what the coordinator sent equals
 * what the agent received, and what the agent sent equals what the coordinator received). Then
 * time jumps to the earliest next event anywhere, so a run goes as fast as the messages allow
 * and a seed reproduces it whatever the machine's load.
 */
export class ClockMaster {
  step = 0;
  nowTicks: Ticks = 0;
  private readonly idle = new Map<string, Body<"idle">>();
  private readonly online = new Set<string>();
  private readonly sentTo = new Map<string, number>();
  private readonly receivedFrom = new Map<string, number>();

  setOnline(agentId: string, online: boolean): void {
    if (online) this.online.add(agentId);
    else this.online.delete(agentId);
  }

  isOnline(agentId: string): boolean {
    return this.online.has(agentId);
  }

  get onlineAgents(): readonly string[] {
    return [...this.online];
  }

  countSent(agentId: string): void {
    this.sentTo.set(agentId, (this.sentTo.get(agentId) ?? 0) + 1);
  }

  countReceived(agentId: string): void {
    this.receivedFrom.set(agentId, (this.receivedFrom.get(agentId) ?? 0) + 1);
  }

  /**
   * An agent's idle report. `seq` (the message's) orders two reports of the same step: delivery
   * may reorder them, and an older one taking the newer's place would leave its counts behind for
   * ever (the agent has nothing more to say). Returns true when it rebased its agent's counts (the
   * first report of a resumed session at or after its first step): the agent's commands can go
   * out now.
   */
  onIdle(agentId: string, body: Body<"idle">, seq?: number): boolean {
    const previous = this.idle.get(agentId);
    const previousSeq = this.idleSeq.get(agentId);
    if (previous && previous.step > body.step) return false; // an older report overtaken by a newer one
    if (
      previous &&
      previous.step === body.step &&
      (seq !== undefined && previousSeq !== undefined
        ? seq < previousSeq
        : body.received < previous.received || body.sent < previous.sent)
    )
      return false;
    this.idle.set(agentId, body);
    if (seq !== undefined) this.idleSeq.set(agentId, seq);
    else this.idleSeq.delete(agentId);
    if (this.rebaseStep === undefined || this.rebased.has(agentId) || body.step < this.rebaseStep)
      return false;
    // Its counts span every coordinator session; this one has sent it nothing yet (commands wait
    // in `needsRebase`) and has received all it sent before this report (one sender, in order).
    this.sentTo.set(agentId, body.received);
    this.receivedFrom.set(agentId, body.sent);
    this.rebased.add(agentId);
    return true;
  }

  private rebaseStep: number | undefined;
  private readonly rebased = new Set<string>();

  /**
   * A restarted clock master: back at the step and time it journalled last, then one step on
   * (`resync`), since the agents may or may not have seen that step's clock.
   */
  restore(step: number, nowTicks: Ticks): void {
    this.step = step;
    this.nowTicks = nowTicks;
  }

  /**
   * Starts a resumed session's first step, at the same time: each agent's first idle report for
   * it (or a later one) gives the sent/received counts of the sessions before, which this one
   * cannot know (what the old one sent, what reached it before it died).
   */
  resync(): Body<"clock"> {
    const body = this.advance(this.nowTicks);
    this.rebaseStep = body.step;
    this.rebased.clear();
    return body;
  }

  /** Whether commands to this agent must wait: a resumed session has not learnt its counts yet. */
  needsRebase(agentId: string): boolean {
    return this.rebaseStep !== undefined && !this.rebased.has(agentId);
  }
  private readonly idleSeq = new Map<string, number>();

  /** Which online agents hold time back, and why (for logs and for a stuck run's diagnosis). */
  waitingFor(): { agentId: string; reason: string }[] {
    const out: { agentId: string; reason: string }[] = [];
    for (const agentId of this.online) {
      const idle = this.idle.get(agentId);
      const sent = this.sentTo.get(agentId) ?? 0;
      const received = this.receivedFrom.get(agentId) ?? 0;
      if (!idle || idle.step < this.step)
        out.push({ agentId, reason: `no idle report for step ${this.step}` });
      else if (idle.received !== sent)
        out.push({ agentId, reason: `received ${idle.received} of ${sent} commands` });
      else if (idle.sent !== received)
        out.push({ agentId, reason: `sent ${idle.sent}, ${received} arrived` });
    }
    return out;
  }

  quiet(): boolean {
    return this.waitingFor().length === 0;
  }

  /** The earliest next event of the fleet and the coordinator, if any. */
  nextEvent(coordinatorNext: Ticks | undefined): Ticks | undefined {
    let next = coordinatorNext;
    for (const agentId of this.online) {
      const t = this.idle.get(agentId)?.nextEventTicks;
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next === undefined ? undefined : Math.max(next, this.nowTicks);
  }

  /** Moves to the next step at `time`; returns the `clock` body to publish. */
  advance(time: Ticks): Body<"clock"> {
    this.step += 1;
    this.nowTicks = Math.max(this.nowTicks, time);
    return { nowTicks: this.nowTicks, step: this.step };
  }
}
