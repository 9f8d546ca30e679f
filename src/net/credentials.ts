/**
 * R2 credentials: the 128-character read-credential commitment (infra spec §3.4), the R2
 * endpoint of an account, and the dual read/write credentials from the environment (§4.1).
 * Secrets never appear in `JSON.stringify`, `String()` or `console.log` output of these objects.
 *
 * @module
 */

import { StorageError } from "./errors.ts";

/** Exact length of a commitment string. */
export const COMMITMENT_LENGTH = 128;
const ACCOUNT_ID_CHARS = 32;
const ACCESS_KEY_ID_CHARS = 32;
const SECRET_CHARS = 64;
const REDACTED = "[redacted]";
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/**
 * An S3 key pair. The secret is kept out of JSON and inspection output; read it with
 * `secretAccessKey`.
 *
 * @example
 * ```ts
 * import { AccessKey } from "./credentials.ts";
 * const key = new AccessKey("AKID", "shh");
 * if (JSON.stringify(key).includes("shh") || key.secretAccessKey !== "shh") throw new Error("leak");
 * ```
 */
export class AccessKey {
  /** Access key id (not secret). */
  readonly accessKeyId: string;
  readonly #secretAccessKey: string;

  /**
   * Wraps an access key pair.
   *
   * @param accessKeyId Access key id.
   * @param secretAccessKey Secret access key.
   */
  constructor(accessKeyId: string, secretAccessKey: string) {
    this.accessKeyId = accessKeyId;
    this.#secretAccessKey = secretAccessKey;
  }

  /** The secret access key. */
  get secretAccessKey(): string {
    return this.#secretAccessKey;
  }

  /**
   * Redacted form for JSON.
   *
   * @returns The key id and a redacted secret.
   */
  toJSON(): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: this.accessKeyId, secretAccessKey: REDACTED };
  }

  /**
   * Redacted form for string conversion.
   *
   * @returns A description without the secret.
   */
  toString(): string {
    return `AccessKey(${this.accessKeyId}, secret ${REDACTED})`;
  }

  /** Redacted form for `console.log` / `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Redacted form for Node's `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** What a commitment carries: the bucket owner's account id (= bucket name) and read key. */
export interface ReadCredentials {
  /** Cloudflare account id; also the bucket name. */
  accountId: string;
  /** Read-only key pair. */
  read: AccessKey;
}

function requireField(name: string, value: string, maxChars: number): void {
  if (value.length === 0 || value.length > maxChars || !PRINTABLE_ASCII.test(value)) {
    const shown = name === "read secret" ? `${value.length} characters` : JSON.stringify(value);
    throw new RangeError(
      `Cannot encode commitment: ${name} must be 1..${maxChars} printable ASCII characters without spaces, got ${shown}`,
    );
  }
}

/**
 * Encodes read credentials as the 128-character commitment: account id, access key id (each
 * right-padded with spaces to 32) and secret (padded to 64). Unlike the reference, values that
 * would be truncated are refused instead of silently cut.
 *
 * @param credentials Account id and read key.
 * @returns The 128-character ASCII string to commit on chain.
 * @throws {RangeError} When a field is empty, too long, or not printable ASCII.
 *
 * @example
 * ```ts
 * import { AccessKey, decodeCommitment, encodeCommitment } from "./credentials.ts";
 * const text = encodeCommitment({ accountId: "acc", read: new AccessKey("kid", "secret") });
 * if (text.length !== 128) throw new Error("length");
 * if (decodeCommitment(text).read.secretAccessKey !== "secret") throw new Error("round trip");
 * ```
 */
export function encodeCommitment(credentials: ReadCredentials): string {
  requireField("account id", credentials.accountId, ACCOUNT_ID_CHARS);
  requireField("read access key id", credentials.read.accessKeyId, ACCESS_KEY_ID_CHARS);
  requireField("read secret", credentials.read.secretAccessKey, SECRET_CHARS);
  return credentials.accountId.padEnd(ACCOUNT_ID_CHARS, " ") +
    credentials.read.accessKeyId.padEnd(ACCESS_KEY_ID_CHARS, " ") +
    credentials.read.secretAccessKey.padEnd(SECRET_CHARS, " ");
}

/**
 * Parses a commitment read from chain. Like the reference it requires exactly 128 characters
 * (counted as Unicode code points after UTF-8 decoding, as Python's `len`) and strips
 * whitespace around each field; it additionally requires non-empty printable-ASCII fields.
 *
 * @param value The commitment as text, or its raw bytes (UTF-8).
 * @returns Account id (bucket) and read key.
 * @throws {StorageError} Code `invalid_commitment` for any other shape.
 *
 * @example
 * ```ts
 * import { decodeCommitment } from "./credentials.ts";
 * const text = "a".repeat(32) + "k".repeat(32) + "s".repeat(64);
 * if (decodeCommitment(text).accountId !== "a".repeat(32)) throw new Error("unexpected");
 * ```
 */
