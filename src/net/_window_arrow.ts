/**
 * The Arrow side of window files: the reference's exact schema (protocol spec §4.5, infra spec
 * §4.3), rollouts → Arrow table, and Arrow table → rollouts with per-field checks.
 *
 * @module
 */

import * as A from "apache-arrow";
import { pythonJsonDumps, pythonJsonLoads, type PythonJsonValue } from "../protocol/python_json.ts";
import type { Rollout } from "../protocol/rollout.ts";
import { WindowFileError } from "./window_file_error.ts";

const field = (name: string, type: A.DataType): A.Field => new A.Field(name, type, true);
const listOf = (type: A.DataType): A.List => new A.List(field("element", type));

/** `commit` struct type, fields in the reference's order. */
const COMMIT_TYPE = new A.Struct([
  field("tokens", listOf(new A.Int32())),
  field("commitments", new A.Utf8()),
  field("proof_version", new A.Utf8()),
  field("model", new A.Struct([field("name", new A.Utf8()), field("layer_index", new A.Int32())])),
  field("signature", new A.Utf8()),
  field("beacon", new A.Utf8()),
  field(
    "rollout",
    new A.Struct([
      field("total_reward", new A.Float64()),
      field("advantage", new A.Float64()),
      field("success", new A.Bool()),
      field("token_logprobs", listOf(new A.Float32())),
      field("prompt_length", new A.Int32()),
      field("completion_length", new A.Int32()),
    ]),
  ),
]);

/** Top-level columns in the reference's order; every field nullable as pyarrow makes them. */
export const WINDOW_FIELDS: readonly A.Field[] = [
  field("window_start", new A.Int64()),
  field("block", new A.Int64()),
  field("nonce", new A.Int64()),
  field("block_hash", new A.Utf8()),
  field("randomness", new A.Utf8()),
  field("use_drand", new A.Bool()),
  field("rollout_group", new A.Int64()),
  field("rollout_index", new A.Int32()),
  field("total_in_group", new A.Int32()),
  field("checkpoint_window", new A.Int64()),
  field("commit", COMMIT_TYPE),
  field("timestamp", new A.Float64()),
  field("challenge", new A.Utf8()),
  field("hotkey", new A.Utf8()),
  field("signature", new A.Utf8()),
];

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function int32(value: number, path: string, row: number): number {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new WindowFileError(
      "bad_input",
      `Cannot write rollout ${row}: ${path} = ${value} is not an int32; the reference's schema ` +
        `stores it as int32`,
      { field: path, row },
    );
  }
  return value;
}

// Python json.dumps default separators (", ", ": "): the reference's exact text.
function jsonText(value: unknown, path: string, row: number): string {
  try {
    return pythonJsonDumps(value as PythonJsonValue);
  } catch (cause) {
    throw new WindowFileError(
      "bad_input",
      `Cannot write rollout ${row}: ${path} is not writable as JSON: ${(cause as Error).message}`,
      { field: path, row, cause },
    );
  }
}

function int64(value: number, path: string, row: number): bigint {
  if (!Number.isSafeInteger(value)) {
    throw new WindowFileError(
      "bad_input",
      `Cannot write rollout ${row}: ${path} = ${value} is not a safe integer`,
      { field: path, row },
    );
  }
  return BigInt(value);
}

/**
 * Builds the Arrow table of a window's rollouts with the reference's schema and metadata.
 *
 * @param rollouts Rows in file order.
 * @param metadata Schema metadata (wallet, window_start, ...), in the reference's key order.
 * @returns The table.
 * @throws {WindowFileError} `bad_input` for a value the schema cannot hold.
 */
