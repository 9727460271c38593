import { formatInputError, parseSchemaDocument } from "@consort/core";
import { type Body, bodies, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { CliError, EXIT } from "../errors.js";
import { readText } from "../load-problem.js";

export interface OrderSubmitFlags {
  readonly broker: string;
  readonly site: string;
  readonly username: string;
  readonly password?: string;
  /** Seconds to wait for the coordinator's reply. */
  readonly timeout: number;
  readonly json: boolean;
}

/**
 * `consort order submit FILE`: checks an order (YAML or JSON, the `order` message body) as
 * scenarios are checked, sends it to the site's coordinator and waits for its reply on this
 * operator's replies topic. Exit 0 when accepted; 65 with the reason when refused; 70 when no
 * reply comes in time. The password comes from --password or CONSORT_PASSWORD.
 */
export async function orderSubmitCommand(
  file: string,
  flags: OrderSubmitFlags,
  out: NodeJS.WriteStream,
): Promise<number> {
  const text = await readText(file);
  const parsed = parseSchemaDocument(text, file, bodies.order, "an order");
  if (!parsed.ok) throw new CliError(formatInputError(parsed.error[0]!), EXIT.dataError);
  const order = parsed.value;
  const password = flags.password ?? process.env.CONSORT_PASSWORD;
  let transport: MqttTransport;
  try {
    transport = await MqttTransport.connect({
      url: flags.broker,
      // Its own client id (the username and a suffix), so two submits never take over each other.
      clientId: `${flags.username}@order-${process.pid}-${Date.now()}`,
      username: flags.username,
      ...(password ? { password } : {}),
      connectTimeoutMs: 10_000,
    });
  } catch (error) {
    throw new CliError(
      `cannot reach the broker at ${flags.broker}: ${(error as Error).message}`,
      EXIT.software,
    );
  }
  try {
    // A new epoch for each submit: its sequence starts at 0 again, yet is no repeat of the last.
    const epoch = Date.now();
    const message = makeMessage("order", flags.username, order, { seq: 0, at: epoch, epoch });
    let settle: (reply: Body<"order-reply">) => void = () => {};
    const replied = new Promise<Body<"order-reply">>((resolve) => {
      settle = resolve;
    });
    transport.onMessage((m) => {
      if (m.type === "order-reply" && (m.corr === message.id || m.body.orderId === order.orderId))
        settle(m.body);
    });
    const repliesTopic = topics.orderReplies(flags.site, flags.username);
    try {
      await transport.subscribe(repliesTopic);
    } catch {
      throw new CliError(
        `the broker refused to let "${flags.username}" read ${repliesTopic}: is it an operator of site "${flags.site}"?`,
        EXIT.software,
      );
    }
    await transport.publish(topics.orders(flags.site), message);
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      replied,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), flags.timeout * 1000);
      }),
    ]);
    clearTimeout(timer);
    if (reply === undefined)
      throw new CliError(
        `no reply to order ${order.orderId} within ${flags.timeout} s (is a coordinator serving site "${flags.site}" at ${flags.broker}?)`,
        EXIT.software,
      );
    if (flags.json) out.write(`${JSON.stringify(reply)}\n`);
    if (!reply.accepted)
      throw new CliError(
        `order ${order.orderId} refused: ${reply.reason ?? "no reason given"}`,
        EXIT.dataError,
      );
    if (!flags.json)
      out.write(
        `consort order: ${order.orderId} accepted${reply.jobs !== undefined ? `: ${reply.jobs} jobs` : ""}${reply.reason ? ` (${reply.reason})` : ""}\n`,
      );
    return EXIT.ok;
  } finally {
    await transport.close();
  }
}
