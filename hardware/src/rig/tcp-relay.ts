import {
  type AddressInfo,
  createConnection,
  createServer,
  type Server,
  type Socket,
} from "node:net";

/**
 * A TCP relay in front of an emulated device's server, for the faults a protocol server cannot
 * make by itself: `dropAll` cuts every connection (the client sees the peer reset, as when a
 * cable is pulled or the device reboots) and `delayMs` holds every byte from the device back,
 * in order (a slow device or network).
 */
export class TcpRelay {
  delayMs = 0;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on("connection", (client) => this.accept(client));
  }

  static async listen(
    target: { host: string; port: number },
    host = "127.0.0.1",
  ): Promise<TcpRelay> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port: 0 }, resolve);
    });
    return new TcpRelay(server, target);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  dropAll(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = createConnection(this.target);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.on("data", (chunk) => upstream.write(chunk));
    // Chunks leave in arrival order, each no earlier than its delay: when the delay shrinks, a
    // later chunk waits for the ones ahead of it (a byte stream must not be reordered).
    const queue: { chunk: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!client.destroyed) client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - Date.now());
    };
    upstream.on("data", (chunk: Buffer) => {
      if (this.delayMs <= 0 && queue.length === 0) return void client.write(chunk);
      queue.push({ chunk, at: Date.now() + this.delayMs });
      timer ??= setTimeout(flush, queue[0]!.at - Date.now());
    });
    client.on("close", () => clearTimeout(timer));
  }
}
