import { MqttTransport, type TransportOptions } from "@consort/protocol/mqtt";

/**
 * Connects to the broker, and keeps trying for up to `retryForMs` while it cannot be reached (a
 * board may boot before its broker): the transport's capped exponential backoff, each wait logged
 * at info on `options.logger`. A refused login is not retried. `retryForMs` 0: one attempt.
 */
export async function connectPatiently(
  options: TransportOptions,
  retryForMs: number,
): Promise<MqttTransport> {
  if (retryForMs <= 0) return MqttTransport.connect(options);
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), retryForMs);
  timer.unref();
  try {
    return await MqttTransport.connect({
      ...options,
      retry: { maxDelayMs: 30_000, signal: giveUp.signal },
    });
  } catch (error) {
    if (giveUp.signal.aborted)
      throw new Error(
        `could not reach the broker at ${options.url} for ${Math.round(retryForMs / 1000)} s (connectRetrySeconds)`,
      );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
