export {
  clockTimers,
  type DeviceFault,
  type DeviceOutcome,
  type DeviceTimers,
  EmulatedMachine,
  type FaultPlan,
  type MachineOptions,
  type OutcomeFunction,
  sampledOutcomes,
  wallTimers,
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
