export {
  type DeviceFault,
  type DeviceOutcome,
  EmulatedMachine,
  type FaultPlan,
  type MachineOptions,
  type OutcomeFunction,
  sampledOutcomes,
} from "./machine.js";
export {
  type Rig,
  type RigDevice,
  type RigFault,
  type RigKind,
  type RigOptions,
  startRig,
} from "./rig.js";
export { TcpRelay } from "./tcp-relay.js";
