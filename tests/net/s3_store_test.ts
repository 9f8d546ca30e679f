// Integration tests against a real S3 server (npm:s3rver) on 127.0.0.1, with faults injected by
// a loopback TCP proxy. No sleeps: timeouts and backoff run on a manual clock.
import { assert, assertEquals, assertRejects, assertRejectsWithCode } from "./_assert.ts";
import {
  AccessKey,
  decodeCommitment,
  encodeCommitment,
  storageCredentialsFromEnv,
} from "../../src/net/credentials.ts";
import { windowFileKey } from "../../src/net/storage.ts";
import { StorageError } from "../../src/net/errors.ts";
import {
  referencePartSizeBytes,
  S3Store,
  type S3StoreOptions,
  type StorageRetryEvent,
} from "../../src/net/s3_store.ts";
import { objectStoreContract } from "./_object_store_contract.ts";
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY,
  S3RVER_SECRET,
  s3rverStore,
  startS3rver,
} from "./_s3rver.ts";
import { type Fault, FaultProxy } from "./_fault_proxy.ts";
import { ManualClock } from "./_manual_clock.ts";
import { md5 } from "@noble/hashes/legacy.js";
import { bytesToHex } from "@noble/hashes/utils.js";

const MIB = 1024 * 1024;
const KEY = new AccessKey(S3RVER_ACCESS_KEY, S3RVER_SECRET);

async function withS3(body: (s3: RunningS3rver, direct: S3Store) => Promise<void>): Promise<void> {
  const s3 = await startS3rver();
  const direct = s3rverStore(s3);
  try {
    await body(s3, direct);
  } finally {
    direct.close();
    await s3.close();
  }
}

/** A store talking to s3rver through a fault proxy, on a manual clock (backoff waits under 5 s are instant; timeouts wait for advance()). */
async function withFaults(
  plan: (connectionIndex: number) => Fault,
  body: (
    ctx: {
      s3: RunningS3rver;
      direct: S3Store;
      faulty: S3Store;
      proxy: FaultProxy;
      clock: ManualClock;
      retries: StorageRetryEvent[];
    },
  ) => Promise<void>,
  options: Partial<S3StoreOptions> = {},
): Promise<void> {
  await withS3(async (s3, direct) => {
    const proxy = FaultProxy.start(s3.port, plan);
    const clock = new ManualClock(Date.now(), 5_000);
    const retries: StorageRetryEvent[] = [];
    const faulty = s3rverStore(s3, {
      ...options,
      endpoint: proxy.url,
      clock,
      onRetry: (e) => retries.push(e),
    });
    try {
      await body({ s3, direct, faulty, proxy, clock, retries });
    } finally {
      faulty.close();
      await proxy.close();
    }
  });
}

const pattern = (sizeBytes: number, seed = 1) =>
  new Uint8Array(sizeBytes).map((_, i) => (i * 31 + seed) % 256);

objectStoreContract("S3Store", (body) => withS3((_, store) => body(store)));

Deno.test("S3Store.put() uses multipart above the threshold and the object reads back whole", () =>
  withS3(async (s3) => {
    const store = s3rverStore(s3, {
      multipartThresholdBytes: 6 * MIB,
      partSizeBytes: 5 * MIB,
      partConcurrency: 2,
    });
    try {
      const body = pattern(11 * MIB + 123);
      await store.put("grail/checkpoints/big.bin", body);
      const info = await store.head("grail/checkpoints/big.bin");
      assertEquals(info?.sizeBytes, body.length);
      assertEquals(await store.get("grail/checkpoints/big.bin"), body);
    } finally {
      store.close();
    }
  }));

Deno.test("S3Store.put() without staging uploads with one plain PUT", () =>
  withS3(async (s3) => {
    const store = s3rverStore(s3, { stagedUploads: false });
    try {
      await store.put("plain.bin", pattern(1000));
      assertEquals(await store.get("plain.bin"), pattern(1000));
      assertEquals((await store.list("")).map((i) => i.key), ["plain.bin"]);
    } finally {
      store.close();
    }
  }));

