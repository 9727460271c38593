/**
 * Topics, message envelope and bodies, schemas, msgpackr codec, validation.
 *
 * This workspace is laid out by the foundation; its implementation arrives with the
 * distributed planning issue (MQTT broker, agents and coordinator).
 */
export {};
