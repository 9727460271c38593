import { type CommsStrategy, commsStrategy } from "./agent/comms-policies.js";
import { Communication } from "./agent/communication.js";
import { DeliberativeClient } from "./agent/deliberative-client.js";
import { Downgrader } from "./agent/downgrader.js";
import { ExecutionController } from "./agent/execution-controller.js";
import { OpportunisticScheduler } from "./agent/opportunistic-scheduler.js";
import { StateManager } from "./agent/state-manager.js";
import type { CtaemsAgent, OutgoingMessage, TickInput, TickOutput } from "./agent/types.js";
import { LocalView } from "./agent/view.js";
import type { PeerMessage } from "./messages.js";
import { qualityProfile } from "./profiles.js";
import type { AgentSetup } from "./setup.js";

export {
  AlwaysBroadcast,
  Cells,
  type CommsStrategy,
  commsStrategy,
  SelectiveBroadcast,
  Silence,
} from "./agent/comms-policies.js";
export {
  type AgentEvent,
  type CtaemsAgent,
  type OutgoingMessage,
  PRIORITY,
  type TickInput,
  type TickOutput,
} from "./agent/types.js";

/** What a `SchedulerAgentCsc` may be given besides its setup. */
export interface SchedulerAgentOptions {
  /** How much it says; default: the strategy of the setup's policy (`commsStrategy`). */
  readonly comms?: CommsStrategy;
}

/**
 * One scheduler agent of CSC (§3): a state manager keeping profiles of its subjective view and
 * exchanging them with the agents that share a node; an execution controller with distributed
 * window sliding and synchronized starts; an opportunistic scheduler; a downgrader; its side of
 * the deliberative scheduler. In "bos" mode it is the Benchmark Opportunistic Scheduler (§4):
 * the same local reasoning with no messages, so every remote node is only what its model says.
 * In "initial" mode it runs its part of the initial schedule and nothing else.
 *
 * This class wires the parts (in `./agent/`) and runs one tick: events in, messages handled,
 * the decisions in CSC's order, messages out.
 */
export class SchedulerAgentCsc implements CtaemsAgent {
  readonly id: string;
  private readonly setup: AgentSetup;
  private readonly view: LocalView;
  private readonly state: StateManager;
  private readonly comms: Communication;
  private readonly controller: ExecutionController;
  private readonly opportunistic: OpportunisticScheduler;
  private readonly downgrader: Downgrader;
  private readonly deliberative: DeliberativeClient;

  constructor(setup: AgentSetup, options: SchedulerAgentOptions = {}) {
    this.setup = setup;
    this.id = setup.agentId;
    const strategy = options.comms ?? commsStrategy(setup.policy, setup.agentId, setup.cell);
    this.view = new LocalView(setup.view);
    this.comms = new Communication(setup, strategy);
    this.state = new StateManager(setup, this.view, strategy);
    this.controller = new ExecutionController(setup, this.view, this.state, strategy);
    this.opportunistic = new OpportunisticScheduler(setup, this.view, this.state, this.controller);
    this.downgrader = new Downgrader(this.view, this.state);
    this.deliberative = new DeliberativeClient(
      setup,
      this.view,
      this.state,
      this.comms,
      (hold, freeFrom, busyUntil) => this.opportunistic.forgone(hold, freeFrom, busyUntil),
    );
  }

  /** Hands a peer message to the part it is for. */
  private handle(msg: PeerMessage): void {
    const body = msg.body;
    switch (body.type) {
      case "report":
        this.state.onReport(body);
        return;
      case "enabler":
        this.state.onEnabler(body);
        return;
      case "ready":
        this.controller.onReady(msg.from, body);
        return;
      case "withdraw":
        this.controller.onWithdraw(msg.from, body);
        return;
      case "install":
        this.deliberative.onInstall(body);
        return;
      case "cancel":
        this.deliberative.onCancel(body);
        return;
      case "escalate":
      case "installed":
        // From a member of this agent's cell: it leads, so it relays them in its summary.
        this.comms.strategy.gather(msg.from, body);
        return;
      default:
        return;
    }
  }

