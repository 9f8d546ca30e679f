/**
 * {@linkcode ObjectStore} over S3-compatible storage (Cloudflare R2, MinIO, s3rver) with
 * `@aws-sdk/client-s3` (infra spec §4.1):
 * - checksums only "when required" (R2 rejects the SDK's default CRC trailers);
 * - one PUT below the multipart threshold (50 MiB), else a multipart upload that becomes visible
 *   only on completion and is aborted on any failure, so no partial object is ever left under
 *   the key;
 * - every request has a timeout and bounded retries with exponential backoff and jitter;
 * - single-part uploads are staged under `grail-staging/`, checked with HEAD and copied to the
 *   final key (a torn PUT never lands there, even on servers that commit truncated bodies);
 * - each upload carries Content-MD5 and a `sha256` user-metadata entry; downloads check length,
 *   the MD5 ETag of single-part objects and the sha256 when present, and report `corrupt`;
 * - downloads start with a HEAD (6 s) and fetch objects above 50 MiB as ETag-pinned ranges.
 *
 * @module
 */

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  type AccessKey,
  r2Endpoint,
  type ReadCredentials,
  type StorageCredentials,
} from "./credentials.ts";
import { StorageError, type StorageErrorCode } from "./errors.ts";
import {
  type BackoffOptions,
  type Clock,
  jitterRandom,
  retry,
  type RetryEvent,
  SYSTEM_CLOCK,
  withTimeout,
} from "./retry.ts";
import { floorToSecond, type ObjectInfo, type ObjectStore, validateKey } from "./storage.ts";

const MIB = 1024 * 1024;
/** Objects below this size go up in one PUT (infra spec §4.1). */
export const MULTIPART_THRESHOLD_BYTES = 50 * MIB;
/** S3's smallest allowed part (all parts but the last). */
export const MIN_PART_SIZE_BYTES = 5 * MIB;
/** The reference's per-request upload timeout (`UPLOAD_TIMEOUT`). */
export const DEFAULT_TIMEOUT_MS = 90_000;
/** Prefix of staged single-part uploads (outside every prefix GRAIL lists). */
export const STAGING_PREFIX = "grail-staging/";
/** The reference's timeout for discovery HEADs. */
export const DEFAULT_HEAD_TIMEOUT_MS = 6_000;
/** User-metadata key holding the object's SHA-256 (hex). */
export const SHA256_METADATA_KEY = "sha256";

const UPLOAD_BACKOFF: BackoffOptions = { baseDelayMs: 1000, maxDelayMs: 32_000, jitter: 0.25 };
const THROTTLE_BACKOFF: BackoffOptions = { baseDelayMs: 2000, maxDelayMs: 60_000, jitter: 0.25 };
const RETRYABLE: ReadonlySet<StorageErrorCode> = new Set([
  "timeout",
  "network",
  "throttled",
  "server",
  "corrupt",
]);

/**
 * Part size for a multipart upload of `sizeBytes` (infra spec §4.1): 50 MiB parts up to 500 MiB,
 * 500 MiB parts beyond.
 *
 * @param sizeBytes Object size.
 * @returns Part size in bytes.
 *
 * @example
 * ```ts
 * import { referencePartSizeBytes } from "./s3_store.ts";
 * if (referencePartSizeBytes(100 * 2 ** 20) !== 50 * 2 ** 20) throw new Error("unexpected");
 * ```
 */
export function referencePartSizeBytes(sizeBytes: number): number {
  return sizeBytes <= 500 * MIB ? 50 * MIB : 500 * MIB;
}

/** What {@linkcode S3StoreOptions.onRetry} receives. */
export interface StorageRetryEvent extends RetryEvent {
  /** Operation name, e.g. `put`, `upload_part`, `get`. */
  operation: string;
  /** Object key. */
  key: string;
}

