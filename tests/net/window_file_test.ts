// Golden data: ../shared/fixtures/window/qwen3-tiny-window.parquet, written by the reference's
// own serializer (PyArrow 25, zstd level 1) from qwen3-tiny-window.json. Every comparison is
// exact: ints and strings must be identical, float32 log-probs widen to float64 exactly, and the
// JSON texts are what Python's json.dumps wrote.
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import * as A from "apache-arrow";
import {
  Compression,
  ParquetFile,
  readParquet,
  Table as WasmTable,
  writeParquet,
} from "parquet-wasm";
import { WINDOW_FIELDS } from "../../src/net/_window_arrow.ts";
import { FolderStore } from "../../src/net/folder_store.ts";
import { windowFileKey } from "../../src/net/storage.ts";
import {
  decodeWindowFile,
  encodeWindowFile,
  getWindowFile,
  putWindowFile,
  readWindowFile,
  type WindowFileInput,
  writeWindowFile,
} from "../../src/net/window_file.ts";
import { WindowFileError } from "../../src/net/window_file_error.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";
import { s3rverStore, startS3rver } from "./_s3rver.ts";

const FIXTURE_DIR = new URL("../../../shared/fixtures/window/", import.meta.url);
const fixtureBytes = await Deno.readFile(new URL("qwen3-tiny-window.parquet", FIXTURE_DIR));
const fixtureJson = JSON.parse(
  await Deno.readTextFile(new URL("qwen3-tiny-window.json", FIXTURE_DIR)),
) as {
  wallet: string;
  window_start: number;
  window_length: number;
  timestamp: number;
  inferences: Rollout[];
};

const fixtureInput = (): WindowFileInput => ({
  wallet: fixtureJson.wallet,
  windowStart: fixtureJson.window_start,
  windowLength: fixtureJson.window_length,
  timestamp: fixtureJson.timestamp,
  rollouts: structuredClone(fixtureJson.inferences),
});

function arrowTable(bytes: Uint8Array): A.Table {
  return A.tableFromIPC(readParquet(bytes).intoIPCStream());
}

/** Expect a WindowFileError with this code (and field, when given). */
function throwsWindowFileError(fn: () => unknown, code: string, field?: string): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof WindowFileError, `expected WindowFileError, got ${e}`);
    strictEqual(e.code, code, e.message);
    if (field !== undefined) strictEqual(e.field, field, e.message);
    return true;
  });
}

/** A Parquet file with the window schema whose rows are given column by column (raw values). */
function writeRaw(rows: Record<string, unknown>[], metadata: Map<string, string>): Uint8Array {
  const vectors: Record<string, A.Vector> = {};
  for (const f of WINDOW_FIELDS) {
    vectors[f.name] = A.vectorFromArray(rows.map((r) => r[f.name] ?? null), f.type);
  }
  const table = new A.Table(new A.Schema([...WINDOW_FIELDS], metadata), vectors);
  return writeParquet(WasmTable.fromIPCStream(A.tableToIPC(table, "stream")));
}

function rawRow(r: Rollout): Record<string, unknown> {
  const c = r.commit;
  return {
    ...r,
    window_start: BigInt(r.window_start),
    block: BigInt(r.block),
    nonce: BigInt(r.nonce),
    rollout_group: BigInt(r.rollout_group),
    checkpoint_window: BigInt(r.checkpoint_window),
    commit: { ...c, commitments: JSON.stringify(c.commitments), beacon: JSON.stringify(c.beacon) },
  };
}

const META = new Map([
  ["wallet", fixtureJson.wallet],
  ["window_start", "7200"],
  ["window_length", "30"],
  ["inference_count", "3"],
  ["timestamp", "1764000001.25"],
]);

Deno.test("decodeWindowFile() reads the reference's file back exactly to its JSON", () => {
  const window = decodeWindowFile(fixtureBytes, "qwen3-tiny-window.parquet");
  strictEqual(window.wallet, fixtureJson.wallet);
  strictEqual(window.windowStart, 7200);
  strictEqual(window.windowLength, 30);
  strictEqual(window.inferenceCount, 3);
  strictEqual(window.timestamp, 1764000001.25);
  deepStrictEqual(window.rollouts, fixtureJson.inferences);
});

Deno.test("decodeWindowFile() widens float32 log-probs exactly", () => {
  const window = decodeWindowFile(fixtureBytes);
  const lps = window.rollouts.flatMap((r) => r.commit.rollout.token_logprobs);
  ok(lps.length > 200);
  for (const lp of lps) strictEqual(Math.fround(lp), lp);
});

Deno.test("encodeWindowFile() round-trips the reference's rollouts exactly", () => {
  const back = decodeWindowFile(encodeWindowFile(fixtureInput()));
  deepStrictEqual(back.rollouts, fixtureJson.inferences);
  strictEqual(back.wallet, fixtureJson.wallet);
  strictEqual(back.timestamp, 1764000001.25);
});