  step(input: TickInput): TickOutput {
    const s = this.state;
    s.tick = input.tick;
    const csc = this.setup.mode === "csc";
    const out: OutgoingMessage[] = [];
    for (const ev of input.events) {
      if (ev.kind === "completed")
        s.completed(ev.activityId, ev.startTicks, ev.endTicks, ev.quality);
      else if (ev.kind === "left") this.comms.strategy.left(ev.agentId);
      else this.view.change(ev);
    }
    if (csc) for (const msg of input.inbox) this.handle(msg);
    this.deliberative.answers(out);
    // A synchronized method taken out of the schedule unstarted (replaced by a swap, dropped by
    // a cancel) leaves its group: the other members would otherwise wait for it.
    if (csc)
      for (const id of [...s.syncOf.keys()])
        if (!s.schedule.has(id) && s.status.get(id)?.state === "idle")
          this.controller.withdraw(id, out);

    if (this.setup.mode === "initial") return this.controller.stepInitial();

    s.recompute();
    if (csc && this.downgrader.downgrade()) s.recompute();
    // An install given up unstarted gives back the place of what it displaced.
    if (csc && this.deliberative.restoreDropped()) s.recompute();
    if (csc) {
      const gaveWay = this.opportunistic.rechoose();
      for (const id of gaveWay) this.controller.withdraw(id, out);
      if (gaveWay.length > 0) s.recompute();
    }

    let abort: string | undefined;
    let start: string | undefined;
    if (s.running !== undefined && csc) {
      const id = s.running;
      if (this.mustAbort(id)) {
        abort = id;
        this.controller.abort(id);
      }
    }
    if (s.running === undefined) {
      start = this.controller.scheduledStart(out);
      if (start === undefined) {
        // A downgraded method (one that gave way, or was displaced) competes with the
        // unscheduled ones on its worth: it stays in the schedule because it may yet add
        // quality, and may add more than any of them.
        const best = this.opportunistic.bestOpportunity();
        const low = csc ? this.opportunistic.downgradedStart() : undefined;
        if (low !== undefined && (best === undefined || low.gain > best.gain)) start = low.id;
        else if (best) {
          start = best.id;
          this.opportunistic.insert(best.id);
        }
      }
      if (start !== undefined) this.controller.start(start);
    }
    if (csc) {
      if (start !== undefined || abort !== undefined) s.recompute();
      this.controller.enablerNotices(out);
      s.reports(out);
      this.deliberative.escalations(out);
      this.comms.summarize(out);
    }
    return {
      ...(abort !== undefined ? { abort } : {}),
      ...(start !== undefined ? { start } : {}),
      messages: out,
    };
  }

  /**
   * Whether the running method gives way: it can no longer bring anything, an install that must
   * start now is worth clearly more, its install was withdrawn, or (one the agent chose itself)
   * a clearly better opportunity cannot wait for it to end.
   */
  private mustAbort(id: string): boolean {
    const s = this.state;
    const entry = s.schedule.get(id);
    const value = s.runningValue(id);
    // The alternative must leave room for what is scheduled without counting on when its
    // enablers are expected: an abort cannot be undone.
    const alt = this.opportunistic.bestOpportunity(true);
    const opportunistic = !entry || entry.origin === "opportunistic";
    const a = this.view.activity(id);
    const scale = a ? qualityProfile(a.quality).v : 1;
    // An install that must start now, taken over this method when it was accepted, still
    // has to be worth more than what this one brings by now. Earlier installs stay.
    const install = entry?.origin !== "deliberative" ? this.controller.urgentInstall() : undefined;
    const urgent = install !== undefined && s.gain(install, s.startProfile(install)) > 1.2 * value;
    // An alternative is worth an abort only if it cannot wait until this method ends, and only
    // for what it is worth as things are planned: an abort cannot be undone, and a sibling under
    // a min that nobody has planned yet (counted at what it could still be made) may never run.
    const pressing = alt !== undefined && this.view.latestStart(alt.id) < s.tick + s.remaining(id);
    const clearly = (worth: number, kept = value) => worth > 1.2 * kept + 0.01 * scale;
    // The alternative's worth counts what it enables; so does this method's, when it is a child
    // of a max ahead of every sibling not done (`runningEnabling`): the owners of the siblings
    // behind it give those up for it, so given up, it may leave its targets nothing.
    const enablesMore = (worth: number) => clearly(worth, value + s.runningEnabling(id));
    // A method worth nothing by its quality still runs on where it is the first to make an
    // enables source accrue and the agent has nothing else to do until it ends: given up, it
    // earns nothing more and its targets wait for the work ahead of it.
    const worthless =
      value <= 1e-9 &&
      !(
        alt === undefined &&
        (this.controller.nextCommitment()?.earliest ?? Number.POSITIVE_INFINITY) >=
          s.tick + s.remaining(id) &&
        s.hastensEnabling(id)
      );
    return (
      worthless ||
      urgent ||
      this.deliberative.takeCancelled(id) ||
      (opportunistic &&
        alt !== undefined &&
        pressing &&
        enablesMore(alt.gain) &&
        clearly(s.gain(alt.id, s.startProfile(alt.id), "planned")))
    );
  }
}