export function decodeCommitment(value: string | Uint8Array): ReadCredentials {
  let text: string;
  if (typeof value === "string") {
    text = value;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    } catch (cause) {
      throw new StorageError(
        "invalid_commitment",
        `Cannot parse commitment: ${value.length} bytes are not valid UTF-8; expected 128 ASCII characters`,
        { cause },
      );
    }
  }
  const codePoints = [...text].length;
  if (codePoints !== COMMITMENT_LENGTH) {
    throw new StorageError(
      "invalid_commitment",
      `Cannot parse commitment: expected exactly ${COMMITMENT_LENGTH} characters, got ${codePoints}`,
    );
  }
  const accountId = text.slice(0, 32).trim();
  const accessKeyId = text.slice(32, 64).trim();
  const secret = text.slice(64, 128).trim();
  for (
    const [name, field] of [["account id", accountId], ["access key id", accessKeyId], [
      "secret",
      secret,
    ]]
  ) {
    if (field.length === 0 || !PRINTABLE_ASCII.test(field)) {
      throw new StorageError(
        "invalid_commitment",
        `Cannot parse commitment: the ${name} field is empty or not printable ASCII`,
      );
    }
  }
  return { accountId, read: new AccessKey(accessKeyId, secret) };
}

/**
 * Cloudflare R2 S3 endpoint of an account: `https://{accountId}.r2.cloudflarestorage.com`.
 *
 * @param accountId Cloudflare account id (letters, digits, hyphens).
 * @returns The endpoint URL.
 * @throws {RangeError} When the id cannot be a DNS label.
 *
 * @example
 * ```ts
 * import { r2Endpoint } from "./credentials.ts";
 * if (r2Endpoint("abc123") !== "https://abc123.r2.cloudflarestorage.com") throw new Error("unexpected");
 * ```
 */
export function r2Endpoint(accountId: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(accountId)) {
    throw new RangeError(
      `R2 account id must be a DNS label (letters, digits, inner hyphens, ≤ 63 characters), got ${
        JSON.stringify(accountId.slice(0, 80))
      }`,
    );
  }
  return `https://${accountId}.r2.cloudflarestorage.com`;
}

/** Everything needed to reach one's own bucket (infra spec §4.1). */
export interface StorageCredentials {
  /** Cloudflare account id; others address our bucket by it. */
  accountId: string;
  /** Our bucket name (`R2_BUCKET_ID`); must equal `accountId` for others to find it. */
  bucket: string;
  /** Read-only key (committed on chain). */
  read: AccessKey;
  /** Write key (never leaves this process). */
  write: AccessKey;
  /** S3 endpoint: `R2_ENDPOINT_URL` or the account's R2 endpoint. */
  endpoint: string;
  /** Region (`R2_REGION`, default `us-east-1`). */
  region: string;
  /** Path-style addressing (`R2_FORCE_PATH_STYLE=true`, for MinIO/s3rver). */
  forcePathStyle: boolean;
  /** True when only write keys were given and reused for reads (deprecated single mode). */
  singleKeyMode: boolean;
}

/**
 * Reads storage credentials from environment variables (passed in; roles give
 * `Deno.env.toObject()`). Dual mode needs the six `R2_*` variables; with only write keys the
 * write key is reused for reads, as the reference's deprecated single mode.
 *
 * @param env Variable map.
 * @returns The credentials.
 * @throws {RangeError} Naming each missing variable.
 *
 * @example
 * ```ts
 * import { storageCredentialsFromEnv } from "./credentials.ts";
 * const c = storageCredentialsFromEnv({
 *   R2_ACCOUNT_ID: "acc", R2_BUCKET_ID: "acc",
 *   R2_WRITE_ACCESS_KEY_ID: "w", R2_WRITE_SECRET_ACCESS_KEY: "ws",
 *   R2_READ_ACCESS_KEY_ID: "r", R2_READ_SECRET_ACCESS_KEY: "rs",
 * });
 * if (c.endpoint !== "https://acc.r2.cloudflarestorage.com" || c.read.accessKeyId !== "r") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function storageCredentialsFromEnv(
  env: Record<string, string | undefined>,
): StorageCredentials {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const missing = ["R2_ACCOUNT_ID", "R2_WRITE_ACCESS_KEY_ID", "R2_WRITE_SECRET_ACCESS_KEY"].filter((
    n,
  ) => get(n) === undefined);
  const readId = get("R2_READ_ACCESS_KEY_ID");
  const readSecret = get("R2_READ_SECRET_ACCESS_KEY");
  if ((readId === undefined) !== (readSecret === undefined)) {
    missing.push(readId === undefined ? "R2_READ_ACCESS_KEY_ID" : "R2_READ_SECRET_ACCESS_KEY");
  }
  if (missing.length > 0) {
    throw new RangeError(`Storage credentials incomplete: set ${missing.join(", ")}`);
  }
  const accountId = get("R2_ACCOUNT_ID")!;
  const write = new AccessKey(get("R2_WRITE_ACCESS_KEY_ID")!, get("R2_WRITE_SECRET_ACCESS_KEY")!);
  const singleKeyMode = readId === undefined;
  return {
    accountId,
    bucket: get("R2_BUCKET_ID") ?? accountId,
    read: singleKeyMode ? write : new AccessKey(readId!, readSecret!),
    write,
    endpoint: get("R2_ENDPOINT_URL") ?? r2Endpoint(accountId),
    region: get("R2_REGION") ?? "us-east-1",
    forcePathStyle: get("R2_FORCE_PATH_STYLE")?.toLowerCase() === "true",
    singleKeyMode,
  };
}
