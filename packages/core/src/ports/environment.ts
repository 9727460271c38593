import type { TaskModel, Ticks } from "../model/types.js";

/** What happens to activities and resources, reported by the Environment port. */
export type EnvironmentEvent =
  | {
      readonly kind: "started";
      readonly activityId: string;
      readonly resourceId: string;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "completed";
      readonly activityId: string;
      readonly resourceId: string;
      readonly atTicks: Ticks;
      readonly quality: number;
    }
  | {
      readonly kind: "failed";
      readonly activityId: string;
      readonly resourceId: string;
      readonly atTicks: Ticks;
      readonly reason: string;
    }
  /** A resource cannot work over [fromTicks, untilTicks): a breakdown or planned maintenance. */
  | {
      readonly kind: "unavailable";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
      readonly reason: string;
    }
  /** The model changed: a rush order, a moved window, a new distribution (announced or not). */
  | { readonly kind: "changed"; readonly atTicks: Ticks; readonly delta: ModelDelta };

/** A change to the model, as the environment announces it. */
export interface ModelDelta {
  /** New nodes (e.g. the jobs of a rush order) and the task they join. */
  readonly addNodes?: TaskModel["nodes"];
  readonly addLinks?: TaskModel["links"];
  readonly attachTo?: string;
  /** Node fields that change (windows, due dates, distributions). */
  readonly update?: readonly {
    readonly id: string;
    readonly releaseTicks?: Ticks;
    readonly deadlineTicks?: Ticks;
  }[];
}

/**
 * The Environment port (DESIGN.md "Ports"): how an agent acts on its resource and hears what
 * happened. Implementations: the simulator, and the hardware adapters.
 */
export interface Environment {
  start(activityId: string): void;
  abort(activityId: string): void;
  subscribe(listener: (event: EnvironmentEvent) => void): () => void;
}
