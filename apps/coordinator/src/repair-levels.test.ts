import { describe, expect, it } from "vitest";
import { type CoordinatorRecord, repairsByLevel } from "./coordinator.js";

describe("where run-time repairs were settled", () => {
  it("counts the agents' own repairs as local and each escalated repair at its level", () => {
    const none = { moved: 0, resequenced: 0, reassigned: 0 };
    const record: CoordinatorRecord = {
      executed: new Map(),
      repairs: [],
      escalations: [],
      localRepairs: [
        { atTicks: 3, agentId: "m1" },
        { atTicks: 9, agentId: "m2" },
      ],
      offline: [],
      orders: [],
      refusedOrders: [],
      runtimeRepairs: [
        { atTicks: 4, trigger: "breakdown on m1", level: "negotiated", churn: none },
        { atTicks: 5, trigger: "rush order r", level: "contractNet", churn: none },
        { atTicks: 6, trigger: "breakdown on m2", level: "central", churn: none },
        { atTicks: 7, trigger: "overrun on m2", level: "negotiated", churn: none },
      ],
      awards: [],
    };
    expect(repairsByLevel(record)).toEqual({
      local: 2,
      negotiated: 2,
      contractNet: 1,
      problemAdjustment: 0,
      central: 1,
    });
  });
});
