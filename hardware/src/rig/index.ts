export {
  type DeviceFault,
  type DeviceOutcome,
  EmulatedMachine,
  type FaultPlan,
  type MachineOptions,
  type OutcomeFunction,
  sampledOutcomes,
} from "./machine.js";
export { TcpRelay } from "./tcp-relay.js";
