/**
 * Where aedes keeps sessions, subscriptions, queued QoS 1/2 messages and retained messages: in
 * memory (aedes-persistence, the default) or in Redis (aedes-persistence-redis), and how brokers
 * route messages: in process (aedes' own mqemitter) or through Redis pub/sub (mqemitter-redis), so
 * several brokers on one Redis serve one fleet. The persistence is wrapped to cap the messages
 * queued per session (counted in memory, or in Redis when brokers share it).
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

/** How many messages each session has queued; shared through Redis when brokers share state. */
interface QueueCounts {
  /** Counts one more for `clientId` unless it already has `max`; says whether it did. */
  take(clientId: string, max: number): Promise<boolean>;
  release(clientId: string): Promise<void>;
  reset(clientId: string): Promise<void>;
}

function memoryCounts(): QueueCounts {
  const queued = new Map<string, number>();
  return {
    take: async (clientId, max) => {
      const n = queued.get(clientId) ?? 0;
      if (n >= max) return false;
      queued.set(clientId, n + 1);
      return true;
    },
    release: async (clientId) => {
      const n = queued.get(clientId);
      if (n === undefined) return;
      if (n <= 1) queued.delete(clientId);
      else queued.set(clientId, n - 1);
    },
    reset: async (clientId) => {
      queued.delete(clientId);
    },
  };
}

interface RedisLike {
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

// A message can be queued through one broker and acknowledged through another, so over Redis
// the count lives in Redis, changed atomically by these scripts.
const TAKE =
  "local n = redis.call('INCR', KEYS[1]) if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end return 1";
const RELEASE =
  "local n = redis.call('DECR', KEYS[1]) if n <= 0 then redis.call('DEL', KEYS[1]) end return n";
const countKey = (clientId: string) => `consort:queued:${encodeURIComponent(clientId)}`;

function redisCounts(db: RedisLike): QueueCounts {
  return {
    take: async (clientId, max) => (await db.eval(TAKE, 1, countKey(clientId), max)) === 1,
    release: async (clientId) => {
      await db.eval(RELEASE, 1, countKey(clientId));
    },
    reset: async (clientId) => {
      await db.del(countKey(clientId));
    },
  };
}

export function createStorage(options: StorageOptions): Storage {
  let persistence: QueueingPersistence;
  let mq: Emitter | undefined;
  let counts: QueueCounts;
  if (options.redis === undefined) {
    // The packages' main exports: aedes 1.x reads retained messages from them as streams.
    const memory = require("aedes-persistence") as () => QueueingPersistence;
    persistence = memory();
    counts = memoryCounts();
  } else {
    const Redis = require("ioredis") as new (url: string, opts: object) => RedisLike;
    const redisPersistence = require("aedes-persistence-redis") as (opts: {
      conn: unknown;
    }) => QueueingPersistence;
    const emitter = require("mqemitter-redis") as (opts: { connectionString: string }) => Emitter;
    // Retry for ever: a broker whose Redis restarts should resume, not die.
    const db = new Redis(options.redis, { maxRetriesPerRequest: null });
    persistence = redisPersistence({ conn: db });
    mq = emitter({ connectionString: options.redis });
    counts = redisCounts(db);
  }

  let dropped = 0;
  const admit = async (clientId: string): Promise<boolean> => {
    if (await counts.take(clientId, options.maxQueued)) return true;
    dropped += 1;
    options.onDrop?.(clientId);
    return false;
  };
  const enqueue = persistence.outgoingEnqueue.bind(persistence);
  const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingEnqueue = async (sub, packet) => {
    if (await admit(sub.clientId)) await enqueue(sub, packet);
  };
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    const admitted = await Promise.all(subs.map((s) => admit(s.clientId)));
    const kept = subs.filter((_, i) => admitted[i]);
    if (kept.length > 0) await enqueueCombi(kept, packet);
  };
  persistence.outgoingClearMessageId = async (client, packet) => {
    await counts.release(client.id);
    return clear(client, packet);
  };

  return {
    persistence: persistence as unknown as Persistence,
    ...(mq === undefined ? {} : { mq }),
    droppedQueued: () => dropped,
    forget: (clientId) => {
      counts.reset(clientId).catch(() => {});
    },
    destroy: () => persistence.destroy(),
  };
}
