import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal } from "./journal.js";

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
});
