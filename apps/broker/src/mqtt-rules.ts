/**
 * MQTT 3.1.1 MUST rules that stock aedes (and mqtt-packet under it) does not check, enforced from
 * aedes' hooks on the parsed packet. mqtt-packet decodes strings with Buffer#toString, which
 * turns ill-formed UTF-8 into U+FFFD, so a U+FFFD is taken as ill-formed input: a well-formed one
 * cannot be told apart, and no Consort id or topic contains one.
 */

/** Why a string field breaks §1.5.3, or undefined when it is fine. */
export function utf8Violation(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.includes("\u0000")) return `${field} contains U+0000 (MQTT-1.5.3-2)`;
  if (value.includes("\uFFFD")) return `${field} is not well-formed UTF-8 (MQTT-1.5.3-1)`;
  return undefined;
}

export interface ConnectFields {
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly will?: { readonly topic: string; readonly qos?: number | undefined } | undefined;
}

/** A CONNECT the server must refuse by closing the connection, or undefined. */
export function connectViolation(packet: ConnectFields): string | undefined {
  return (
    utf8Violation("client id", packet.clientId) ??
    utf8Violation("username", packet.username) ??
    utf8Violation("will topic", packet.will?.topic) ??
    // §3.1.2.6: the will QoS MUST NOT be 3 (MQTT-3.1.2-14).
    (packet.will !== undefined && (packet.will.qos ?? 0) > 2
      ? `will QoS ${packet.will.qos} (MQTT-3.1.2-14)`
      : undefined)
  );
}

export interface PublishFields {
  readonly topic: string;
  readonly qos: number;
  readonly messageId?: number | undefined;
}

/** A PUBLISH the server must refuse by closing the connection, or undefined. */
export function publishViolation(packet: PublishFields): string | undefined {
  // §2.3.1: QoS 1 and 2 PUBLISH packets MUST carry a non-zero packet identifier (MQTT-2.3.1-1).
  if (packet.qos > 0 && !packet.messageId)
    return `QoS ${packet.qos} PUBLISH with packet id 0 (MQTT-2.3.1-1)`;
  return utf8Violation("topic", packet.topic);
}
