import { describe, expect, it } from "vitest";
import { act, build, task } from "../test-support/ctaems-networks.js";
import { probabilityDrops, type TreeState, taskTreeView } from "./tree-view.js";

// A scout enables a drill; the drill has a primary and a backup under a max; an image adds.
const rovers = () =>
  build(
    [
      task("root", "sum", ["scout", "drill", "image"]),
      task("scout", "max", ["s1"]),
      task("drill", "max", ["d1", "d2"]),
      act("s1", "r1", 4, [
        { value: 10, probability: 0.5 },
        { value: 0, probability: 0.5 },
      ]),
      act("d1", "r2", 5, 20, { deadlineTicks: 30 }),
      act("d2", "r3", 5, 12, { deadlineTicks: 30 }),
      act(
        "image",
        "r4",
        [
          { value: 5, probability: 0.5 },
          { value: 10, probability: 0.5 },
        ],
        8,
        { deadlineTicks: 20 },
      ),
    ],
    [{ kind: "enables", from: "scout", to: "drill" }],
  );

const at = (tick: number, more: Partial<TreeState> = {}): TreeState => ({
  tick,
  executed: [],
  running: [],
  planned: new Map([
    ["s1", 0],
    ["d1", 5],
    ["image", 0],
  ]),
  ...more,
});

const node = (view: ReturnType<typeof taskTreeView>, id: string) =>
  view.nodes.find((n) => n.id === id)!;

describe("the task tree as the coordinator sees it", () => {
  it("lists every node parents first, with probabilities from the plan and the enablers", () => {
    const v = taskTreeView(rovers(), at(0));
    expect(v.nodes.map((n) => n.id)).toEqual(["root", "scout", "s1", "drill", "d1", "d2", "image"]);
    expect(node(v, "s1").p).toBeCloseTo(0.5);
    // The drill needs the scout: its planned primary is only as likely as the scouting.
    expect(node(v, "d1").p).toBeCloseTo(0.5);
    // Nobody plans the backup: it earns nothing as things stand.
    expect(node(v, "d2")).toMatchObject({ p: 0, status: "unplanned" });
    expect(node(v, "image").p).toBeCloseTo(1);
    expect(node(v, "root").status).toBe("open");
    // 0.5 * 10 + 0.5 * 20 + 8
    expect(v.expectedRootQuality).toBeCloseTo(23);
    expect(v.rootQuality).toBe(0);
  });

  it("ranks the scout above the drill: the drill's quality hangs on it", () => {
    const v = taskTreeView(rovers(), at(0));
    // Scout succeeds: 10 + 20 + 8 = 38; fails: 8. The drill succeeding (enabled, then): 20.
    expect(node(v, "scout").criticality).toBeCloseTo(30);
    expect(node(v, "drill").criticality).toBeCloseTo(20);
    expect(node(v, "scout").criticality).toBeGreaterThan(node(v, "drill").criticality ?? 0);
    // The root: its whole expected quality (it earns about 23 when it earns anything).
    expect(node(v, "root").criticality).toBeCloseTo(node(v, "root").v);
    expect(node(v, "root").criticality).toBeGreaterThan(20);
    // An unplanned method is still worth something if it were run: the drill's backup under
    // the max (its failure costs nothing now, its success would give the max 12 at the scout's odds).
    expect(node(v, "d2").criticality).toBeGreaterThan(0);
  });

  it("gives a running method its odds given how long it has run, and a late one none", () => {
    const index = rovers();
    const running = taskTreeView(
      index,
      at(12, { running: [{ activityId: "image", startTicks: 8 }] }),
    );
    // Started at 8, 4 ticks in: 5 or 10 ticks, both end by 20.
    expect(node(running, "image")).toMatchObject({ status: "running", p: 1 });
    const late = taskTreeView(
      index,
      at(14, { running: [{ activityId: "image", startTicks: 14 }] }),
    );
    // From 14, only the 5-tick outcome ends by 20.
    expect(node(late, "image").p).toBeCloseTo(0.5);
    const tooLate = taskTreeView(index, at(17, { planned: new Map([["image", 0]]) }));
    expect(node(tooLate, "image").p).toBe(0);
  });

  it("counts the root quality so far from what ran, and a failure's fall reaches the root", () => {
    const index = rovers();
    const before = taskTreeView(index, at(3, { running: [{ activityId: "s1", startTicks: 0 }] }));
    const failed = taskTreeView(
      index,
      at(4, { executed: [{ activityId: "s1", startTicks: 0, endTicks: 4, quality: 0 }] }),
    );
    expect(node(failed, "s1").status).toBe("failed");
    expect(node(failed, "scout").status).toBe("failed");
    expect(node(failed, "d1").p).toBe(0);
    expect(failed.rootQuality).toBe(0);
    const drops = probabilityDrops(before, failed);
    // The root is a sum the image still earns for: its odds of earning something hold.
    expect(drops.map((d) => d.nodeId)).toEqual(["scout", "s1", "drill", "d1"]);
    expect(drops.find((d) => d.nodeId === "s1")).toMatchObject({
      from: 0.5,
      to: 0,
      status: "failed",
    });

    const scouted = taskTreeView(
      index,
      at(10, {
        executed: [
          { activityId: "s1", startTicks: 0, endTicks: 4, quality: 10 },
          { activityId: "d1", startTicks: 5, endTicks: 10, quality: 20 },
        ],
      }),
    );
    expect(scouted.rootQuality).toBe(30);
    expect(node(scouted, "drill")).toMatchObject({
      status: "succeeded",
      p: 1,
      quality: 20,
      criticality: 0,
    });
    // The image is still open, and on it alone the rest of the root's quality hangs.
    expect(node(scouted, "image").criticality).toBeCloseTo(8);
    expect(probabilityDrops(before, scouted)).toEqual([]);
  });

  it("leaves the criticalities out when not asked for, the probabilities the same", () => {
    const full = taskTreeView(rovers(), at(0));
    const cheap = taskTreeView(rovers(), at(0), { criticality: false });
    expect(cheap.nodes.map((n) => n.p)).toEqual(full.nodes.map((n) => n.p));
    expect(cheap.nodes.every((n) => n.criticality === undefined)).toBe(true);
    expect(cheap.expectedRootQuality).toBe(full.expectedRootQuality);
  });

  it("leaves small wobbles out of the drops", () => {
    const index = rovers();
    const a = taskTreeView(index, at(10, { running: [{ activityId: "image", startTicks: 10 }] }));
    const b = taskTreeView(index, at(14, { running: [{ activityId: "image", startTicks: 14 }] }));
    // image: 1 → 0.5 between the two (a later start)
    expect(probabilityDrops(a, b, 0.6)).toEqual([]);
    expect(probabilityDrops(a, b, 0.5).map((d) => d.nodeId)).toContain("image");
  });
});
