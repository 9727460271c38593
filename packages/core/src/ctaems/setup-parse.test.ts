import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import { setupsFor } from "./experiment.js";
import { generateBackupProblem } from "./generators/backup.js";
import { parseAgentSetup } from "./setup-parse.js";

const scenario = generateBackupProblem({ windows: 3, seed: 4, problems: 6, backupAgents: 3 });
const indexed = indexModel(scenario.model);
if (!indexed.ok) throw new Error("bad model");
const setups = setupsFor(indexed.value, scenario.initial, "consort");
const [agentId, setup] = [...setups].find(([, s]) => s.initial.length > 0)!;
/** A setup as it arrives: a plain copy, as from MessagePack or JSON. */
const wire = (): Record<string, unknown> => JSON.parse(JSON.stringify(setup));

describe("parseAgentSetup", () => {
  it("accepts every setup the coordinator builds, unchanged", () => {
    for (const strategy of ["initial", "bos", "consort"] as const)
      for (const s of setupsFor(indexed.value, scenario.initial, strategy).values()) {
        const parsed = parseAgentSetup(JSON.parse(JSON.stringify(s)), "setup");
        expect(parsed).toEqual({ ok: true, value: s });
      }
  });

  it("lets fields it does not know through (a newer coordinator may add some)", () => {
    const parsed = parseAgentSetup({ ...wire(), futureField: 1 }, "setup");
    expect(parsed.ok).toBe(true);
  });

  it("names the path of a missing or mistyped field", () => {
    const noView = wire();
    delete noView.view;
    expect(parseAgentSetup(noView, "csc-setup trial 2")).toEqual({
      ok: false,
      error: 'csc-setup trial 2: missing required field "view"',
    });
    const badMode = { ...wire(), mode: "fast" };
    expect(parseAgentSetup(badMode, "s")).toMatchObject({ ok: false });
    expect((parseAgentSetup(badMode, "s") as { error: string }).error).toMatch(
      /^s: mode: must be one of "initial", "bos", "csc", found "fast"$/,
    );
    const badTick = wire();
    (badTick.initial as { startTicks: unknown }[])[0]!.startTicks = 1.5;
    expect(parseAgentSetup(badTick, "s")).toEqual({
      ok: false,
      error: "s: initial[0].startTicks: must be an integer, found 1.5",
    });
    const badNode = wire();
    const nodes = (badNode.view as { nodes: Record<string, unknown>[] }).nodes;
    const i = nodes.findIndex((n) => n.kind === "activity");
    nodes[i]!.duration = [];
    expect((parseAgentSetup(badNode, "s") as { error: string }).error).toMatch(
      new RegExp(`^s: view\\.nodes\\[${i}\\]`),
    );
  });

  it("refuses what is not an object", () => {
    expect(parseAgentSetup(null, "s")).toEqual({
      ok: false,
      error: "s: expected a setup object, found null",
    });
    expect(parseAgentSetup([], "s")).toEqual({
      ok: false,
      error: "s: expected a setup object, found a list",
    });
  });

  it("refuses a setup whose parts disagree", () => {
    const other = wire();
    (other.view as { agentId: string }).agentId = "someone-else";
    expect(parseAgentSetup(other, "s")).toEqual({
      ok: false,
      error: `s: view.agentId: is "someone-else", expected the setup's agent "${agentId}"`,
    });
    const stranger = wire();
    (stranger.initial as { activityId: string }[])[0]!.activityId = "nowhere";
    expect(parseAgentSetup(stranger, "s")).toEqual({
      ok: false,
      error: `s: initial[0].activityId: "nowhere" is not one of the agent's own activities`,
    });
    const notOwn = wire();
    (notOwn.view as { own: string[] }).own.push("ghost");
    expect((parseAgentSetup(notOwn, "s") as { error: string }).error).toMatch(
      /^s: view\.own\[\d+\]: "ghost" is not an activity of the view$/,
    );
  });
});