Deno.test("encodeWindowFile() writes the reference's Arrow schema", () => {
  const ours = arrowTable(encodeWindowFile(fixtureInput())).schema;
  const reference = arrowTable(fixtureBytes).schema;
  deepStrictEqual(
    ours.fields.map((f) => `${f.name}: ${f.type} nullable=${f.nullable}`),
    reference.fields.map((f) => `${f.name}: ${f.type} nullable=${f.nullable}`),
  );
  // List element names ("element") matter to PyArrow's schema equality.
  const listNames = (s: A.Schema) => {
    const commit = s.fields[10].type as A.Struct;
    const rollout = commit.children[6].type as A.Struct;
    return [commit.children[0].type.children[0].name, rollout.children[3].type.children[0].name];
  };
  deepStrictEqual(listNames(ours), listNames(reference));
});

Deno.test("encodeWindowFile() writes the reference's file metadata", () => {
  const ours = arrowTable(encodeWindowFile(fixtureInput())).schema.metadata;
  const reference = arrowTable(fixtureBytes).schema.metadata;
  deepStrictEqual(new Map([...ours].sort()), new Map([...reference].sort()));
});

Deno.test("encodeWindowFile() writes commitments and beacon as Python's json.dumps did", () => {
  const text = (bytes: Uint8Array) => {
    const commit = arrowTable(bytes).getChild("commit")!;
    const out: string[] = [];
    for (let i = 0; i < commit.length; i++) {
      out.push(commit.getChild("commitments")!.get(i), commit.getChild("beacon")!.get(i));
    }
    return out;
  };
  deepStrictEqual(text(encodeWindowFile(fixtureInput())), text(fixtureBytes));
});

Deno.test("encodeWindowFile() compresses every column chunk with zstd", async () => {
  const bytes = encodeWindowFile(fixtureInput());
  const file = await ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  try {
    const columns = file.metadata().rowGroup(0).columns();
    strictEqual(columns.length, 27); // leaf columns of the reference schema
    deepStrictEqual(new Set(columns.map((c) => c.compression())), new Set([Compression.ZSTD]));
  } finally {
    file.free();
  }
});

Deno.test("encodeWindowFile() writes the timestamp as Python str(float)", () => {
  const input = { ...fixtureInput(), timestamp: 1764000001 };
  strictEqual(arrowTable(encodeWindowFile(input)).schema.metadata.get("timestamp"), "1764000001.0");
});

Deno.test("encodeWindowFile() writes an empty window", () => {
  const back = decodeWindowFile(
    encodeWindowFile({ wallet: "5Hot", windowStart: 60, timestamp: 0.5, rollouts: [] }),
  );
  deepStrictEqual(back, {
    wallet: "5Hot",
    windowStart: 60,
    windowLength: 30,
    inferenceCount: 0,
    timestamp: 0.5,
    rollouts: [],
  });
});

Deno.test("encodeWindowFile() refuses a token id beyond int32, naming row and field", () => {
  const input = fixtureInput();
  (input.rollouts as Rollout[])[1].commit.tokens[4] = 2 ** 31;
  throwsWindowFileError(() => encodeWindowFile(input), "bad_input", "commit.tokens[4]");
});

Deno.test("encodeWindowFile() refuses a beacon value JSON cannot hold, naming row and field", () => {
  const input = fixtureInput();
  (input.rollouts as Rollout[])[2].commit.beacon.round = undefined;
  throwsWindowFileError(() => encodeWindowFile(input), "bad_input", "commit.beacon");
});

Deno.test("encodeWindowFile() refuses a sketch beyond 2^53 given as a number", () => {
  const input = fixtureInput();
  (input.rollouts as Rollout[])[0].commit.commitments[3].sketch = 2 ** 60;
  throwsWindowFileError(() => encodeWindowFile(input), "bad_input", "commit.commitments");
});

Deno.test("decodeWindowFile() refuses a file under 12 bytes", () => {
  throwsWindowFileError(() => decodeWindowFile(new Uint8Array(11), "w.parquet"), "too_small");
});

Deno.test("decodeWindowFile() refuses bytes without the Parquet magic", () => {
  const bytes = fixtureBytes.slice();
  bytes.set([0x58, 0x58, 0x58, 0x58], bytes.length - 4);
  throwsWindowFileError(() => decodeWindowFile(bytes), "corrupt");
});

Deno.test("decodeWindowFile() refuses a truncated file", () => {
  throwsWindowFileError(() => decodeWindowFile(fixtureBytes.subarray(0, 9000)), "corrupt");
});

Deno.test("decodeWindowFile() refuses a null rollout_group as the reference does", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  rows[2].rollout_group = null;
  throwsWindowFileError(
    () => decodeWindowFile(writeRaw(rows, META)),
    "null_value",
    "rollout_group",
  );
});

