/**
 * Manager and planner roles and the deliberative repair step.
 *
 * This workspace is laid out by the foundation; its implementation arrives with the
 * distributed planning issue (MQTT broker, agents and coordinator).
 */
export {};
