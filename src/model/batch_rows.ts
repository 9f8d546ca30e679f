/**
 * The backend-neutral half of running a batch on a GPU backend (WebGPU and CUDA share it): the
 * input checks of a proof forward and of a generation session's prefill, and how their tokens
 * become rows — every token one row with its position and KV-cache rows, proof-forward sequences
 * grouped so that each group fits the proof cache, and a GRPO group's shared prompt computed once.
 *
 * The kernels differ per backend; what rows they run, and which errors bad input gets, must not.
 *
 * @module
 */

import { ModelError } from "./errors.ts";
import type { ProofForwardOptions, ProofForwardResult } from "./model.ts";

/** One row of a pass: a token at a position, the KV-cache row it writes, its sequence's row 0. */
export interface RowSpec {
  /** Token id. */
  token: number;
  /** Position in its sequence. */
  pos: number;
  /** KV-cache row it writes. */
  kvRow: number;
  /** KV-cache row of its sequence's position 0. */
  kvBase: number;
}

/** A proof-forward row: its sequence, the next token it scores and the EOS token it reports. */
export interface ProofRow extends RowSpec {
  /** Index of its sequence in the batch. */
  seq: number;
  /** tokens[pos + 1], or the backend's "none" at the last position. */
  target: number;
  /** The EOS id where p(eos) is asked at this position, else "none". */
  eos: number;
}

/**
 * Throws unless `token` is an id of the vocabulary.
 *
 * @param token The id.
 * @param vocabSize V.
 * @param where Where it came from, for the message.
 * @throws {ModelError} bad_token.
 * @example
 * ```ts
 * import { checkToken } from "./batch_rows.ts";
 * checkToken(5, 10, "sequence 0 position 0");
 * ```
 */
export function checkToken(token: number, vocabSize: number, where: string): void {
  if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
    throw new ModelError(
      "bad_token",
      `Invalid token ${token} at ${where}: expected an integer in [0, ${vocabSize})`,
    );
  }
}

/**
 * Checks a proof forward's sequences and EOS request against a model.
 *
 * @param sequences The token sequences.
 * @param options Their EOS request (`eosPositions`, `eosTokenId`).
 * @param vocabSize V.
 * @param capacity Longest sequence the proof cache holds.
 * @param configEos The config's first EOS id, the default of `eosTokenId`.
 * @returns The EOS id the rows report (undefined when none is asked or known).
 * @throws {ModelError} bad_input (empty or too long sequence, mismatched or out-of-range EOS
 * positions, EOS asked without an id), bad_token.
 * @example
 * ```ts
 * import { checkProofBatch } from "./batch_rows.ts";
 * const eos = checkProofBatch([[1, 2, 3]], { eosPositions: [[1]] }, 10, 16, 9);
 * if (eos !== 9) throw new Error("expected the config's EOS");
 * ```
 */
export function checkProofBatch(
  sequences: readonly (readonly number[])[],
  options: ProofForwardOptions,
  vocabSize: number,
  capacity: number,
  configEos: number | undefined,
): number | undefined {
  const eosPositions = options.eosPositions;
  const eosId = options.eosTokenId ?? configEos;
  if (eosPositions !== undefined) {
    if (eosPositions.length !== sequences.length) {
      throw new ModelError(
        "bad_input",
        `eosPositions has ${eosPositions.length} entries for ${sequences.length} sequences; give one list per sequence`,
      );
    }
    if (eosId === undefined) {
      throw new ModelError(
        "bad_input",
        "eosPositions given but no eosTokenId and the config names no EOS token",
      );
    }
    checkToken(eosId, vocabSize, "eosTokenId");
  }
  sequences.forEach((seq, s) => {
    if (seq.length === 0) {
      throw new ModelError("bad_input", `Sequence ${s} is empty; expected at least one token`);
    }
    if (seq.length > capacity) {
      throw new ModelError(
        "bad_input",
        `Sequence ${s} has ${seq.length} tokens, more than the proof cache's ${capacity}; load with a larger proofCapacityTokens`,
      );
    }
    seq.forEach((t, i) => checkToken(t, vocabSize, `sequence ${s} position ${i}`));
    eosPositions?.[s].forEach((p) => {
      if (!Number.isInteger(p) || p < 0 || p >= seq.length) {
        throw new ModelError(
          "bad_input",
          `Invalid EOS position ${p} for sequence ${s} of ${seq.length} tokens: expected an integer in [0, ${seq.length})`,
        );
      }
    });
  });
  return eosId;
}

