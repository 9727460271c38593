import { NOTHING, qualityProfile } from "../profiles.js";
import type { StateManager } from "./state-manager.js";
import { PRIORITY } from "./types.js";
import type { LocalView } from "./view.js";

/**
 * Downgrader (CSC §3.2.3): scheduled methods that can no longer help the root (their potential
 * importance is nil) drop to low priority. They stay in the schedule: they may yet add quality
 * when nothing else is to run.
 */
export class Downgrader {
  private readonly view: LocalView;
  private readonly state: StateManager;

  constructor(view: LocalView, state: StateManager) {
    this.view = view;
    this.state = state;
  }

  /** Downgrades what can no longer help; whether anything was. */
  downgrade(): boolean {
    const s = this.state;
    let any = false;
    for (const [id, e] of s.schedule) {
      if (e.priority <= PRIORITY.low || s.status.get(id)?.state !== "idle") continue;
      const a = this.view.activity(id);
      if (!a) continue;
      const pot = s.profiles.get(id)?.pot ?? NOTHING;
      const best = { p: pot.p > 0 ? 1 : 0, v: qualityProfile(a.quality).v };
      if (pot.p <= 0 || this.syncMissed(id) || s.gain(id, best, "downgrade") <= 1e-9) {
        e.priority = PRIORITY.low;
        any = true;
      }
    }
    return any;
  }

  /**
   * Whether method `id` is a child of a syncsum another child of which has already started at an
   * earlier tick: a syncsum counts only the children that start with its first, so whenever this
   * one starts now, it earns nothing (profiles do not see it: they combine a syncsum as a sum).
   */
  syncMissed(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "syncsum") return false;
    for (const [cid, k] of this.state.childProfiles(parent))
      if (cid !== id && k.s !== undefined && k.s < this.state.tick) return true;
    return false;
  }
}