Deno.test("decodeWindowFile() refuses commitments that are not JSON, naming the field", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  (rows[1].commit as Record<string, unknown>).commitments = "[{'sketch': 1}]";
  throwsWindowFileError(
    () => decodeWindowFile(writeRaw(rows, META)),
    "bad_json",
    "commit.commitments",
  );
});

Deno.test("decodeWindowFile() keeps a commitment integer beyond 2^53 exact, as json.loads does", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  const commit = rows[0].commit as Record<string, unknown>;
  commit.commitments = (commit.commitments as string).replace(
    /^\[\{"sketch": ?\d+\}/,
    '[{"sketch": 99999999999999999999}',
  );
  const file = decodeWindowFile(writeRaw(rows, META), "w.parquet", { validateRows: false });
  strictEqual(file.rollouts[0].commit.commitments[0].sketch as unknown, 99999999999999999999n);
});

Deno.test("decodeWindowFile() refuses a commitment integer beyond 2^53, naming its path", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  const commit = rows[0].commit as Record<string, unknown>;
  commit.commitments = (commit.commitments as string).replace(
    /^\[\{"sketch": ?\d+\}/,
    '[{"sketch": 99999999999999999999}',
  );
  throwsWindowFileError(
    () => decodeWindowFile(writeRaw(rows, META)),
    "bad_value",
    "commit.commitments[0].sketch",
  );
});

Deno.test("decodeWindowFile() refuses a null nested field, naming its path", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  const commit = rows[0].commit as Record<string, unknown>;
  commit.rollout = { ...(commit.rollout as object), token_logprobs: null };
  throwsWindowFileError(
    () => decodeWindowFile(writeRaw(rows, META)),
    "null_value",
    "commit.rollout.token_logprobs",
  );
});

Deno.test("decodeWindowFile() refuses a row that parseRollout refuses", () => {
  const rows = fixtureJson.inferences.map(rawRow);
  rows[0].block_hash = "5e5e";
  throwsWindowFileError(() => decodeWindowFile(writeRaw(rows, META)), "bad_value", "block_hash");
});

Deno.test("decodeWindowFile() refuses a file without wallet metadata", () => {
  const meta = new Map(META);
  meta.delete("wallet");
  const bytes = writeRaw(fixtureJson.inferences.map(rawRow), meta);
  throwsWindowFileError(() => decodeWindowFile(bytes), "bad_metadata", "wallet");
});

Deno.test("writeWindowFile() writes atomically and readWindowFile() reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.parquet`;
    await writeWindowFile(path, fixtureInput());
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names, ["w.parquet"]);
    deepStrictEqual((await readWindowFile(path)).rollouts, fixtureJson.inferences);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readWindowFile() reports a missing file as not_found", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const error = await readWindowFile(`${dir}/none.parquet`).catch((e) => e);
    ok(error instanceof WindowFileError && error.code === "not_found");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function withStore(fn: (store: FolderStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(new FolderStore(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("putWindowFile() stores under the reference key and getWindowFile() reads it", async () => {
  await withStore(async (store) => {
    const key = await putWindowFile(store, fixtureInput());
    strictEqual(key, windowFileKey(fixtureJson.wallet, 7200));
    const back = await getWindowFile(store, fixtureJson.wallet, 7200);
    deepStrictEqual(back.rollouts, fixtureJson.inferences);
  });
});

Deno.test("getWindowFile() prefers the gzipped object, as the reference's reader does", async () => {
  await withStore(async (store) => {
    const key = windowFileKey(fixtureJson.wallet, 7200);
    const gz = new Uint8Array(
      await new Response(
        new Blob([fixtureBytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
          new CompressionStream("gzip"),
        ),
      ).arrayBuffer(),
    );
    await store.put(`${key}.gz`, gz);
    await store.put(key, new Uint8Array(20)); // not Parquet: must not be read
    const back = await getWindowFile(store, fixtureJson.wallet, 7200);
    deepStrictEqual(back.rollouts, fixtureJson.inferences);
  });
});

Deno.test("getWindowFile() reports an absent window as not_found", async () => {
  await withStore(async (store) => {
    const error = await getWindowFile(store, "5Nobody", 30).catch((e) => e);
    ok(error instanceof WindowFileError && error.code === "not_found", String(error));
  });
});

Deno.test("getWindowFile() reads back a window file put to S3", async () => {
  const s3 = await startS3rver();
  const store = s3rverStore(s3);
  try {
    const fixture = JSON.parse(
      await Deno.readTextFile(
        new URL("qwen3-tiny-window.json", FIXTURE_DIR),
      ),
    );
    await putWindowFile(store, {
      wallet: fixture.wallet,
      windowStart: 7200,
      timestamp: fixture.timestamp,
      rollouts: fixture.inferences,
    });
    const back = await getWindowFile(store, fixture.wallet, 7200);
    deepStrictEqual(back.rollouts, fixture.inferences);
  } finally {
    store.close();
    await s3.close();
  }
});
