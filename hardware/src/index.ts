/**
 * Environment adapters for real devices (Modbus TCP, OPC UA, VDA 5050 over MQTT, a serial line,
 * GPIO lines) and the hardware-in-the-loop rig's emulated devices. This entry point holds the
 * settings schemas and `createEnvironment`, which loads only the configured adapter; each adapter
 * and each emulated device also has its own subpath (`@consort/hardware/adapters/opcua`,
 * `@consort/hardware/rig/opcua`).
 */
export * from "./adapters/index.js";