Deno.test("S3Store.put() with staging leaves only the final object", () =>
  withS3(async (_, direct) => {
    await direct.put("final.bin", pattern(1000));
    assertEquals((await direct.list("")).map((i) => i.key), ["final.bin"]);
  }));

Deno.test("S3Store.get() downloads a large object in ranged parts and checks it whole", () =>
  withS3(async (s3, direct) => {
    const body = pattern(3 * MIB + 17, 5);
    await direct.put("ranged.bin", body);
    const ranged = s3rverStore(s3, { rangeChunkBytes: MIB, rangeConcurrency: 3 });
    try {
      assertEquals(await ranged.get("ranged.bin"), body);
    } finally {
      ranged.close();
    }
  }));

Deno.test("S3Store.put() copies staged keys with spaces and non-ASCII characters intact", () =>
  withS3(async (_, direct) => {
    const key = "grail/a b/é+x=1&y.bin";
    await direct.put(key, new Uint8Array([1, 2, 3]));
    assertEquals(await direct.get(key), new Uint8Array([1, 2, 3]));
    assertEquals((await direct.list("grail/")).map((i) => i.key), [key]);
  }));

Deno.test("S3Store.list() follows continuation tokens across pages", () =>
  withS3(async (s3, direct) => {
    const keys = ["p/1", "p/2", "p/3", "p/4", "p/5"];
    for (const key of keys) await direct.put(key, new Uint8Array([1]));
    const paged = s3rverStore(s3, { listPageSize: 2 });
    try {
      assertEquals((await paged.list("p/")).map((i) => i.key), keys);
    } finally {
      paged.close();
    }
  }));

Deno.test("S3Store rejects wrong credentials as access_denied without retrying", () =>
  withS3(async (s3) => {
    const retries: StorageRetryEvent[] = [];
    const store = s3rverStore(s3, {
      credentials: new AccessKey("WRONGKEY", "nope"),
      onRetry: (e) => retries.push(e),
    });
    try {
      await assertRejectsWithCode(
        () => store.put("k", new Uint8Array(1)),
        StorageError,
        "access_denied",
      );
      assertEquals(retries.length, 0);
    } finally {
      store.close();
    }
  }));

Deno.test("S3Store.forCommitment() addresses the account's bucket with the committed read key", () => {
  const store = S3Store.forCommitment(
    { accountId: "grail-test-bucket", read: KEY },
    { endpoint: "http://127.0.0.1:1", forcePathStyle: true },
  );
  assertEquals(store.bucket, "grail-test-bucket");
  store.close();
});

Deno.test("referencePartSizeBytes() follows the reference's 50 MiB / 500 MiB rule", () => {
  assertEquals(referencePartSizeBytes(60 * MIB), 50 * MIB);
  assertEquals(referencePartSizeBytes(500 * MIB), 50 * MIB);
  assertEquals(referencePartSizeBytes(501 * MIB), 500 * MIB);
});

// ---- faults ----

Deno.test("S3Store.put() retries after the server dies mid-upload and the object is whole", () =>
  withFaults(
    (i) => (i === 0 ? { kind: "cut_request", afterBytes: 200_000 } : { kind: "pass" }),
    async ({ direct, faulty, proxy, retries }) => {
      const body = pattern(MIB);
      await faulty.put("grail/windows/hk-window-60.parquet", body);
      assertEquals(proxy.fired, ["cut_request"]);
      assertEquals(retries.map((r) => [r.operation, r.attempt]), [["put", 1]]);
      assertEquals((retries[0].error as StorageError).code, "network");
      assertEquals(await direct.get("grail/windows/hk-window-60.parquet"), body);
    },
  ));

Deno.test("S3Store.put() that dies mid-upload on every attempt leaves no object", () =>
  withFaults(
    () => ({ kind: "cut_request", afterBytes: 200_000 }),
    async ({ direct, faulty, retries, clock }) => {
      await assertRejectsWithCode(
        () => faulty.put("grail/windows/hk-window-90.parquet", pattern(MIB)),
        StorageError,
        "network",
      );
      assertEquals(retries.length, 2);
      // Backoff 1 s then 2 s, each ±25 % (infra spec §4.1).
      const waits = clock.requested.filter((ms) => ms < 5_000);
      assert(
        waits[0] >= 750 && waits[0] <= 1250 && waits[1] >= 1500 && waits[1] <= 2500,
        `${waits}`,
      );
      // s3rver commits a truncated PUT body as an object; staging keeps it off the final key.
      assertEquals(await direct.head("grail/windows/hk-window-90.parquet"), null);
      assertEquals(await direct.list(""), []);
    },
  ));