export function rolloutsToTable(
  rollouts: readonly Rollout[],
  metadata: ReadonlyMap<string, string>,
): A.Table {
  const columns: Record<string, unknown[]> = {};
  for (const f of WINDOW_FIELDS) columns[f.name] = [];
  rollouts.forEach((r, i) => {
    const c = r.commit;
    const ro = c.rollout;
    columns.window_start.push(int64(r.window_start, "window_start", i));
    columns.block.push(int64(r.block, "block", i));
    columns.nonce.push(int64(r.nonce, "nonce", i));
    columns.block_hash.push(r.block_hash);
    columns.randomness.push(r.randomness);
    columns.use_drand.push(r.use_drand);
    columns.rollout_group.push(int64(r.rollout_group, "rollout_group", i));
    columns.rollout_index.push(int32(r.rollout_index, "rollout_index", i));
    columns.total_in_group.push(int32(r.total_in_group, "total_in_group", i));
    columns.checkpoint_window.push(int64(r.checkpoint_window, "checkpoint_window", i));
    columns.commit.push({
      tokens: Int32Array.from(c.tokens, (t, k) => int32(t, `commit.tokens[${k}]`, i)),
      commitments: jsonText(c.commitments, "commit.commitments", i),
      proof_version: c.proof_version,
      model: {
        name: c.model.name,
        layer_index: int32(c.model.layer_index, "commit.model.layer_index", i),
      },
      signature: c.signature,
      beacon: jsonText(c.beacon, "commit.beacon", i),
      rollout: {
        total_reward: ro.total_reward,
        advantage: ro.advantage,
        success: ro.success,
        token_logprobs: Float32Array.from(ro.token_logprobs),
        prompt_length: int32(ro.prompt_length, "commit.rollout.prompt_length", i),
        completion_length: int32(ro.completion_length, "commit.rollout.completion_length", i),
      },
    });
    columns.timestamp.push(r.timestamp);
    columns.challenge.push(r.challenge);
    columns.hotkey.push(r.hotkey);
    columns.signature.push(r.signature);
  });
  const vectors: Record<string, A.Vector> = {};
  for (const f of WINDOW_FIELDS) {
    vectors[f.name] = A.vectorFromArray(columns[f.name], f.type);
  }
  return new A.Table(new A.Schema([...WINDOW_FIELDS], new Map(metadata)), vectors);
}

type Kind = "int" | "float" | "bool" | "string";

interface Ctx {
  file: string;
  row: number;
}

function fail(ctx: Ctx, code: "null_value" | "bad_value" | "bad_json", path: string, msg: string) {
  return new WindowFileError(code, `Cannot read ${ctx.file}: row ${ctx.row} ${path} ${msg}`, {
    file: ctx.file,
    field: path,
    row: ctx.row,
  });
}

function checkType(type: A.DataType, kind: Kind): boolean {
  switch (kind) {
    case "int":
      return A.DataType.isInt(type);
    case "float":
      return A.DataType.isFloat(type) || A.DataType.isInt(type);
    case "bool":
      return A.DataType.isBool(type);
    case "string":
      return A.DataType.isUtf8(type) || A.DataType.isLargeUtf8(type);
  }
}

function child(parent: A.Table | A.Vector, name: string, path: string, file: string): A.Vector {
  const v = parent.getChild(name) as A.Vector | null;
  if (v === null) {
    throw new WindowFileError(
      "bad_schema",
      `Cannot read ${file}: column ${path} is missing; the reference's schema has it`,
      { file, field: path },
    );
  }
  return v;
}

function scalarReader(v: A.Vector, kind: Kind, path: string, file: string) {
  if (!checkType(v.type, kind)) {
    throw new WindowFileError(
      "bad_schema",
      `Cannot read ${file}: column ${path} has Arrow type ${v.type}, expected ${kind}`,
      { file, field: path },
    );
  }
  return (ctx: Ctx): unknown => {
    const x = v.get(ctx.row);
    if (x === null || x === undefined) throw fail(ctx, "null_value", path, "is null");
    if (kind === "int") {
      const n = typeof x === "bigint" ? Number(x) : x as number;
      if (!Number.isSafeInteger(n)) throw fail(ctx, "bad_value", path, `= ${x} is out of range`);
      return n;
    }
    if (kind === "float") return typeof x === "bigint" ? Number(x) : x;
    return x;
  };
}

