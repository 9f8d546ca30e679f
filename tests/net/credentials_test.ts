import { assert, assertEquals } from "./_assert.ts";
import {
  AccessKey,
  COMMITMENT_LENGTH,
  decodeCommitment,
  encodeCommitment,
  r2Endpoint,
  storageCredentialsFromEnv,
} from "../../src/net/credentials.ts";
import { StorageError } from "../../src/net/errors.ts";

// Realistic R2 shapes: 32-hex account id, 32-hex access key id, 64-hex secret (infra spec §3.4).
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const KEY_ID = "fedcba9876543210fedcba9876543210";
const SECRET = "aa".repeat(32);

function throws(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected a throw");
}

Deno.test("encodeCommitment() concatenates full-width fields into 128 characters", () => {
  const text = encodeCommitment({ accountId: ACCOUNT, read: new AccessKey(KEY_ID, SECRET) });
  assertEquals(text, ACCOUNT + KEY_ID + SECRET);
  assertEquals(text.length, COMMITMENT_LENGTH);
});

Deno.test("encodeCommitment() pads short fields with spaces on the right", () => {
  const text = encodeCommitment({ accountId: "acc", read: new AccessKey("kid", "sec") });
  assertEquals(text, "acc" + " ".repeat(29) + "kid" + " ".repeat(29) + "sec" + " ".repeat(61));
});

Deno.test("encodeCommitment() refuses a field the reference would truncate", () => {
  const error = throws(() =>
    encodeCommitment({ accountId: ACCOUNT + "x", read: new AccessKey(KEY_ID, SECRET) })
  );
  assert(error instanceof RangeError);
  assert(error.message.includes("account id"));
});

Deno.test("encodeCommitment() never echoes the secret in its error", () => {
  const error = throws(() =>
    encodeCommitment({ accountId: ACCOUNT, read: new AccessKey(KEY_ID, "bad secret") })
  );
  assert(error instanceof RangeError);
  assert(!error.message.includes("bad secret"));
});

Deno.test("decodeCommitment() splits 32/32/64 and strips the padding", () => {
  const decoded = decodeCommitment("acc".padEnd(32) + "kid".padEnd(32) + "sec".padEnd(64));
  assertEquals(decoded.accountId, "acc");
  assertEquals(decoded.read.accessKeyId, "kid");
  assertEquals(decoded.read.secretAccessKey, "sec");
});

Deno.test("decodeCommitment() accepts the raw UTF-8 bytes of a commitment", () => {
  const bytes = new TextEncoder().encode(ACCOUNT + KEY_ID + SECRET);
  assertEquals(decodeCommitment(bytes).read.secretAccessKey, SECRET);
});

Deno.test("decodeCommitment() rejects any length other than 128", () => {
  const error = throws(() => decodeCommitment(ACCOUNT + KEY_ID + SECRET + " "));
  assert(error instanceof StorageError);
  assertEquals(error.code, "invalid_commitment");
  assert(error.message.includes("129"));
});

Deno.test("decodeCommitment() counts code points like Python's len", () => {
  // 127 ASCII + one 2-byte character = 128 code points but 129 bytes; non-ASCII is refused.
  const error = throws(() => decodeCommitment("é" + "a".repeat(127)));
  assert(error instanceof StorageError);
  assert(error.message.includes("account id"));
});

Deno.test("decodeCommitment() rejects an all-space field", () => {
  const error = throws(() => decodeCommitment(" ".repeat(32) + KEY_ID + SECRET));
  assert(error instanceof StorageError);
  assertEquals(error.code, "invalid_commitment");
});

Deno.test("decodeCommitment() rejects bytes that are not UTF-8", () => {
  const error = throws(() => decodeCommitment(new Uint8Array(128).fill(0xff)));
  assert(error instanceof StorageError);
  assertEquals(error.code, "invalid_commitment");
});

Deno.test("AccessKey keeps its secret out of JSON, strings and inspection", () => {
  const key = new AccessKey(KEY_ID, SECRET);
  assert(!JSON.stringify({ key }).includes(SECRET));
  assert(!String(key).includes(SECRET));
  assert(!Deno.inspect({ nested: key }).includes(SECRET));
  assertEquals(key.secretAccessKey, SECRET);
});

Deno.test("r2Endpoint() builds the account's R2 host", () => {
  assertEquals(r2Endpoint(ACCOUNT), `https://${ACCOUNT}.r2.cloudflarestorage.com`);
});

Deno.test("r2Endpoint() rejects an id that is not a DNS label", () => {
  assert(throws(() => r2Endpoint("evil.com/x")) instanceof RangeError);
});

Deno.test("storageCredentialsFromEnv() reads dual read and write keys", () => {
  const c = storageCredentialsFromEnv({
    R2_ACCOUNT_ID: ACCOUNT,
    R2_BUCKET_ID: ACCOUNT,
    R2_READ_ACCESS_KEY_ID: "r",
    R2_READ_SECRET_ACCESS_KEY: "rs",
    R2_WRITE_ACCESS_KEY_ID: "w",
    R2_WRITE_SECRET_ACCESS_KEY: "ws",
  });
  assertEquals([c.read.accessKeyId, c.write.accessKeyId, c.singleKeyMode], ["r", "w", false]);
  assertEquals([c.region, c.forcePathStyle], ["us-east-1", false]);
});

Deno.test("storageCredentialsFromEnv() reuses the write key in single-key mode", () => {
  const c = storageCredentialsFromEnv({
    R2_ACCOUNT_ID: "acc",
    R2_WRITE_ACCESS_KEY_ID: "w",
    R2_WRITE_SECRET_ACCESS_KEY: "ws",
    R2_ENDPOINT_URL: "http://127.0.0.1:9000",
    R2_FORCE_PATH_STYLE: "true",
  });
  assertEquals([c.read.accessKeyId, c.bucket, c.singleKeyMode], ["w", "acc", true]);
  assertEquals([c.endpoint, c.forcePathStyle], ["http://127.0.0.1:9000", true]);
});

Deno.test("storageCredentialsFromEnv() names every missing variable", () => {
  const error = throws(() => storageCredentialsFromEnv({ R2_READ_ACCESS_KEY_ID: "r" }));
  assert(error instanceof RangeError);
  for (const name of ["R2_ACCOUNT_ID", "R2_WRITE_ACCESS_KEY_ID", "R2_READ_SECRET_ACCESS_KEY"]) {
    assert(error.message.includes(name), `missing ${name} in ${error.message}`);
  }
});
