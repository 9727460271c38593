import type { PeerBody } from "../messages.js";
import type { AgentSetup } from "../setup.js";
import type { CommsStrategy } from "./comms-policies.js";
import type { OutgoingMessage } from "./types.js";

/**
 * The agent's line to the deliberative scheduler: its escalations go straight to the scheduler;
 * its install answers too, or through the relay its communication policy names (a cell's
 * leader, which keeps its own and sends one summary per tick). Peer messages (profiles, enabler
 * notices, synchronized starts) are sent by the state manager and the execution controller,
 * which ask the same policy how often.
 */
export class Communication {
  private readonly setup: AgentSetup;
  readonly strategy: CommsStrategy;

  constructor(setup: AgentSetup, strategy: CommsStrategy) {
    this.setup = setup;
    this.strategy = strategy;
  }

  /**
   * Sends to the deliberative scheduler, or to this agent's relay (itself: kept to relay). An
   * escalation always goes straight to the scheduler: a relay's extra tick comes off the window
   * its repair has left (on the backup problem, cells relaying escalations lost 5.9% of the
   * quality); install answers, which only release the scheduler's lock, can take the detour.
   */
  toCoordinator(body: PeerBody, out: OutgoingMessage[]): void {
    const d = this.setup.deliberative;
    if (!d) return;
    const relay = body.type === "escalate" ? undefined : this.strategy.relay();
    if (relay === undefined) out.push({ to: d.address, body });
    else if (relay !== this.setup.agentId) out.push({ to: relay, body });
    else this.strategy.gather(this.setup.agentId, body);
  }

  /** What this agent relays for others, in one message to the scheduler. */
  summarize(out: OutgoingMessage[]): void {
    const d = this.setup.deliberative;
    if (!d) return;
    const body = this.strategy.summary();
    if (body !== undefined) out.push({ to: d.address, body });
  }
}
