/**
 * The parts of VDA 5050 (v2.0) messages the adapter and the emulated vehicle use. Topics are
 * `{interfaceName}/{majorVersion}/{manufacturer}/{serialNumber}/{topic}`.
 */

export type BlockingType = "NONE" | "SOFT" | "HARD";
export type ActionStatus =
  | "WAITING"
  | "INITIALIZING"
  | "RUNNING"
  | "PAUSED"
  | "FINISHED"
  | "FAILED";

export interface Header {
  readonly headerId: number;
  readonly timestamp: string;
  readonly version: string;
  readonly manufacturer: string;
  readonly serialNumber: string;
}

export interface Action {
  readonly actionType: string;
  readonly actionId: string;
  readonly blockingType: BlockingType;
  readonly actionParameters?: readonly { readonly key: string; readonly value: unknown }[];
}

export interface OrderNode {
  readonly nodeId: string;
  readonly sequenceId: number;
  readonly released: boolean;
  readonly nodePosition?: {
    readonly x: number;
    readonly y: number;
    readonly theta?: number;
    readonly mapId: string;
  };
  readonly actions: readonly Action[];
}

export interface OrderEdge {
  readonly edgeId: string;
  readonly sequenceId: number;
  readonly released: boolean;
  readonly startNodeId: string;
  readonly endNodeId: string;
  readonly actions: readonly Action[];
}

export interface Order extends Header {
  readonly orderId: string;
  readonly orderUpdateId: number;
  readonly nodes: readonly OrderNode[];
  readonly edges: readonly OrderEdge[];
}

export interface InstantActions extends Header {
  readonly actions: readonly Action[];
}

export interface ActionState {
  readonly actionId: string;
  readonly actionType?: string;
  readonly actionStatus: ActionStatus;
  readonly resultDescription?: string;
}

export interface VehicleError {
  readonly errorType: string;
  readonly errorLevel: "WARNING" | "FATAL";
  readonly errorDescription?: string;
  readonly errorReferences?: readonly {
    readonly referenceKey: string;
    readonly referenceValue: string;
  }[];
}

export interface State extends Header {
  readonly orderId: string;
  readonly orderUpdateId: number;
  readonly lastNodeId: string;
  readonly lastNodeSequenceId: number;
  readonly nodeStates: readonly {
    readonly nodeId: string;
    readonly sequenceId: number;
    readonly released: boolean;
  }[];
  readonly edgeStates: readonly {
    readonly edgeId: string;
    readonly sequenceId: number;
    readonly released: boolean;
  }[];
  readonly driving: boolean;
  readonly operatingMode: string;
  readonly actionStates: readonly ActionState[];
  readonly errors: readonly VehicleError[];
  readonly information?: readonly unknown[];
  readonly batteryState?: { readonly batteryCharge: number; readonly charging: boolean };
  readonly safetyState?: { readonly eStop: string; readonly fieldViolation: boolean };
}

export interface Connection {
  readonly headerId: number;
  readonly timestamp: string;
  readonly version: string;
  readonly manufacturer: string;
  readonly serialNumber: string;
  readonly connectionState: "ONLINE" | "OFFLINE" | "CONNECTIONBROKEN";
}

export function vdaTopic(
  v: { interfaceName: string; majorVersion: string; manufacturer: string; serialNumber: string },
  topic: "order" | "instantActions" | "state" | "connection",
): string {
  return `${v.interfaceName}/${v.majorVersion}/${v.manufacturer}/${v.serialNumber}/${topic}`;
}

/** The activity an order runs: its `activityId` action parameter, else its order id's stem. */
export function activityOfOrder(order: Order): string {
  for (const n of order.nodes)
    for (const a of n.actions)
      for (const p of a.actionParameters ?? []) if (p.key === "activityId") return String(p.value);
  return order.orderId.replace(/#\d+$/, "");
}
