/**
 * Environment adapters for real devices and the hardware-in-the-loop rig.
 *
 * This workspace is laid out by the foundation; its implementation arrives with the
 * distributed planning issue (MQTT broker, agents and coordinator).
 */
export {};
