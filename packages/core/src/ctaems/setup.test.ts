import { describe, expect, it } from "vitest";
import { act, build, plan, task } from "../test-support/ctaems-networks.js";
import type { TickInput } from "./agent.js";
import { CtaemsWorld, runTrial, viewersOf } from "./engine.js";
import { participantsFor, setupsFor } from "./experiment.js";
import { buildSetups } from "./setup.js";

/**
 * A window [0, 40] under a max: agent "p" runs the planned method (13 ticks), agent "b" (the
 * least owner, so the steward) holds a 25-tick backup released at 1, whose last start is 15.
 */
const windowWithBackup = () => {
  const index = build([
    task("root", "sum", ["w"]),
    task("w", "sum", ["any"], { releaseTicks: 0, deadlineTicks: 40 }),
    task("any", "max", ["prim", "bk"]),
    act("prim", "p", 13, 1),
    act("bk", "b", 25, 1, { releaseTicks: 1 }),
  ]);
  return { index, initial: plan([["p", "prim", 0]]) };
};

describe("watchers of the deliberative scheduler", () => {
  it("a task is watched by an owner with planned work under it, else by its least owner", () => {
    const { index, initial } = windowWithBackup();
    const setups = buildSetups(index, initial, { mode: "csc", deliberative: "~d" });
    expect(Object.keys(setups.get("p")?.deliberative?.watch ?? {}).sort()).toEqual([
      "any",
      "root",
      "w",
    ]);
    expect(setups.get("b")?.deliberative?.watch).toEqual({});
    // Nothing planned: the least owner watches, as before.
    const none = buildSetups(index, plan([]), { mode: "csc", deliberative: "~d" });
    expect(Object.keys(none.get("b")?.deliberative?.watch ?? {}).sort()).toEqual([
      "any",
      "root",
      "w",
    ]);
    expect(none.get("p")?.deliberative?.watch).toEqual({});
  });

  it("the scheduler hears of a planned method's failure the tick its owner does, and repairs it", () => {
    const { index, initial } = windowWithBackup();
    const setups = setupsFor(index, initial, "consort");
    const escalations: { tick: number; from: string; node: string }[] = [];
    const agents = participantsFor(index, setups, initial).map((a) => ({
      id: a.id,
      step: (input: TickInput) => {
        const out = a.step(input);
        for (const m of out.messages)
          if (m.body.type === "escalate")
            escalations.push({ tick: input.tick, from: a.id, node: m.body.node });
        return out;
      },
    }));
    // "prim" ends at 13 with nothing: its owner escalates at once (through the steward, the
    // scheduler would hear of it a tick later, at the backup's last start).
    const world = new CtaemsWorld(index, 1, viewersOf(setups.values()), [
      { atTicks: 0, nodeId: "prim", failActivity: true, announced: false },
    ]);
    const r = runTrial(world, agents);
    expect(escalations[0]).toEqual({ tick: 13, from: "p", node: "any" });
    expect(r.executed.find((e) => e.activityId === "bk")?.startTicks).toBeLessThanOrEqual(15);
    expect(r.rootQuality).toBe(1);
  });
});
