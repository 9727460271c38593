/**
 * Slows password guessing without slowing honest logins. Every password check (scrypt, about
 * 16 MiB and tens of ms each) passes through one gate:
 * - at most `concurrency` checks run at once, so guessers cannot fill libuv's thread pool;
 * - when a check ends, the next login is the oldest waiting one from an address with no recent
 *   failure, so a legitimate client does not wait behind hundreds of guesses;
 * - at most `queueLimit` logins wait; past that a newcomer is refused (busy), unless it comes
 *   from a clean address and can take the place of one from a failing address;
 * - after failures, an address waits `baseDelayMs * 2^(failures-1)` (at most `maxDelayMs`) before
 *   its check even queues; a username that has failed delays the suspect addresses trying it
 *   the same way, so guessing one account from many addresses is slowed too.
 * - a failed login, and a refusal for lack of room, is answered after the same delay, so a
 *   guesser that waits for its answer cannot churn connections;
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
  readonly #waiting: { addr: string; wake: (admitted: boolean) => void }[] = [];
  #running = 0;
  #sleeping = 0;
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
    const userFails = addrFails > 0 ? this.#current(this.#byUser, username) : 0;
    const delay = this.#delayFor(Math.max(addrFails, userFails));
    if (delay > 0) {
      // Sleepers count against the queue, so logins in progress stay bounded.
      if (this.#sleeping + this.#waiting.length >= this.#queueLimit) return this.#busy(addr);
      this.#sleeping += 1;
      await sleep(delay);
      this.#sleeping -= 1;
    }
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length + this.#sleeping >= this.#queueLimit) {
        // Full. An honest newcomer takes the place of a waiter from a failing address.
        const victim = this.#isClean(addr)
          ? this.#waiting.findIndex((w) => !this.#isClean(w.addr))
          : -1;
        if (victim < 0) return this.#busy(addr);
        this.#waiting.splice(victim, 1)[0]!.wake(false);
      }
      const admitted = await new Promise<boolean>((wake) => this.#waiting.push({ addr, wake }));
      if (!admitted) return this.#busy(addr);
    } else {
      this.#running += 1;
    }
    let value: T;
    let failures = 0;
    try {
      value = await check();
      // Recorded before the slot is handed on, so that choice already sees this failure.
      if (failed(value)) {
        failures = this.#fail(this.#byAddress, addr);
        this.#fail(this.#byUser, username);
      } else {
        this.#byAddress.delete(addr);
      }
    } finally {
      // Hand the slot straight to the next waiter: honest addresses first, judged now (a flood's
      // first wave queued before any of it had failed).
      const i = this.#waiting.findIndex((w) => this.#isClean(w.addr));
      const next = this.#waiting.splice(Math.max(i, 0), 1)[0];
      if (next !== undefined) next.wake(true);
      else this.#running -= 1;
    }
    // Answer a failure late (the slot is already free): a guesser that waits for the answer
    // before guessing again is slowed, and its reconnections do not churn the broker.
    if (failures > 0) await sleep(this.#delayFor(failures));
    return { kind: "done", value };
  }

  #isClean(addr: string): boolean {
    return this.#current(this.#byAddress, addr) === 0;
  }

  /** Refuses for lack of room; counted as a failure of the address and answered late too. */
  async #busy(addr: string): Promise<GateResult<never>> {
    this.#busyRefusals += 1;
    const count = this.#fail(this.#byAddress, addr);
    await sleep(this.#delayFor(count));
    return { kind: "busy" };
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

  #fail(table: Map<string, Failures>, key: string): number {
    const entry = table.get(key);
    const count = entry === undefined ? 1 : this.#current(table, key) + 1;
    table.delete(key);
    table.set(key, { count, last: this.#now() });
    if (table.size > this.#maxTracked) {
      const oldest = table.keys().next().value;
      if (oldest !== undefined) table.delete(oldest);
    }
    return count;
  }
}

// Unref: a pending backoff must not keep a closed broker's process alive.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