function listReader(v: A.Vector, kind: "int" | "float", path: string, file: string) {
  const elem = A.DataType.isList(v.type) || A.DataType.isLargeList(v.type)
    ? (v.type as A.List).children[0].type
    : null;
  if (elem === null || !checkType(elem, kind)) {
    throw new WindowFileError(
      "bad_schema",
      `Cannot read ${file}: column ${path} has Arrow type ${v.type}, expected a list of ${kind}`,
      { file, field: path },
    );
  }
  return (ctx: Ctx): number[] => {
    const list = v.get(ctx.row) as A.Vector | null;
    if (list === null || list === undefined) throw fail(ctx, "null_value", path, "is null");
    if (list.nullCount === 0) {
      // Fast path: the whole slice as one typed array (int64 elements come back as bigint).
      const values = list.toArray() as ArrayLike<number | bigint>;
      return Array.from(values, (x) => typeof x === "bigint" ? Number(x) : x);
    }
    const out: number[] = new Array(list.length);
    for (let k = 0; k < list.length; k++) {
      const x = list.get(k);
      if (x === null) throw fail(ctx, "null_value", `${path}[${k}]`, "is null");
      out[k] = typeof x === "bigint" ? Number(x) : x as number;
    }
    return out;
  };
}

function jsonReader(v: A.Vector, path: string, file: string) {
  const read = scalarReader(v, "string", path, file);
  return (ctx: Ctx): unknown => {
    const text = read(ctx) as string;
    try {
      // Integers beyond 2^53 stay exact, as json.loads keeps them: range checks see the true
      // value and the commit digest matches the reference's text.
      return pythonJsonLoads(text);
    } catch (cause) {
      const e = fail(ctx, "bad_json", path, `is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
      (e as { cause?: unknown }).cause = cause;
      throw e;
    }
  };
}

function structGuard(v: A.Vector, path: string, file: string) {
  if (!A.DataType.isStruct(v.type)) {
    throw new WindowFileError(
      "bad_schema",
      `Cannot read ${file}: column ${path} has Arrow type ${v.type}, expected a struct`,
      { file, field: path },
    );
  }
  return (ctx: Ctx): void => {
    if (!v.isValid(ctx.row)) throw fail(ctx, "null_value", path, "is null");
  };
}

/**
 * Reads every row of a window table back into the reference's rollout dicts (types and nulls
 * checked here; value rules are `parseRollout`'s).
 *
 * @param table The table read from Parquet.
 * @param file File name or key, for messages.
 * @returns Rollouts in file order.
 * @throws {WindowFileError} `bad_schema`, `null_value`, `bad_value` or `bad_json`, naming the row
 *   and field.
 */
export function tableToRollouts(table: A.Table, file: string): Rollout[] {
  if (table.numRows === 0) {
    // An empty table has no record batches to take child vectors from; the schema still counts.
    for (const f of WINDOW_FIELDS) {
      if (!table.schema.fields.some((g) => g.name === f.name)) child(table, f.name, f.name, file);
    }
    return [];
  }
  const col = (name: string) => child(table, name, name, file);
  const commit = col("commit");
  const model = child(commit, "model", "commit.model", file);
  const rollout = child(commit, "rollout", "commit.rollout", file);
  const c = (name: string) => child(commit, name, `commit.${name}`, file);
  const m = (name: string) => child(model, name, `commit.model.${name}`, file);
  const r = (name: string) => child(rollout, name, `commit.rollout.${name}`, file);
  const rd = {
    window_start: scalarReader(col("window_start"), "int", "window_start", file),
    block: scalarReader(col("block"), "int", "block", file),
    nonce: scalarReader(col("nonce"), "int", "nonce", file),
    block_hash: scalarReader(col("block_hash"), "string", "block_hash", file),
    randomness: scalarReader(col("randomness"), "string", "randomness", file),
    use_drand: scalarReader(col("use_drand"), "bool", "use_drand", file),
    rollout_group: scalarReader(col("rollout_group"), "int", "rollout_group", file),
    rollout_index: scalarReader(col("rollout_index"), "int", "rollout_index", file),
    total_in_group: scalarReader(col("total_in_group"), "int", "total_in_group", file),
    checkpoint_window: scalarReader(col("checkpoint_window"), "int", "checkpoint_window", file),
    commit: structGuard(commit, "commit", file),
    tokens: listReader(c("tokens"), "int", "commit.tokens", file),
    commitments: jsonReader(c("commitments"), "commit.commitments", file),
    proof_version: scalarReader(c("proof_version"), "string", "commit.proof_version", file),
    model: structGuard(model, "commit.model", file),
    name: scalarReader(m("name"), "string", "commit.model.name", file),
    layer_index: scalarReader(m("layer_index"), "int", "commit.model.layer_index", file),
    commit_signature: scalarReader(c("signature"), "string", "commit.signature", file),
    beacon: jsonReader(c("beacon"), "commit.beacon", file),
    rollout: structGuard(rollout, "commit.rollout", file),
    total_reward: scalarReader(r("total_reward"), "float", "commit.rollout.total_reward", file),
    advantage: scalarReader(r("advantage"), "float", "commit.rollout.advantage", file),
    success: scalarReader(r("success"), "bool", "commit.rollout.success", file),
    token_logprobs: listReader(
      r("token_logprobs"),
      "float",
      "commit.rollout.token_logprobs",
      file,
    ),
    prompt_length: scalarReader(r("prompt_length"), "int", "commit.rollout.prompt_length", file),
    completion_length: scalarReader(
      r("completion_length"),
      "int",
      "commit.rollout.completion_length",
      file,
    ),
    timestamp: scalarReader(col("timestamp"), "float", "timestamp", file),
    challenge: scalarReader(col("challenge"), "string", "challenge", file),
    hotkey: scalarReader(col("hotkey"), "string", "hotkey", file),
    signature: scalarReader(col("signature"), "string", "signature", file),
  };
  const groups = col("rollout_group");
  if (groups.nullCount > 0) {
    // The reference's file-level rejection (ParquetError, miner banned for the window).
    throw new WindowFileError(
      "null_value",
      `Cannot read ${file}: ${groups.nullCount} of ${table.numRows} rows have a null ` +
        `rollout_group; every rollout needs its problem index`,
      { file, field: "rollout_group" },
    );
  }
  const out: Rollout[] = [];
  for (let row = 0; row < table.numRows; row++) {
    const ctx = { file, row };
    // rollout_group first: a null there is the reference's file-level rejection.
    const rolloutGroup = rd.rollout_group(ctx) as number;
    rd.commit(ctx);
    rd.model(ctx);
    rd.rollout(ctx);
    out.push({
      window_start: rd.window_start(ctx) as number,
      block: rd.block(ctx) as number,
      nonce: rd.nonce(ctx) as number,
      block_hash: rd.block_hash(ctx) as string,
      randomness: rd.randomness(ctx) as string,
      use_drand: rd.use_drand(ctx) as boolean,
      rollout_group: rolloutGroup,
      rollout_index: rd.rollout_index(ctx) as number,
      total_in_group: rd.total_in_group(ctx) as number,
      checkpoint_window: rd.checkpoint_window(ctx) as number,
      commit: {
        tokens: rd.tokens(ctx),
        commitments: rd.commitments(ctx) as { sketch: number }[],
        proof_version: rd.proof_version(ctx) as string,
        model: { name: rd.name(ctx) as string, layer_index: rd.layer_index(ctx) as number },
        signature: rd.commit_signature(ctx) as string,
        beacon: rd.beacon(ctx) as Rollout["commit"]["beacon"],
        rollout: {
          total_reward: rd.total_reward(ctx) as number,
          advantage: rd.advantage(ctx) as number,
          success: rd.success(ctx) as boolean,
          token_logprobs: rd.token_logprobs(ctx),
          prompt_length: rd.prompt_length(ctx) as number,
          completion_length: rd.completion_length(ctx) as number,
        },
      },
      timestamp: rd.timestamp(ctx) as number,
      challenge: rd.challenge(ctx) as string,
      hotkey: rd.hotkey(ctx) as string,
      signature: rd.signature(ctx) as string,
    });
  }
  return out;
}
