import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { afterAll, beforeAll } from "vitest";

/**
 * A real aedes broker on an ephemeral loopback port for the enclosing suite (or file): started
 * before its tests, closed after them. `url` is set once the broker listens.
 */
export function useLoopbackBroker(): { readonly url: string } {
  const state = { url: "" };
  let broker: Aedes;
  let server: Server;
  beforeAll(async () => {
    broker = await Aedes.createBroker();
    server = createServer({ noDelay: true }, broker.handle);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("no address");
    state.url = `mqtt://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
