/**
 * Where aedes keeps sessions, subscriptions, queued QoS 1/2 messages and retained messages: in
 * memory (aedes-persistence, the default) or in Redis (aedes-persistence-redis), and how brokers
 * route messages: in process (aedes' own mqemitter) or through Redis pub/sub (mqemitter-redis), so
 * several brokers on one Redis serve one fleet. The persistence is wrapped to cap the messages
 * queued per session.
 */
import { createRequire } from "node:module";
import type { AedesOptions } from "aedes";

const require = createRequire(import.meta.url);

/** The slice of aedes' async persistence interface that the queue cap wraps. */
interface QueueingPersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  destroy(): Promise<void>;
}

type Persistence = NonNullable<AedesOptions["persistence"]>;
type Emitter = NonNullable<AedesOptions["mq"]>;

export interface Storage {
  readonly persistence: Persistence;
  /** Absent: aedes' in-process mqemitter. */
  readonly mq?: Emitter;
  /** Messages not queued because their session already had `maxQueued`. */
  droppedQueued(): number;
  /** Forgets the count of a session whose queue was discarded (a clean-session CONNECT). */
  forget(clientId: string): void;
  /** Closes the persistence's connections (aedes closes `mq` itself). */
  destroy(): Promise<void>;
}

export interface StorageOptions {
  /** `redis://…`; absent: memory. */
  readonly redis?: string | undefined;
  readonly maxQueued: number;
  readonly onDrop?: (clientId: string) => void;
}

export function createStorage(options: StorageOptions): Storage {
  let persistence: QueueingPersistence;
  let mq: Emitter | undefined;
  if (options.redis === undefined) {
    const Memory =
      require("aedes-persistence/asyncPersistence.js") as new () => QueueingPersistence;
    persistence = new Memory();
  } else {
    const Redis = require("ioredis") as new (url: string, opts: object) => unknown;
    const RedisPersistence = require("aedes-persistence-redis/asyncPersistence.js") as new (opts: {
      conn: unknown;
    }) => QueueingPersistence;
    const emitter = require("mqemitter-redis") as (opts: { connectionString: string }) => Emitter;
    // Retry for ever: a broker whose Redis restarts should resume, not die.
    persistence = new RedisPersistence({
      conn: new Redis(options.redis, { maxRetriesPerRequest: null }),
    });
    mq = emitter({ connectionString: options.redis });
  }

  // Counted here, per broker process: a count restarts at zero when the broker does, so over
  // Redis the cap is per broker lifetime, an upper bound on growth rather than an exact quota.
  const queued = new Map<string, number>();
  let dropped = 0;
  const admit = (clientId: string): boolean => {
    const n = queued.get(clientId) ?? 0;
    if (n >= options.maxQueued) {
      dropped += 1;
      options.onDrop?.(clientId);
      return false;
    }
    queued.set(clientId, n + 1);
    return true;
  };
  const enqueue = persistence.outgoingEnqueue.bind(persistence);
  const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingEnqueue = async (sub, packet) => {
    if (admit(sub.clientId)) await enqueue(sub, packet);
  };
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    const kept = subs.filter((s) => admit(s.clientId));
    if (kept.length > 0) await enqueueCombi(kept, packet);
  };
  persistence.outgoingClearMessageId = async (client, packet) => {
    const n = queued.get(client.id);
    if (n !== undefined) {
      if (n <= 1) queued.delete(client.id);
      else queued.set(client.id, n - 1);
    }
    return clear(client, packet);
  };

  return {
    persistence: persistence as unknown as Persistence,
    ...(mq === undefined ? {} : { mq }),
    droppedQueued: () => dropped,
    forget: (clientId) => queued.delete(clientId),
    destroy: () => persistence.destroy(),
  };
}