/**
 * Empty results of a proof forward, sized for each sequence.
 *
 * @param sequences The token sequences.
 * @param hiddenSize C.
 * @param eosPositions Positions whose p(eos) is asked, per sequence, if any.
 * @param withSketches Whether sketches were asked.
 * @returns One zeroed result per sequence.
 * @example
 * ```ts
 * import { emptyProofResults } from "./batch_rows.ts";
 * const [r] = emptyProofResults([[1, 2]], 4, undefined, true);
 * if (r.hidden.length !== 8 || r.sketches?.length !== 2) throw new Error("sizes");
 * ```
 */
export function emptyProofResults(
  sequences: readonly (readonly number[])[],
  hiddenSize: number,
  eosPositions: readonly (readonly number[])[] | undefined,
  withSketches: boolean,
): ProofForwardResult[] {
  return sequences.map((seq, s) => ({
    hidden: new Float32Array(seq.length * hiddenSize),
    nextTokenLogprobs: new Float32Array(seq.length - 1),
    ...(eosPositions ? { eosProbs: new Float32Array(eosPositions[s].length) } : {}),
    ...(withSketches ? { sketches: new Uint32Array(seq.length) } : {}),
  }));
}

/**
 * The rows of a proof forward, in groups of whole sequences that fit the proof cache together
 * (each sequence's KV rows start where the previous one's end).
 *
 * @param sequences Checked sequences (see {@link checkProofBatch}), each at most `capacity` long.
 * @param capacity KV rows of the proof cache.
 * @param eosPositions Positions whose p(eos) is asked, per sequence, if any.
 * @param eosId The EOS id those rows report.
 * @param none The backend's "no token" marker.
 * @returns The groups, in sequence order.
 * @example
 * ```ts
 * import { proofRowGroups } from "./batch_rows.ts";
 * const groups = [...proofRowGroups([[1, 2], [3, 4, 5]], 4, undefined, undefined, -1)];
 * if (groups.length !== 2 || groups[1][2].target !== -1) throw new Error("groups");
 * ```
 */
export function* proofRowGroups(
  sequences: readonly (readonly number[])[],
  capacity: number,
  eosPositions: readonly (readonly number[])[] | undefined,
  eosId: number | undefined,
  none: number,
): Generator<ProofRow[]> {
  let s0 = 0;
  while (s0 < sequences.length) {
    let s1 = s0;
    let total = 0;
    while (s1 < sequences.length && total + sequences[s1].length <= capacity) {
      total += sequences[s1].length;
      s1++;
    }
    const rows: ProofRow[] = [];
    for (let s = s0; s < s1; s++) {
      const seq = sequences[s];
      const base = rows.length;
      const eosAt = new Set(eosPositions?.[s] ?? []);
      for (let t = 0; t < seq.length; t++) {
        rows.push({
          token: seq[t],
          pos: t,
          kvRow: base + t,
          kvBase: base,
          seq: s,
          target: t + 1 < seq.length ? seq[t + 1] : none,
          eos: eosAt.has(t) ? eosId! : none,
        });
      }
    }
    yield rows;
    s0 = s1;
  }
}

/**
 * Stores a pass's log-probs into the results: `lp` holds per row [log p(target), p(eos)].
 *
 * @param results The batch's results.
 * @param rows The pass's rows.
 * @param lp [2 * rows] values.
 * @param eosPositions Positions whose p(eos) is asked, per sequence, if any.
 * @param none The backend's "no token" marker.
 * @example
 * ```ts
 * import { emptyProofResults, proofRowGroups, storeLogprobs } from "./batch_rows.ts";
 * const seqs = [[1, 2]];
 * const results = emptyProofResults(seqs, 1, undefined, false);
 * const [rows] = [...proofRowGroups(seqs, 8, undefined, undefined, -1)];
 * storeLogprobs(results, rows, new Float32Array([-0.5, 0, -1, 0]), undefined, -1);
 * if (results[0].nextTokenLogprobs[0] !== -0.5) throw new Error("stored");
 * ```
 */