Deno.test("S3Store.put() that dies mid-overwrite leaves the old object intact", () =>
  withFaults(() => ({ kind: "cut_request", afterBytes: 300_000 }), async ({ direct, faulty }) => {
    const old = pattern(MIB, 1);
    await direct.put("obj", old);
    await assertRejects(() => faulty.put("obj", pattern(MIB, 2)));
    assertEquals(await direct.get("obj"), old);
  }));

Deno.test("S3Store.put() multipart that dies mid-part aborts and leaves no object", () =>
  withFaults(
    // One connection per request here: create and part 1 pass; part 2 dies on every attempt.
    (i) => (i < 2 ? { kind: "pass" } : { kind: "cut_request", afterBytes: MIB }),
    async ({ direct, faulty, proxy }) => {
      const error = await assertRejectsWithCode(
        () => faulty.put("grail/checkpoints/c.bin", pattern(11 * MIB)),
        StorageError,
        "network",
      );
      assert(error.message.includes("upload_part 2/3"), error.message);
      // s3rver does not implement AbortMultipartUpload (MethodNotAllowed); S3/R2 do. The parts
      // never become an object either way.
      assert(/upload aborted|abort also failed/.test(error.message), error.message);
      assertEquals(proxy.fired.length, 3);
      assertEquals(await direct.head("grail/checkpoints/c.bin"), null);
    },
    { multipartThresholdBytes: 6 * MIB, partSizeBytes: 5 * MIB, partConcurrency: 1 },
  ));

Deno.test("S3Store.get() detects an object whose stored bytes were altered", () =>
  withS3(async (s3, direct) => {
    await direct.put("grail/windows/x.parquet", pattern(4096));
    const path = s3.objectPath("grail/windows/x.parquet");
    const stored = await Deno.readFile(path);
    stored[100] ^= 0xff;
    await Deno.writeFile(path, stored);
    const error = await assertRejectsWithCode(
      () => direct.get("grail/windows/x.parquet"),
      StorageError,
      "corrupt",
    );
    assert(error.message.includes("MD5"), error.message);
  }));

Deno.test("S3Store.get() detects an altered multipart object through its SHA-256", () =>
  withS3(async (s3) => {
    const store = s3rverStore(s3, { multipartThresholdBytes: 6 * MIB, partSizeBytes: 5 * MIB });
    try {
      await store.put("m.bin", pattern(6 * MIB));
      const path = s3.objectPath("m.bin");
      const stored = await Deno.readFile(path);
      stored[stored.length - 1] ^= 1;
      await Deno.writeFile(path, stored);
      // Make the server's own MD5 ETag agree with the altered bytes: only our SHA-256 remains.
      await Deno.writeTextFile(`${path}.md5`, bytesToHex(md5(stored)));
      const error = await assertRejectsWithCode(() => store.get("m.bin"), StorageError, "corrupt");
      assert(error.message.includes("SHA-256"), error.message);
    } finally {
      store.close();
    }
  }));

Deno.test("S3Store.get() retries a ranged part whose response is cut and returns the whole object", () =>
  withFaults(
    () => ({
      kind: "cut_response_after_request",
      requestLine: /^range: bytes=1048576-/i,
      afterBytes: 1000,
      once: true,
    }),
    async ({ direct, faulty, proxy, retries }) => {
      const body = pattern(3 * MIB, 9);
      await direct.put("ranged-fault.bin", body);
      assertEquals(await faulty.get("ranged-fault.bin"), body);
      assertEquals(proxy.fired, ["cut_response"]);
      assertEquals(retries.map((r) => r.operation), ["get bytes 1048576+1048576"]);
    },
    { rangeChunkBytes: MIB, rangeConcurrency: 1 },
  ));

