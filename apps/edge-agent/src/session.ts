import { MqttTransport, type TransportOptions } from "@consort/protocol/mqtt";

/** What a refused login says: retrying would only be refused again. */
const REFUSED = /not authori[sz]ed|bad user ?name or password|identifier rejected/i;

/**
 * Connects to the broker, and keeps trying for up to `retryForMs` while it cannot be reached (a
 * board may boot before its broker): waits of 0.5 s, doubling up to 30 s, each one logged. A
 * refused login is not retried. The last error is thrown once the time is up.
 */
export async function connectPatiently(
  options: TransportOptions,
  retryForMs: number,
  log: (message: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<MqttTransport> {
  const deadline = Date.now() + retryForMs;
  let delay = 500;
  for (;;) {
    try {
      return await MqttTransport.connect(options);
    } catch (error) {
      const message = (error as Error).message;
      if (REFUSED.test(message) || Date.now() + delay > deadline) throw error;
      log(`cannot reach the broker at ${options.url} (${message}); trying again in ${delay} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}