export function storeLogprobs(
  results: readonly ProofForwardResult[],
  rows: readonly ProofRow[],
  lp: Float32Array,
  eosPositions: readonly (readonly number[])[] | undefined,
  none: number,
): void {
  rows.forEach((r, i) => {
    const res = results[r.seq];
    if (r.target !== none) res.nextTokenLogprobs[r.pos] = lp[2 * i];
    if (r.eos !== none) {
      eosPositions![r.seq].forEach((p, q) => {
        if (p === r.pos) res.eosProbs![q] = lp[2 * i + 1];
      });
    }
  });
}

/**
 * Checks a generation session's prompts.
 *
 * @param prompts One prompt per row.
 * @param batch B, the session's rows.
 * @param maxLen Positions per row.
 * @param vocabSize V.
 * @param prefilled Whether the session was prefilled already.
 * @throws {ModelError} state (second prefill), bad_input (count, empty prompt), cache_full,
 * bad_token.
 * @example
 * ```ts
 * import { checkPrompts } from "./batch_rows.ts";
 * checkPrompts([[1, 2], [1, 2]], 2, 8, 10, false);
 * ```
 */
export function checkPrompts(
  prompts: readonly (readonly number[])[],
  batch: number,
  maxLen: number,
  vocabSize: number,
  prefilled: boolean,
): void {
  if (prefilled) throw new ModelError("state", "Cannot prefill twice: start a new session");
  if (prompts.length !== batch) {
    throw new ModelError(
      "bad_input",
      `Expected ${batch} prompts (the session's batch), got ${prompts.length}`,
    );
  }
  prompts.forEach((p, b) => {
    if (p.length === 0) {
      throw new ModelError("bad_input", `Prompt ${b} is empty; expected at least one token`);
    }
    if (p.length > maxLen) {
      throw new ModelError(
        "cache_full",
        `Prompt ${b} has ${p.length} tokens; the session holds ${maxLen} per row`,
      );
    }
    p.forEach((t, i) => checkToken(t, vocabSize, `prompt ${b} position ${i}`));
  });
}

/** The prefill plan of {@link sharedPromptRows}. */
export interface PromptRows {
  /** The rows of each distinct prompt, at its owner row's KV slot. */
  rows: RowSpec[];
  /** Per session row, the row whose identical prompt is computed (itself when first). */
  source: number[];
  /** Per owner row, the index in `rows` of its prompt's last token. */
  lastRowOf: Map<number, number>;
}

/**
 * The rows of a prefill: a GRPO group shares one prompt, so each distinct prompt is computed once
 * (in the KV slot of the first row holding it) and the others copy it.
 *
 * @param prompts One prompt per session row.
 * @param maxLen Positions per row (KV slot size).
 * @returns Rows, each row's source and each owner's last row.
 * @example
 * ```ts
 * import { sharedPromptRows } from "./batch_rows.ts";
 * const { rows, source } = sharedPromptRows([[1, 2], [1, 2], [3]], 4);
 * if (rows.length !== 3 || source.join() !== "0,0,2") throw new Error("shared");
 * ```
 */
export function sharedPromptRows(
  prompts: readonly (readonly number[])[],
  maxLen: number,
): PromptRows {
  const owner = new Map<string, number>();
  const source: number[] = [];
  prompts.forEach((p, b) => {
    const key = p.join(",");
    if (!owner.has(key)) owner.set(key, b);
    source.push(owner.get(key)!);
  });
  const rows: RowSpec[] = [];
  const lastRowOf = new Map<number, number>();
  for (const b of new Set(source)) {
    const base = b * maxLen;
    prompts[b].forEach((token, pos) => rows.push({ token, pos, kvRow: base + pos, kvBase: base }));
    lastRowOf.set(b, rows.length - 1);
  }
  return { rows, source, lastRowOf };
}