/** Options of {@linkcode S3Store}. */
export interface S3StoreOptions {
  /** S3 endpoint URL, e.g. from {@linkcode r2Endpoint}. */
  endpoint: string;
  /** Bucket name. */
  bucket: string;
  /** Key pair for this store: read keys for a reader, write keys for the owner. */
  credentials: AccessKey;
  /** Region; default `us-east-1`. */
  region?: string;
  /** Path-style addressing (needed by s3rver/MinIO); default false. */
  forcePathStyle?: boolean;
  /** Per-request timeout; default 90 s. */
  timeoutMs?: number;
  /** Timeout of a HEAD (the validator's discovery probe, infra spec §4.4); default 6 s. */
  headTimeoutMs?: number;
  /** Attempts per request, including the first; default 3. */
  attempts?: number;
  /** Size at which uploads switch to multipart; default 50 MiB. */
  multipartThresholdBytes?: number;
  /** Part size; default {@linkcode referencePartSizeBytes}. At least 5 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once; default 15 (3 for parts ≥ 200 MiB), as the reference. */
  partConcurrency?: number;
  /**
   * Upload single-part objects to a staging key, check them with HEAD (size and SHA-256), then
   * copy them server-side to the final key; default true. This keeps torn uploads away from the
   * final key even on servers that commit a truncated PUT (s3rver does); plain PUT (`false`) is
   * atomic only on S3-conformant servers such as R2.
   */
  stagedUploads?: boolean;
  /** Bytes per ranged GET for large downloads; default 50 MiB (infra spec §4.1). */
  rangeChunkBytes?: number;
  /** Ranged GETs at once; default 10. */
  rangeConcurrency?: number;
  /** Keys per LIST page; default 1000. */
  listPageSize?: number;
  /** Clock for timeouts and backoff. */
  clock?: Clock;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Observer of retries (roles log them). */
  onRetry?: (event: StorageRetryEvent) => void;
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function classify(error: unknown): StorageErrorCode {
  const e = error as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name ?? "";
  if (status === 404 || name === "NoSuchKey" || name === "NotFound") return "not_found";
  if (
    status === 403 || name === "AccessDenied" || name === "InvalidAccessKeyId" ||
    name === "SignatureDoesNotMatch"
  ) return "access_denied";
  if (
    status === 429 || name === "SlowDown" || name === "RequestLimitExceeded" ||
    /throttl/i.test(name)
  ) {
    return "throttled";
  }
  // 412: the object changed between ranged GETs pinned with If-Match.
  if (status === 412 || name === "BadDigest" || name === "InvalidDigest") return "corrupt";
  if (status !== undefined && status >= 500) return "server";
  if (status !== undefined && status >= 400) return "access_denied";
  return "network";
}

function errorMessage(error: unknown): string {
  const e = error as SdkError;
  const text = `${e?.name ?? "Error"}: ${e?.message ?? String(error)}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function md5Base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...md5(bytes)));
}

/**
 * A bucket on an S3-compatible service.
 *
 * @example Build a reader for another party's committed bucket (no request is sent)
 * ```ts
 * import { S3Store } from "./s3_store.ts";
 * import { AccessKey } from "./credentials.ts";
 * const store = S3Store.forCommitment({ accountId: "abc123", read: new AccessKey("id", "secret") });
 * if (store.bucket !== "abc123") throw new Error("unexpected");
 * store.close();
 * ```
 */
export class S3Store implements ObjectStore {
  /** Bucket name. */
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #timeoutMs: number;
  readonly #headTimeoutMs: number;
  readonly #attempts: number;
  readonly #multipartThresholdBytes: number;
  readonly #partSizeBytes: number | undefined;
  readonly #partConcurrency: number | undefined;
  readonly #listPageSize: number;
  readonly #rangeChunkBytes: number;
  readonly #rangeConcurrency: number;
  readonly #stagedUploads: boolean;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onRetry: ((event: StorageRetryEvent) => void) | undefined;

  /**
   * Creates a store on one S3 (or R2) bucket.
   *
   * @param options Endpoint, bucket, credentials and tuning.
   * @throws {RangeError} For a part size below 5 MiB or non-positive limits.
   */
  constructor(options: S3StoreOptions) {
    if (options.partSizeBytes !== undefined && options.partSizeBytes < MIN_PART_SIZE_BYTES) {
      throw new RangeError(
        `Part size must be at least ${MIN_PART_SIZE_BYTES} bytes (S3 minimum), got ${options.partSizeBytes}`,
      );
    }
    for (
      const [name, value] of Object.entries({
        timeoutMs: options.timeoutMs,
        attempts: options.attempts,
      })
    ) {
      if (value !== undefined && !(value > 0)) {
        throw new RangeError(`${name} must be positive, got ${value}`);
      }
    }
    this.bucket = options.bucket;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#headTimeoutMs = options.headTimeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
    this.#attempts = options.attempts ?? 3;
    this.#multipartThresholdBytes = options.multipartThresholdBytes ?? MULTIPART_THRESHOLD_BYTES;
    this.#partSizeBytes = options.partSizeBytes;
    this.#partConcurrency = options.partConcurrency;
    this.#listPageSize = options.listPageSize ?? 1000;
    this.#rangeChunkBytes = options.rangeChunkBytes ?? 50 * MIB;
    this.#rangeConcurrency = options.rangeConcurrency ?? 10;
    this.#stagedUploads = options.stagedUploads ?? true;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#random = options.random ?? jitterRandom;
    this.#onRetry = options.onRetry;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: {
        accessKeyId: options.credentials.accessKeyId,
        secretAccessKey: options.credentials.secretAccessKey,
      },
      // Retries are ours (bounded, jittered, observable); the SDK makes one attempt per call.
      maxAttempts: 1,
      // R2 rejects the SDK's default flexible checksums (infra spec §4.1).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /**
   * A reader for a bucket found in a chain commitment: bucket = account id, R2 endpoint of that
   * account unless `endpoint` overrides it (local networks).
   *
   * @param commitment Decoded commitment.
   * @param options Other options (endpoint override, timeouts, clock).
   * @returns A store using the committed read key.
   */
  static forCommitment(
    commitment: ReadCredentials,
    options: Partial<Omit<S3StoreOptions, "bucket" | "credentials">> = {},
  ): S3Store {
    return new S3Store({
      ...options,
      endpoint: options.endpoint ?? r2Endpoint(commitment.accountId),
      bucket: commitment.accountId,
      credentials: commitment.read,
    });
  }

  /**
   * One's own bucket with either the read or the write key.
   *
   * @param credentials From `storageCredentialsFromEnv`.
   * @param access Which key to use: reads use `read`, uploads `write`.
   * @param options Other options.
   * @returns The store.
   */
  static forOwnBucket(
    credentials: StorageCredentials,
    access: "read" | "write",
    options: Partial<Omit<S3StoreOptions, "bucket" | "credentials" | "endpoint">> = {},
  ): S3Store {
    return new S3Store({
      ...options,
      endpoint: credentials.endpoint,
      region: options.region ?? credentials.region,
      forcePathStyle: options.forcePathStyle ?? credentials.forcePathStyle,
      bucket: credentials.bucket,
      credentials: access === "read" ? credentials.read : credentials.write,
    });
  }

  /** Releases the HTTP connections. */
  close(): void {
    this.#client.destroy();
  }

  /** Runs one SDK call with a timeout and classified errors. */
  #once<T>(
    operation: string,
    key: string,
    call: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<T> {
    return withTimeout(
      async (signal) => {
        try {
          return await call(signal);
        } catch (error) {
          if (error instanceof StorageError) throw error;
          if (signal.aborted && signal.reason instanceof StorageError) throw signal.reason;
          const code = classify(error);
          throw new StorageError(
            code,
            `${operation} ${JSON.stringify(key)} in bucket ${this.bucket} failed (${code}): ${
              errorMessage(error)
            }`,
            { key, cause: error },
          );
        }
      },
      timeoutMs,
      () =>
        new StorageError(
          "timeout",
          `${operation} ${
            JSON.stringify(key)
          } in bucket ${this.bucket} took longer than ${timeoutMs} ms`,
          { key },
        ),
      this.#clock,
    );
  }

  /** {@linkcode #once} with bounded retries of transient failures. */
  #withRetry<T>(
    operation: string,
    key: string,
    call: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<T> {
    return retry(() => this.#once(operation, key, call, timeoutMs), {
      ...UPLOAD_BACKOFF,
      attempts: this.#attempts,
      clock: this.#clock,
      random: this.#random,
      shouldRetry: (error) => error instanceof StorageError && RETRYABLE.has(error.code),
      backoffFor: (error) =>
        error instanceof StorageError && error.code === "throttled"
          ? THROTTLE_BACKOFF
          : UPLOAD_BACKOFF,
      onRetry: (event) => this.#onRetry?.({ ...event, operation, key }),
    });
  }

  /**
   * Uploads atomically: one PUT below the threshold, else multipart (aborted on failure).
   *
   * @param key Object key.
   * @param body Bytes.
   * @throws {StorageError} After the retries; no partial object is left under `key`.
   */
  async put(key: string, body: Uint8Array): Promise<void> {
    validateKey(key);
    const digest = bytesToHex(sha256(body));
    if (body.length < this.#multipartThresholdBytes) {
      if (!this.#stagedUploads) {
        await this.#withRetry(
          "put",
          key,
          (abortSignal) => this.#putOnce(key, body, digest, abortSignal),
        );
        return;
      }
      const staged = `${STAGING_PREFIX}${crypto.randomUUID()}`;
      try {
        await this.#withRetry("put", key, async (abortSignal) => {
          await this.#putOnce(staged, body, digest, abortSignal);
          await this.#checkStaged(key, staged, body.length, digest, abortSignal);
        });
        await this.#withRetry("copy", key, (abortSignal) =>
          this.#client.send(
            new CopyObjectCommand({
              Bucket: this.bucket,
              Key: key,
              CopySource: `${this.bucket}/${staged.split("/").map(encodeURIComponent).join("/")}`,
              MetadataDirective: "COPY",
            }),
            { abortSignal },
          ));
      } finally {
        // A leftover staging object is harmless (outside listed prefixes) but worth removing.
        await this.delete(staged).catch(() => undefined);
      }
      return;
    }
    await this.#putMultipart(key, body, digest);
  }

  /** HEAD `key` within the HEAD timeout, retried like every other operation. */
  #headWithRetry(key: string): Promise<HeadObjectCommandOutput> {
    return this.#withRetry(
      "head",
      key,
      (abortSignal) =>
        this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        }),
      this.#headTimeoutMs,
    );
  }

  /** Whether `key` now holds exactly our upload (size and SHA-256 metadata). */
  async #holds(key: string, sizeBytes: number, digest: string): Promise<boolean> {
    try {
      const head = await this.#headWithRetry(key);
      return head.ContentLength === sizeBytes && head.Metadata?.[SHA256_METADATA_KEY] === digest;
    } catch (error) {
      if (error instanceof StorageError) return false;
      throw error;
    }
  }

  #putOnce(
    key: string,
    body: Uint8Array,
    digest: string,
    abortSignal: AbortSignal,
  ): Promise<unknown> {
    return this.#client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5Base64(body),
        Metadata: { [SHA256_METADATA_KEY]: digest },
      }),
      { abortSignal },
    );
  }

  async #checkStaged(
    key: string,
    staged: string,
    sizeBytes: number,
    digest: string,
    abortSignal: AbortSignal,
  ): Promise<void> {
    const head = await this.#client.send(
      new HeadObjectCommand({ Bucket: this.bucket, Key: staged }),
      {
        abortSignal,
      },
    );
    const storedDigest = head.Metadata?.[SHA256_METADATA_KEY];
    if (head.ContentLength !== sizeBytes || storedDigest !== digest) {
      throw new StorageError(
        "corrupt",
        `Staged upload of ${
          JSON.stringify(key)
        } holds ${head.ContentLength} bytes (sha256 ${storedDigest}) instead of ${sizeBytes} (${digest}); not publishing it`,
        { key },
      );
    }
  }

  async #putMultipart(key: string, body: Uint8Array, digest: string): Promise<void> {
    const partSize = this.#partSizeBytes ?? referencePartSizeBytes(body.length);
    const concurrency = this.#partConcurrency ?? (partSize >= 200 * MIB ? 3 : 15);
    const created = await this.#withRetry(
      "create_multipart",
      key,
      (abortSignal) =>
        this.#client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            Metadata: { [SHA256_METADATA_KEY]: digest },
          }),
          { abortSignal },
        ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) {
      throw new StorageError(
        "server",
        `create_multipart ${JSON.stringify(key)} returned no UploadId`,
        { key },
      );
    }
    const partCount = Math.ceil(body.length / partSize);
    const etags: string[] = new Array(partCount);
    try {
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!failed && next < partCount) {
          const index = next++;
          const part = body.subarray(
            index * partSize,
            Math.min(body.length, (index + 1) * partSize),
          );
          const contentMd5 = md5Base64(part);
          try {
            const result = await this.#withRetry(
              `upload_part ${index + 1}/${partCount}`,
              key,
              (abortSignal) =>
                this.#client.send(
                  new UploadPartCommand({
                    Bucket: this.bucket,
                    Key: key,
                    UploadId: uploadId,
                    PartNumber: index + 1,
                    Body: part,
                    ContentLength: part.length,
                    ContentMD5: contentMd5,
                  }),
                  { abortSignal },
                ),
            );
            if (!result.ETag) {
              throw new StorageError(
                "server",
                `upload_part ${index + 1} of ${JSON.stringify(key)} returned no ETag`,
                {
                  key,
                },
              );
            }
            etags[index] = result.ETag;
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, partCount) }, worker));
      try {
        await this.#withRetry("complete_multipart", key, (abortSignal) =>
          this.#client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
            }),
            { abortSignal },
          ));
      } catch (error) {
        // A completion whose answer was lost makes the retry fail (NoSuchUpload) although the
        // object exists; it is ours if size and SHA-256 match what we uploaded.
        if (await this.#holds(key, body.length, digest)) return;
        throw error;
      }
    } catch (error) {
      // Abort so the parts never become an object; report the original failure.
      const abortNote = await this.#once("abort_multipart", key, (abortSignal) =>
        this.#client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
          { abortSignal },
        )).then(
          () => "upload aborted",
          (abortError) => `abort also failed: ${(abortError as Error).message}`,
        );
      if (error instanceof StorageError) {
        throw new StorageError(error.code, `${error.message} (${abortNote})`, {
          key,
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * Downloads and checks an object (length, single-part MD5 ETag, sha256 metadata when present).
   * Objects larger than one range chunk (50 MiB) come down as parallel ranged GETs pinned to the
   * first answer's ETag, so each request stays within its timeout and a replaced object is
   * noticed. A failed check downloads again, then reports `corrupt`.
   *
   * @param key Object key.
   * @returns The bytes.
   * @throws {StorageError} `not_found`, `corrupt`, `timeout`, `network`, ...
   */
  get(key: string): Promise<Uint8Array> {
    validateKey(key);
    return retry(() => this.#download(key), {
      ...UPLOAD_BACKOFF,
      attempts: this.#attempts,
      clock: this.#clock,
      random: this.#random,
      shouldRetry: (error) => error instanceof StorageError && error.code === "corrupt",
      onRetry: (event) => this.#onRetry?.({ ...event, operation: "download", key }),
    });
  }

  async #download(key: string): Promise<Uint8Array> {
    const chunk = this.#rangeChunkBytes;
    // HEAD first (as the reference does): small objects then come in one plain GET, large ones
    // in ranges; an empty object is never asked for a byte range (S3 answers 416).
    const head = await this.#headWithRetry(key);
    const size = head.ContentLength ?? 0;
    if (size <= chunk) {
      const whole = await this.#withRetry(
        "get",
        key,
        (abortSignal) => this.#fetchRange(key, 0, null, undefined, abortSignal),
      );
      this.#checkIntegrity(key, whole.bytes, whole.totalBytes, whole.etag, whole.metadata);
      return whole.bytes;
    }
    const first = await this.#withRetry(
      "get",
      key,
      (abortSignal) => this.#fetchRange(key, 0, chunk, head.ETag, abortSignal),
    );
    const out = new Uint8Array(first.totalBytes);
    out.set(first.bytes);
    const starts: number[] = [];
    for (let start = first.bytes.length; start < first.totalBytes; start += chunk) {
      starts.push(start);
    }
    let next = 0;
    const worker = async () => {
      while (next < starts.length) {
        const start = starts[next++];
        const expected = Math.min(chunk, first.totalBytes - start);
        const range = await this.#withRetry(
          `get bytes ${start}+${expected}`,
          key,
          (abortSignal) => this.#fetchRange(key, start, expected, first.etag, abortSignal),
        );
        if (range.bytes.length !== expected || range.totalBytes !== first.totalBytes) {
          throw new StorageError(
            "corrupt",
            `Object ${
              JSON.stringify(key)
            } changed size during download (range at ${start}: ${range.bytes.length} of ${expected} bytes, total ${range.totalBytes} vs ${first.totalBytes})`,
            { key },
          );
        }
        out.set(range.bytes, start);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.#rangeConcurrency, starts.length) }, worker),
    );
    this.#checkIntegrity(key, out, first.totalBytes, first.etag, first.metadata);
    return out;
  }

  /** One GET of `length` bytes from `start`; `length` null fetches the whole object. */
  async #fetchRange(
    key: string,
    start: number,
    length: number | null,
    ifMatch: string | undefined,
    abortSignal: AbortSignal,
  ): Promise<{
    bytes: Uint8Array;
    totalBytes: number;
    etag: string | undefined;
    metadata: Record<string, string> | undefined;
  }> {
    const response = await this.#client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: length === null ? undefined : `bytes=${start}-${start + length - 1}`,
        IfMatch: ifMatch,
      }),
      { abortSignal },
    );
    if (response.Body === undefined) {
      throw new StorageError("server", `get ${JSON.stringify(key)} returned no body`, { key });
    }
    const bytes = await response.Body.transformToByteArray();
    if (response.ContentLength !== undefined && response.ContentLength !== bytes.length) {
      throw new StorageError(
        "corrupt",
        `Object ${
          JSON.stringify(key)
        }: received ${bytes.length} bytes but Content-Length is ${response.ContentLength}`,
        { key },
      );
    }
    const total = response.ContentRange?.match(/\/(\d+)$/)?.[1];
    if (total === undefined && length !== null) {
      throw new StorageError(
        "server",
        `get ${JSON.stringify(key)}: the server ignored a Range request at byte ${start}`,
        { key },
      );
    }
    return {
      bytes,
      totalBytes: total === undefined ? bytes.length : Number(total),
      etag: response.ETag,
      metadata: response.Metadata,
    };
  }

  #checkIntegrity(
    key: string,
    bytes: Uint8Array,
    contentLength: number | undefined,
    etag: string | undefined,
    metadata: Record<string, string> | undefined,
  ): void {
    const fail = (what: string) => {
      throw new StorageError(
        "corrupt",
        `Object ${JSON.stringify(key)} in bucket ${this.bucket} is corrupt: ${what}; not using it`,
        { key },
      );
    };
    if (contentLength !== undefined && contentLength !== bytes.length) {
      fail(`received ${bytes.length} bytes but Content-Length is ${contentLength}`);
    }
    // S3, R2 and MinIO always send an ETag for a committed object; a body without one is not an
    // object we can vouch for (s3rver serves a torn upload that way).
    if (etag === undefined || etag === "") fail("the server sent no ETag");
    const plainEtag = etag!.replaceAll('"', "").toLowerCase();
    if (/^[0-9a-f]{32}$/.test(plainEtag)) {
      const actual = bytesToHex(md5(bytes));
      if (actual !== plainEtag) fail(`MD5 ${actual} does not match ETag ${plainEtag}`);
    }
    const expected = metadata?.[SHA256_METADATA_KEY]?.toLowerCase();
    if (expected !== undefined) {
      const actual = bytesToHex(sha256(bytes));
      if (actual !== expected) fail(`SHA-256 ${actual} does not match the uploaded ${expected}`);
    }
  }

  /**
   * Reads an object's size and modification time.
   *
   * @param key Object key.
   * @returns Size and LastModified (whole seconds), or `null` when absent.
   * @throws {StorageError} For failures other than absence.
   */
  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const response = await this.#headWithRetry(key);
      return {
        key,
        sizeBytes: response.ContentLength ?? 0,
        lastModified: floorToSecond(response.LastModified ?? new Date(0)),
      };
    } catch (error) {
      if (error instanceof StorageError && error.code === "not_found") return null;
      throw error;
    }
  }

  /**
   * Lists every object under a prefix, following continuation tokens.
   *
   * @param prefix Key prefix.
   * @returns Objects sorted by key.
   * @throws {StorageError} After retries of a page.
   */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    // ListObjects (v1) with Marker = last key seen: supported by S3, R2, MinIO and s3rver alike
    // (s3rver's v2 continuation tokens need a DES cipher that Deno's node:crypto lacks).
    let marker: string | undefined;
    for (;;) {
      const page = await this.#withRetry("list", prefix, (abortSignal) =>
        this.#client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            Marker: marker,
            MaxKeys: this.#listPageSize,
          }),
          { abortSignal },
        ));
      const contents = page.Contents ?? [];
      for (const item of contents) {
        if (item.Key === undefined) continue;
        found.push({
          key: item.Key,
          sizeBytes: item.Size ?? 0,
          lastModified: floorToSecond(item.LastModified ?? new Date(0)),
        });
      }
      const last = contents.at(-1)?.Key;
      if (!page.IsTruncated || last === undefined || last === marker) break;
      marker = last;
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Removes an object.
   *
   * @param key Object key; deleting an absent key succeeds.
   * @throws {StorageError} For failures other than absence.
   */
  async delete(key: string): Promise<void> {
    validateKey(key);
    try {
      await this.#withRetry(
        "delete",
        key,
        (abortSignal) =>
          this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), {
            abortSignal,
          }),
      );
    } catch (error) {
      if (error instanceof StorageError && error.code === "not_found") return;
      throw error;
    }
  }
}
