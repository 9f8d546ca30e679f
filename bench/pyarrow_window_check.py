"""Reads window files written by our TypeScript writer through PyArrow (the reference's reader
library) and checks them against the JSON they were made from. Prints one JSON object per file.

    python3 bench/pyarrow_window_check.py DIR

DIR holds ours_*.parquet, the source JSON (fixture.json, synth.json) and reference.parquet (the
file the reference itself wrote from fixture.json). Exits non-zero on any difference.
"""

import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# The reference's schema (protocol spec §4.5), every field nullable.
MODEL = pa.struct([("name", pa.string()), ("layer_index", pa.int32())])
ROLLOUT = pa.struct(
    [
        ("total_reward", pa.float64()),
        ("advantage", pa.float64()),
        ("success", pa.bool_()),
        ("token_logprobs", pa.list_(pa.float32())),
        ("prompt_length", pa.int32()),
        ("completion_length", pa.int32()),
    ]
)
COMMIT = pa.struct(
    [
        ("tokens", pa.list_(pa.int32())),
        ("commitments", pa.string()),
        ("proof_version", pa.string()),
        ("model", MODEL),
        ("signature", pa.string()),
        ("beacon", pa.string()),
        ("rollout", ROLLOUT),
    ]
)
SCHEMA = pa.schema(
    [
        ("window_start", pa.int64()),
        ("block", pa.int64()),
        ("nonce", pa.int64()),
        ("block_hash", pa.string()),
        ("randomness", pa.string()),
        ("use_drand", pa.bool_()),
        ("rollout_group", pa.int64()),
        ("rollout_index", pa.int32()),
        ("total_in_group", pa.int32()),
        ("checkpoint_window", pa.int64()),
        ("commit", COMMIT),
        ("timestamp", pa.float64()),
        ("challenge", pa.string()),
        ("hotkey", pa.string()),
        ("signature", pa.string()),
    ]
)


def expected_rows(inferences):
    """The source dicts as PyArrow gives them back: log-probs rounded to float32, then widened."""
    out = []
    for inf in inferences:
        e = json.loads(json.dumps(inf))
        ro = e["commit"]["rollout"]
        ro["token_logprobs"] = [float(np.float32(x)) for x in ro["token_logprobs"]]
        for k in ("total_reward", "advantage"):
            ro[k] = float(ro[k])
        e["timestamp"] = float(e["timestamp"])
        out.append(e)
    return out


def read_rows(table):
    rows = table.to_pylist()
    for r in rows:
        r["commit"]["commitments"] = json.loads(r["commit"]["commitments"])
        r["commit"]["beacon"] = json.loads(r["commit"]["beacon"])
    return rows


def check(directory, name, source):
    path = os.path.join(directory, name)
    table = pq.read_table(path)
    result = {"file": name, "rows": table.num_rows}
    problems = []
    if not table.schema.remove_metadata().equals(SCHEMA):
        problems.append(f"schema differs: {table.schema.remove_metadata()}")
    md = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    meta = pq.ParquetFile(path).metadata
    codecs = {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }
    result["codecs"] = sorted(codecs)
    result["created_by"] = meta.created_by
    if table.num_rows > 0 and codecs != {"ZSTD"}:
        problems.append(f"codecs {codecs}")
    if source is not None:
        with open(os.path.join(directory, source)) as f:
            src = json.load(f)
        want_md = {
            "wallet": src["wallet"],
            "window_start": str(src["window_start"]),
            "window_length": str(src["window_length"]),
            "inference_count": str(len(src["inferences"])),
            "timestamp": str(float(src["timestamp"])),
        }
        got_md = {k: md.get(k) for k in want_md}
        if got_md != want_md:
            problems.append(f"metadata {got_md} != {want_md}")
        got = read_rows(table)
        want = expected_rows(src["inferences"])
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        if len(got) != len(want) or bad:
            problems.append(f"rows differ at {bad[:5]} (got {len(got)}, want {len(want)})")
        result["rows_equal"] = not bad and len(got) == len(want)
    result["metadata"] = md.get("timestamp")
    result["ok"] = not problems
    result["problems"] = problems
    return result


def main():
    directory = sys.argv[1]
    results = [
        check(directory, "ours_fixture.parquet", "fixture.json"),
        check(directory, "ours_synth.parquet", "synth.json"),
        check(directory, "ours_empty.parquet", None),
    ]
    ours = pq.read_table(os.path.join(directory, "ours_fixture.parquet"))
    ref = pq.read_table(os.path.join(directory, "reference.parquet"))
    same = ours.equals(ref) and ours.schema.metadata == ref.schema.metadata
    results.append({"file": "ours_fixture.parquet vs reference.parquet", "ok": same})
    for r in results:
        print(json.dumps({"name": "pyarrow_window_check", "pyarrow": pa.__version__, **r}))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
