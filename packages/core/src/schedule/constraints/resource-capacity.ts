import type { PlannedActivity } from "../plan.js";
import type { Violation } from "./violation.js";

/**
 * A resource does one activity at a time (DESIGN.md "One task model"), and runs its sequence in
 * the order listed. Rationale: a machine or rover cannot be in two places; the agent executes
 * its sequence in order, so the order must agree with the times.
 */
export function capacityViolations(plan: readonly PlannedActivity[]): Violation[] {
  const out: Violation[] = [];
  const byResource = new Map<string, PlannedActivity[]>();
  for (const p of plan) {
    if (p.startTicks === undefined || !p.activity) continue;
    const list = byResource.get(p.resourceId) ?? [];
    list.push(p);
    byResource.set(p.resourceId, list);
  }
  for (const [resourceId, list] of byResource) {
    // Listed order must not put a later start before an earlier one.
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (b.startTicks! < a.startTicks!) {
        out.push({
          kind: "sequence",
          resourceId,
          activityIds: [a.activityId, b.activityId],
          reason: `${resourceId} lists ${a.activityId} (start ${a.startTicks}) before ${b.activityId} (start ${b.startTicks})`,
        });
      }
    }
    // Sweep in start order: every pair that overlaps is reported once.
    const sorted = [...list].sort(
      (a, b) => a.startTicks! - b.startTicks! || a.position - b.position,
    );
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!;
      for (let j = i + 1; j < sorted.length; j++) {
        const b = sorted[j]!;
        if (b.startTicks! >= a.endTicks!) break;
        const overlap = Math.min(a.endTicks!, b.endTicks!) - b.startTicks!;
        if (overlap <= 0) {
          // A zero-length activity is an instant: it fits before or after another, not inside it
          // (the disjunctive job shop, whose published optima count it so; CAMPS's timeline too).
          if (b.startTicks! > a.startTicks! && b.endTicks === b.startTicks)
            out.push({
              kind: "capacity",
              resourceId,
              activityIds: [a.activityId, b.activityId],
              overlapTicks: 0,
              reason: `${b.activityId} (length 0 at ${b.startTicks}) lies inside ${a.activityId} [${a.startTicks}, ${a.endTicks}) on ${resourceId}`,
            });
          continue;
        }
        out.push({
          kind: "capacity",
          resourceId,
          activityIds: [a.activityId, b.activityId],
          overlapTicks: overlap,
          reason: `${a.activityId} [${a.startTicks}, ${a.endTicks}) and ${b.activityId} [${b.startTicks}, ${b.endTicks}) overlap by ${overlap} on ${resourceId}`,
        });
      }
    }
  }
  return out;
}