Deno.test("S3Store.get() refuses a response cut short by the network", () =>
  withFaults(() => ({ kind: "cut_response", afterBytes: 20_000 }), async ({ direct, faulty }) => {
    await direct.put("r.bin", pattern(200_000));
    const error = await assertRejects(() => faulty.get("r.bin"));
    assert(
      error instanceof StorageError && (error.code === "network" || error.code === "corrupt"),
      String(error),
    );
  }));

Deno.test("S3Store.get() times out on a server that never answers", () => {
  let clockRef: ManualClock | undefined;
  return withFaults(
    () => ({ kind: "stall", onStall: () => clockRef!.advance(90_000) }),
    async ({ faulty, proxy, clock }) => {
      clockRef = clock;
      const error = await assertRejectsWithCode(() => faulty.get("any"), StorageError, "timeout");
      // get() starts with the 6 s discovery HEAD; the stalled server never answers it.
      assert(error.message.includes("head") && error.message.includes("6000 ms"), error.message);
      assertEquals(proxy.fired, ["stall", "stall", "stall"]);
    },
  );
});

Deno.test("S3Store.head() gives up after the 6 s discovery timeout", () => {
  let clockRef: ManualClock | undefined;
  return withFaults(
    () => ({ kind: "stall", onStall: () => clockRef!.advance(6_000) }),
    async ({ faulty, clock }) => {
      clockRef = clock;
      const error = await assertRejectsWithCode(
        () => faulty.head("grail/windows/x"),
        StorageError,
        "timeout",
      );
      assert(error.message.includes("6000 ms"), error.message);
    },
  );
});

Deno.test("S3Store: env credentials write, the 128-char commitment lets a reader fetch", () =>
  withS3(async (s3) => {
    const env = {
      R2_ACCOUNT_ID: s3.bucket,
      R2_BUCKET_ID: s3.bucket,
      R2_WRITE_ACCESS_KEY_ID: S3RVER_ACCESS_KEY,
      R2_WRITE_SECRET_ACCESS_KEY: S3RVER_SECRET,
      R2_READ_ACCESS_KEY_ID: S3RVER_ACCESS_KEY,
      R2_READ_SECRET_ACCESS_KEY: S3RVER_SECRET,
      R2_ENDPOINT_URL: s3.endpoint,
      R2_FORCE_PATH_STYLE: "true",
    };
    const credentials = storageCredentialsFromEnv(env);
    const writer = S3Store.forOwnBucket(credentials, "write");
    const commitment = encodeCommitment({
      accountId: credentials.accountId,
      read: credentials.read,
    });
    const reader = S3Store.forCommitment(decodeCommitment(commitment), {
      endpoint: s3.endpoint,
      forcePathStyle: true,
    });
    try {
      const key = windowFileKey("5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX", 990);
      await writer.put(key, pattern(5000));
      assertEquals(await reader.get(key), pattern(5000));
      assertEquals((await reader.head(key))?.sizeBytes, 5000);
    } finally {
      writer.close();
      reader.close();
    }
  }));

Deno.test("S3Store.put() multipart whose completion answer is lost still succeeds once", () =>
  withFaults(
    // CompleteMultipartUpload is "POST <key>?uploadId=…"; its answer is cut after 5 bytes.
    () => ({
      kind: "cut_response_after_request",
      requestLine: /^POST .*uploadId=/,
      afterBytes: 5,
      once: true,
    }),
    async ({ direct, faulty, proxy, retries }) => {
      const body = pattern(11 * MIB, 3);
      await faulty.put("grail/checkpoints/done.bin", body);
      assertEquals(proxy.fired, ["cut_response"]);
      // The retried completion fails (s3rver: 500, R2: NoSuchUpload); the HEAD check then
      // finds our object by size and SHA-256.
      assert(retries.length >= 1 && retries.every((r) => r.operation === "complete_multipart"));
      assertEquals(await direct.get("grail/checkpoints/done.bin"), body);
    },
    { multipartThresholdBytes: 6 * MIB, partSizeBytes: 5 * MIB, partConcurrency: 1 },
  ));
