import { type Static, Type } from "@sinclair/typebox";
import { checkSettings, type SettingsResult } from "../check-settings.js";

const Name = Type.String({ minLength: 1, maxLength: 128, pattern: "^[^/+#]+$" });
const Param = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

const RouteNode = Type.Object(
  {
    nodeId: Name,
    x: Type.Optional(Type.Number()),
    y: Type.Optional(Type.Number()),
    theta: Type.Optional(Type.Number()),
    actions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            actionType: Type.String({ minLength: 1 }),
            blockingType: Type.Optional(
              Type.Union([Type.Literal("NONE"), Type.Literal("SOFT"), Type.Literal("HARD")]),
            ),
            parameters: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Param)),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

/**
 * An AGV or rover speaking VDA 5050 over MQTT. Each activity is one order: the route `routes`
 * gives it (edges join consecutive nodes), or else one node named after the activity with one
 * action of type `activityActionType` carrying the activity id. It completes when the vehicle's
 * state shows every node traversed and every action of the order finished; a failed action or a
 * FATAL error fails it. Abort: the instant action `cancelOrder`.
 */
export const Vda5050SettingsSchema = Type.Object(
  {
    kind: Type.Literal("vda5050"),
    broker: Type.String({ pattern: "^(mqtt|mqtts|ws|wss|tcp)://" }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    interfaceName: Type.String({ ...Name, default: "uagv" }),
    majorVersion: Type.String({ pattern: "^v\\d+$", default: "v2" }),
    version: Type.String({ minLength: 1, default: "2.0.0" }),
    manufacturer: Name,
    serialNumber: Name,
    mapId: Type.String({ minLength: 1, default: "default" }),
    /** The vehicle must show the order in its state within this, or the run fails. */
    acceptTimeoutMs: Type.Integer({ minimum: 10, default: 5000 }),
    /** A run with no state from the vehicle for this long fails (VDA 5050: at least every 30 s). */
    stateTimeoutMs: Type.Integer({ minimum: 10, default: 60000 }),
    runTimeoutMs: Type.Integer({ minimum: 1, default: 3600000 }),
    activityActionType: Type.String({ minLength: 1, default: "consort:activity" }),
    routes: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Object(
        { nodes: Type.Array(RouteNode, { minItems: 1 }) },
        { additionalProperties: false },
      ),
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Vda5050Settings = Static<typeof Vda5050SettingsSchema>;

export function parseVda5050Settings(
  input: unknown,
  where?: string,
): SettingsResult<Vda5050Settings> {
  return checkSettings(Vda5050SettingsSchema, input, where);
}
