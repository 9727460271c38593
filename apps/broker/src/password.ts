/**
 * Password hashes in the form `scrypt$N$r$p$saltB64$hashB64`, made and checked with node:crypto's
 * scrypt; comparisons are constant-time.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** About 50 ms and 16 MiB per check on a laptop; RFC 7914's interactive-login setting. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 16384, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on what a hash string may ask for, so a users file cannot make each login cost gigabytes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export interface ParsedHash extends ScryptParams {
  readonly salt: Buffer;
  readonly key: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads a hash string; a string saying what is wrong when it is not one. */
export function parsePasswordHash(hash: string): ParsedHash | string {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt")
    return 'expected "scrypt$N$r$p$saltBase64$hashBase64"';
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0)
    return `N must be a power of two from 2 to ${MAX_N}`;
  if (!Number.isInteger(R) || R < 1 || R > MAX_R) return `r must be an integer from 1 to ${MAX_R}`;
  if (!Number.isInteger(P) || P < 1 || P > MAX_P) return `p must be an integer from 1 to ${MAX_P}`;
  if (!B64.test(salt) || !B64.test(key)) return "salt and hash must be base64";
  const keyBytes = Buffer.from(key, "base64");
  if (keyBytes.length < 16) return "hash must be at least 16 bytes";
  return { N, r: R, p: P, salt: Buffer.from(salt, "base64"), key: keyBytes };
}

function derive(password: string | Buffer, h: ScryptParams, salt: Buffer, length: number) {
  // scrypt needs 128 * N * r bytes (plus a little); Node's default cap is 32 MiB.
  const maxmem = 128 * h.N * h.r + 4 * 1024 * 1024;
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, length, { N: h.N, r: h.r, p: h.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password for a users file's `passwordHash`. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, params, salt, KEY_BYTES);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Does `password` match `hash`? False for a malformed hash; constant-time in the comparison. */
export async function verifyPassword(password: string | Buffer, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (typeof parsed === "string") return false;
  const key = await derive(password, parsed, parsed.salt, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** Constant-time equality of a plain configured password and the one presented. */
export function plainPasswordMatches(presented: string | Buffer, configured: string): boolean {
  // Digests have equal lengths, so timingSafeEqual neither throws nor leaks the length.
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(configured, "utf8").digest();
  return timingSafeEqual(a, b);
}

/**
 * A well-formed hash no password matches, checked against for unknown usernames so that a
 * refusal takes as long whether or not the user exists.
 */
export const DECOY_HASH = `scrypt$${DEFAULT_SCRYPT.N}$${DEFAULT_SCRYPT.r}$${DEFAULT_SCRYPT.p}$${Buffer.alloc(SALT_BYTES).toString("base64")}$${Buffer.alloc(KEY_BYTES).toString("base64")}`;
