import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal, type JournalRecord } from "./journal.js";

const fresh = () => join(mkdtempSync(join(tmpdir(), "consort-journal-")), "agent.journal");

describe("Journal", () => {
  it("replays what was appended, in order, after a reopen", () => {
    const path = fresh();
    const j = Journal.open(path);
    j.append({ t: "epoch", epoch: 1 });
    j.append({ t: "start", activityId: "j0.o0", atTicks: 3, durationTicks: 4 });
    j.close();
    const again = Journal.open(path);
    expect(again.records).toEqual([
      { t: "epoch", epoch: 1 },
      { t: "start", activityId: "j0.o0", atTicks: 3, durationTicks: 4 },
    ]);
    again.close();
  });
  it("ignores a torn last line (a crash mid-write) and keeps appending after it", () => {
    const path = fresh();
    const j = Journal.open(path);
    j.append({ t: "epoch", epoch: 1 });
    j.close();
    appendFileSync(path, '{"t":"start","activ');
    const again = Journal.open(path);
    expect(again.records).toEqual([{ t: "epoch", epoch: 1 }]);
    again.append({ t: "epoch", epoch: 2 });
    again.close();
    expect(Journal.open(path).records).toEqual([
      { t: "epoch", epoch: 1 },
      { t: "epoch", epoch: 2 },
    ]);
    expect(readFileSync(path, "utf8")).not.toContain("activ");
  });
  it("refuses a journal damaged in the middle, naming the line", () => {
    const path = fresh();
    appendFileSync(path, '{"t":"epoch","epoch":1}\nGARBAGE\n{"t":"epoch","epoch":2}\n');
    expect(() => Journal.open(path)).toThrow(/agent\.journal:2: not a JSON record/);
  });
  it("is replaced whole by a rewrite, and appends go on after it", () => {
    const path = fresh();
    const j = Journal.open(path);
    j.append({ t: "epoch", epoch: 1 });
    j.append({ t: "acked", seq: 3 });
    j.rewrite([{ t: "seq", next: 9 }]);
    j.append({ t: "epoch", epoch: 2 });
    j.close();
    expect(Journal.open(path).records).toEqual([
      { t: "seq", next: 9 },
      { t: "epoch", epoch: 2 },
    ]);
  });

  it("compacts itself past its limits, in a later turn, into what the owner's snapshot says", async () => {
    const path = fresh();
    const j = Journal.open(path, { sync: false, compaction: { records: 4, bytes: 1 << 20 } });
    // The owner's state: the highest epoch appended so far.
    let highest = 0;
    j.compactWith(() => [{ t: "epoch", epoch: highest }]);
    for (let e = 1; e <= 3; e++) {
      j.append({ t: "epoch", epoch: e });
      highest = e;
    }
    await new Promise((r) => setImmediate(r));
    expect(j.compactions).toBe(0);
    j.append({ t: "epoch", epoch: 4 });
    // Not in the middle of the owner's handling: the state is updated after the append.
    expect(j.compactions).toBe(0);
    highest = 4;
    await new Promise((r) => setImmediate(r));
    expect(j.compactions).toBe(1);
    j.append({ t: "acked", seq: 7 });
    j.close();
    expect(Journal.open(path).records).toEqual([
      { t: "epoch", epoch: 4 },
      { t: "acked", seq: 7 },
    ]);
  });
  it("compacts by size too, and counts only what came after the last compaction", async () => {
    const path = fresh();
    const j = Journal.open(path, { sync: false, compaction: { records: 1000, bytes: 200 } });
    const big: JournalRecord = { t: "fail", activityId: "x".repeat(150), atTicks: 1, reason: "r" };
    j.compactWith(() => [big, big]); // a snapshot larger than the limit
    j.append(big);
    j.append({ t: "acked", seq: 1 });
    await new Promise((r) => setImmediate(r));
    expect(j.compactions).toBe(1);
    j.append({ t: "acked", seq: 2 });
    await new Promise((r) => setImmediate(r));
    expect(j.compactions).toBe(1);
    j.close();
  });
  it("loses nothing when a compaction crashed before its rename (its temp file left behind)", () => {
    const path = fresh();
    const j = Journal.open(path);
    j.append({ t: "epoch", epoch: 1 });
    j.append({ t: "start", activityId: "a", atTicks: 2, durationTicks: 3 });
    j.close();
    const before = readFileSync(path, "utf8");
    // The crash: the new file half written, never renamed over the journal.
    writeFileSync(`${path}.next`, '{"t":"snapshot","epoch":1,"coordinat');
    const again = Journal.open(path);
    expect(again.records).toEqual([
      { t: "epoch", epoch: 1 },
      { t: "start", activityId: "a", atTicks: 2, durationTicks: 3 },
    ]);
    expect(readFileSync(path, "utf8")).toBe(before);
    // The next compaction writes over the leftover and goes through.
    again.rewrite([{ t: "epoch", epoch: 1 }]);
    again.close();
    expect(existsSync(`${path}.next`)).toBe(false);
    expect(Journal.open(path).records).toEqual([{ t: "epoch", epoch: 1 }]);
  });
});
