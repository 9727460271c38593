import { type Static, Type } from "@sinclair/typebox";
import { checkSettings, type SettingsResult } from "../check-settings.js";

/** An OPC UA node id in its string form: `ns=2;s=Press.Running`, `ns=3;i=1001`. */
const NodeId = Type.String({ minLength: 3, pattern: "^(ns=\\d+;)?[isgb]=.+$" });

/** How a command reaches the device: a method call, or a value written to a variable. */
const Command = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("method"),
      objectId: NodeId,
      methodId: NodeId,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("write"),
      nodeId: NodeId,
    },
    { additionalProperties: false },
  ),
]);

/**
 * A machine behind OPC UA. Start: `command` (a method called with the activity id as its one
 * String argument, or the activity id written to a String variable); abort: `abort` (a method
 * called without arguments, or `true` written to a Boolean variable). The state is read from a
 * subscription to `nodes`: `done` true ends the run with `quality` (/ `qualityScale`), a
 * non-zero `fault` fails it. With `activity`, a `done` counts only for the activity it names.
 */
export const OpcuaSettingsSchema = Type.Object(
  {
    kind: Type.Literal("opcua"),
    endpoint: Type.String({ pattern: "^opc\\.tcp://" }),
    securityMode: Type.Union(
      [Type.Literal("None"), Type.Literal("Sign"), Type.Literal("SignAndEncrypt")],
      {
        default: "None",
      },
    ),
    securityPolicy: Type.Union(
      [
        Type.Literal("None"),
        Type.Literal("Basic256Sha256"),
        Type.Literal("Aes128_Sha256_RsaOaep"),
        Type.Literal("Aes256_Sha256_RsaPss"),
      ],
      { default: "None" },
    ),
    /** User name and password; absent: anonymous. */
    user: Type.Optional(
      Type.Object(
        { userName: Type.String({ minLength: 1 }), password: Type.String({ minLength: 1 }) },
        { additionalProperties: false },
      ),
    ),
    /** The client's certificate store (own certificate, trusted servers). */
    pkiDir: Type.String({ minLength: 1, default: "./pki" }),
    /** Trust a server certificate not yet in `pkiDir/trusted` (commissioning, test rigs). */
    trustServerCertificate: Type.Boolean({ default: false }),
    command: Command,
    abort: Command,
    nodes: Type.Object(
      {
        running: NodeId,
        done: NodeId,
        fault: NodeId,
        quality: Type.Optional(NodeId),
        activity: Type.Optional(NodeId),
      },
      { additionalProperties: false },
    ),
    qualityScale: Type.Number({ exclusiveMinimum: 0, default: 1 }),
    publishingIntervalMs: Type.Integer({ minimum: 10, maximum: 60000, default: 250 }),
    samplingIntervalMs: Type.Integer({ minimum: 0, maximum: 60000, default: 100 }),
    requestTimeoutMs: Type.Integer({ minimum: 50, maximum: 600000, default: 5000 }),
    /** `open` gives up waiting after this (and keeps trying in the background). */
    connectTimeoutMs: Type.Integer({ minimum: 50, default: 10000 }),
    runTimeoutMs: Type.Integer({ minimum: 1, default: 3600000 }),
    reconnect: Type.Object(
      {
        initialMs: Type.Integer({ minimum: 10, default: 500 }),
        maxMs: Type.Integer({ minimum: 10, default: 30000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type OpcuaSettings = Static<typeof OpcuaSettingsSchema>;

export function parseOpcuaSettings(
  input: unknown,
  where = "environment",
): SettingsResult<OpcuaSettings> {
  const r = checkSettings(OpcuaSettingsSchema, input, where);
  if (!r.ok) return r;
  const { securityMode, securityPolicy } = r.value;
  // A signed or encrypted channel needs a policy that says how.
  if ((securityMode === "None") !== (securityPolicy === "None"))
    return {
      ok: false,
      error: `${where}: securityPolicy: ${securityPolicy} does not go with securityMode ${securityMode} (None goes only with None)`,
    };
  return r;
}
