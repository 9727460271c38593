import type { EnvironmentEvent } from "@consort/core/agent";
import type { DeviceEnvironment } from "../adapters/device-environment.js";

/** Records an adapter's events and waits for one that matches. */
export function record(env: DeviceEnvironment) {
  const events: EnvironmentEvent[] = [];
  const waiters: {
    match: (e: EnvironmentEvent) => boolean;
    resolve: (e: EnvironmentEvent) => void;
  }[] = [];
  env.subscribe((event) => {
    events.push(event);
    for (const w of [...waiters])
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
  });
  return {
    events,
    /** The first event (past or future) of `kind` for `activityId`. */
    next(
      kind: EnvironmentEvent["kind"],
      activityId: string,
      timeoutMs = 10_000,
    ): Promise<EnvironmentEvent> {
      const match = (e: EnvironmentEvent) =>
        e.kind === kind && "activityId" in e && e.activityId === activityId;
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no ${kind} for ${activityId} within ${timeoutMs} ms; got ${JSON.stringify(events)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    /** Ends of `activityId`'s runs (completed or failed), in order. */
    ends(activityId: string): EnvironmentEvent[] {
      return events.filter(
        (e) => (e.kind === "completed" || e.kind === "failed") && e.activityId === activityId,
      );
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (checked every 20 ms), or gives up after `ms`: the caller's expect then fails. */
export async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !condition() && waited < ms; waited += 20) await sleep(20);
}
