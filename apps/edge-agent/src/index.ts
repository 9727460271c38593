/**
 * Scheduler agent process: one per machine or rover.
 *
 * This workspace is laid out by the foundation; its implementation arrives with the
 * distributed planning issue (MQTT broker, agents and coordinator).
 */
export {};
