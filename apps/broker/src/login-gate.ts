/**
 * Slows password guessing without slowing honest logins. Every password check (scrypt, about
 * 16 MiB and tens of ms each) passes through one gate:
 * - at most `concurrency` checks run at once, so guessers cannot fill libuv's thread pool;
 * - logins from an address with no recent failure wait in a queue served before the queue of
 *   suspect logins, so a legitimate client does not wait behind hundreds of guesses;
 * - each queue holds at most `queueLimit` logins; more are refused at once (busy);
 * - after failures, an address waits `baseDelayMs * 2^(failures-1)` (at most `maxDelayMs`) before
 *   its check even queues; a username that has failed delays the suspect addresses trying it
 *   the same way, so guessing one account from many addresses is slowed too.
 * Failures are forgotten `forgetMs` after the last one. Time is injected for tests.
 */

export interface LoginGateOptions {
  readonly concurrency: number;
  readonly queueLimit: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly forgetMs?: number;
  /** Entries kept per table at most (oldest forgotten first), so spoofed variety cannot grow memory. */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

export type GateResult<T> =
  | { readonly kind: "done"; readonly value: T }
  | { readonly kind: "busy" };

interface Failures {
  count: number;
  last: number;
}

export class LoginGate {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #forgetMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #byAddress = new Map<string, Failures>();
  readonly #byUser = new Map<string, Failures>();
  readonly #clean: (() => void)[] = [];
  readonly #suspect: (() => void)[] = [];
  #running = 0;
  #busyRefusals = 0;

  constructor(options: LoginGateOptions) {
    this.#concurrency = options.concurrency;
    this.#queueLimit = options.queueLimit;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 8000;
    this.#forgetMs = options.forgetMs ?? 60_000;
    this.#maxTracked = options.maxTracked ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Logins refused because a queue was full. */
  get busyRefusals(): number {
    return this.#busyRefusals;
  }

  /**
   * Runs `check` when its turn comes; `failed(value)` says whether the login failed (a wrong
   * password or unknown user), which feeds the backoff.
   */
  async run<T>(
    address: string | undefined,
    username: string,
    check: () => Promise<T>,
    failed: (value: T) => boolean,
  ): Promise<GateResult<T>> {
    const addr = address ?? "unknown";
    const addrFails = this.#current(this.#byAddress, addr);
    const suspect = addrFails > 0;
    const userFails = suspect ? this.#current(this.#byUser, username) : 0;
    const delay = this.#delayFor(Math.max(addrFails, userFails));
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const queue = suspect ? this.#suspect : this.#clean;
    if (this.#running >= this.#concurrency) {
      if (queue.length >= this.#queueLimit) {
        this.#busyRefusals += 1;
        return { kind: "busy" };
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      const value = await check();
      if (failed(value)) {
        this.#fail(this.#byAddress, addr);
        this.#fail(this.#byUser, username);
      } else {
        this.#byAddress.delete(addr);
      }
      return { kind: "done", value };
    } finally {
      // Hand the slot straight to the next waiter, honest logins first.
      const next = this.#clean.shift() ?? this.#suspect.shift();
      if (next !== undefined) next();
      else this.#running -= 1;
    }
  }

  #delayFor(failures: number): number {
    if (failures === 0) return 0;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(failures - 1, 30));
  }

  #current(table: Map<string, Failures>, key: string): number {
    const entry = table.get(key);
    if (entry === undefined) return 0;
    if (this.#now() - entry.last > this.#forgetMs) {
      table.delete(key);
      return 0;
    }
    return entry.count;
  }

  #fail(table: Map<string, Failures>, key: string): void {
    const entry = table.get(key);
    const count = entry === undefined ? 1 : this.#current(table, key) + 1;
    table.delete(key);
    table.set(key, { count, last: this.#now() });
    if (table.size > this.#maxTracked) {
      const oldest = table.keys().next().value;
      if (oldest !== undefined) table.delete(oldest);
    }
  }
}
