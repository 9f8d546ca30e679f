/**
 * `grail demo`: a self-contained demonstration of the GRAIL v5 protocol with the real protocol
 * functions. A simulated miner commits to seeded random hidden states and signs the rollout with
 * a freshly generated sr25519 hotkey; a validator parses the record, checks both signatures,
 * draws its challenge positions and verifies the sketches against its own (slightly different)
 * hidden states. Negative controls show that forged sketches, tampered tokens and a wrong hotkey
 * are caught. Needs no network, GPU or shared data.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  bytesToHex,
  CHALLENGE_K,
  challengeIndicesInRange,
  GRAIL_PROOF_VERSION,
  LAYER_INDEX,
  minerCombinedRandomness,
  parseRollout,
  PRIME_Q,
  PythonRandom,
  type Rollout,
  rolloutChallenge,
  signCommit,
  signRolloutChallenge,
  sketchCoefficients,
  sketches,
  sr25519KeypairFromSeed,
  ss58Address,
  verifyCommitmentsAt,
  verifyCommitSignature,
  verifyRolloutSignature,
} from "../../mod.ts";

/** Options of the demo, from its command line. */
export interface DemoOptions {
  /** Seed of the hidden states, tokens and chain values. */
  seed: number;
  /** Hidden size C. */
  hiddenDim: number;
  /** Prompt tokens. */
  promptLength: number;
  /** Completion tokens (≥ 32). */
  completionLength: number;
}

const USAGE =
  `Usage: grail demo [--seed N] [--hidden-dim C] [--prompt-length P] [--completion-length L]

Commits to seeded random hidden states with the GRAIL v5 protocol, signs with a fresh sr25519
key, verifies as a validator would, and prints what was checked. Exit code 0 when every check
gave the expected verdict.`;

function parseOptions(args: string[]): DemoOptions {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: "string", default: "1" },
      "hidden-dim": { type: "string", default: "896" },
      "prompt-length": { type: "string", default: "64" },
      "completion-length": { type: "string", default: "256" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) throw new HelpRequested();
  const int = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new RangeError(
        `--${name} ${JSON.stringify(text)}: expected an integer in [${min}, ${max}]`,
      );
    }
    return n;
  };
  return {
    seed: int("seed", values.seed, 0, Number.MAX_SAFE_INTEGER),
    hiddenDim: int("hidden-dim", values["hidden-dim"], 16, 16384),
    promptLength: int("prompt-length", values["prompt-length"], 0, 32768),
    completionLength: int("completion-length", values["completion-length"], CHALLENGE_K, 8192),
  };
}

class HelpRequested extends Error {}

/** Rounds to the nearest bfloat16 (ties to even), as a bf16 model's activations are. */
function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000;
  return f[0];
}

/** Heavy-tailed activations like a final-norm hidden state: mostly small, a few large outliers. */
function hiddenStates(rng: PythonRandom, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let i = 0; i < out.length; i++) {
    const u = 1 - rng.random();
    const gaussian = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.random());
    const outlier = rng.random() < 0.01 ? 40 * (rng.random() - 0.5) * 20 : 0;
    out[i] = toBf16(gaussian * 2 + outlier);
  }
  return out;
}

function hexFrom(rng: PythonRandom, bytes: number): string {
  return bytesToHex(Uint8Array.from({ length: bytes }, () => rng.getrandbits(8)));
}

/**
 * Runs the demonstration (the `grail demo` subcommand).
 *
 * @param args Command-line arguments after `demo`.
 * @param write Where human-readable lines go; default `console.log`.
 * @returns Exit code: 0 if every check gave the expected verdict, 1 if not, 2 for bad arguments.
 */
export function main(
  args: string[],
  write: (line: string) => void = console.log,
): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (error instanceof HelpRequested) {
      write(USAGE);
      return Promise.resolve(0);
    }
    write(`grail demo: ${(error as Error).message}\n\n${USAGE}`);
    return Promise.resolve(2);
  }
  const outcomes = runDemo(options, write);
  const failed = outcomes.filter((o) => !o.asExpected);
  write("");
  write(
    failed.length === 0
      ? `All ${outcomes.length} checks gave the expected verdict.`
      : `${failed.length} of ${outcomes.length} checks did NOT give the expected verdict.`,
  );
  return Promise.resolve(failed.length === 0 ? 0 : 1);
}

/** One check of the demonstration and whether it gave the expected verdict. */
export interface DemoOutcome {
  /** What was checked. */
  check: string;
  /** Whether the verdict was the expected one (honest data passes, forgeries fail). */
  asExpected: boolean;
}

/**
 * The demonstration itself, separated from argument parsing so tests can drive it.
 *
 * @param options Sizes and seed.
 * @param write Where human-readable lines go.
 * @returns One outcome per check, telling whether it gave the expected verdict.
 */
export function runDemo(options: DemoOptions, write: (line: string) => void): DemoOutcome[] {
  const { seed, hiddenDim: C, promptLength, completionLength } = options;
  const T = promptLength + completionLength;
  const rng = new PythonRandom(seed);
  const outcomes: DemoOutcome[] = [];
  const expect = (check: string, actual: boolean, expected: boolean, detail = ""): void => {
    const asExpected = actual === expected;
    outcomes.push({ check, asExpected });
    const verdict = actual ? "pass" : "fail";
    write(
      `  [${asExpected ? "ok" : "UNEXPECTED"}] ${check}: ${verdict} (expected ${
        expected ? "pass" : "fail"
      })${detail ? ` — ${detail}` : ""}`,
    );
  };

  // Chain and beacon values for one window, simulated from the seed.
  const windowStart = 7200;
  const blockHash = "0x" + hexFrom(rng, 32);
  const nextWindowHash = "0x" + hexFrom(rng, 32);
  const drand = hexFrom(rng, 32);
  const combined = minerCombinedRandomness(blockHash, drand);
  const windowRand = bytesToHex(
    sha256(new TextEncoder().encode(nextWindowHash + hexFrom(rng, 32))),
  );

  write(`GRAIL ${GRAIL_PROOF_VERSION} demonstration (seed ${seed})`);
  write(
    `  rollout: ${promptLength} prompt + ${completionLength} completion tokens, hidden size ${C}`,
  );
  write(`  window ${windowStart}, block hash ${blockHash.slice(0, 18)}…`);
  write(`  miner beacon randomness sha256(block hash ‖ drand) = ${combined.slice(0, 16)}…`);

  // Miner: a fresh hotkey, tokens, hidden states, commitments, signatures.
  const secretSeed = crypto.getRandomValues(new Uint8Array(32));
  const pair = sr25519KeypairFromSeed(secretSeed);
  const hotkey = ss58Address(pair.publicKey);
  const tokens = Array.from({ length: T }, () => rng.randbelow(151936));
  const minerHidden = hiddenStates(rng, T, C);
  const coeffs = sketchCoefficients(combined);
  const commitments = Array.from(sketches(minerHidden, C, coeffs), (sketch) => ({ sketch }));
  const tokenLogprobs = tokens.map((_, i) => i < promptLength ? 0 : -3 * rng.random());
  const nonce = 0;
  const commitBody = {
    tokens,
    commitments,
    proof_version: GRAIL_PROOF_VERSION,
    model: { name: "demo/seeded-hidden-states", layer_index: LAYER_INDEX },
    beacon: { randomness: combined },
  };
  const challenge = rolloutChallenge(blockHash, nonce);
  const record = {
    window_start: windowStart,
    block: windowStart + 3,
    nonce,
    block_hash: blockHash,
    randomness: combined,
    use_drand: true,
    rollout_group: 0,
    rollout_index: 0,
    total_in_group: 16,
    checkpoint_window: windowStart - 30,
    commit: {
      ...commitBody,
      signature: signCommit(commitBody, pair),
      rollout: {
        total_reward: 1,
        advantage: 0,
        success: true,
        token_logprobs: tokenLogprobs,
        prompt_length: promptLength,
        completion_length: completionLength,
      },
    },
    timestamp: 1764000000.5,
    challenge,
    hotkey,
    signature: signRolloutChallenge(challenge, pair),
  };
  write(`  miner hotkey ${hotkey} (fresh sr25519 key)`);
  write(`  coefficients r = [${Array.from(coeffs).join(", ")}]`);
  write(`  committed ${commitments.length} sketches (one per token) and signed the commit binding`);
  write("");
  write("Validator checks:");

  // Validator: parse the record as untrusted input, then check.
  let rollout: Rollout;
  try {
    rollout = parseRollout(structuredClone(record), { vocabSize: 151936 });
    expect("rollout record parses", true, true);
  } catch (error) {
    expect("rollout record parses", false, true, (error as Error).message);
    return outcomes;
  }
  expect("row signature over the challenge string", verifyRolloutSignature(rollout), true);
  expect(
    "commit-binding signature by the miner hotkey",
    verifyCommitSignature(rollout.commit, hotkey),
    true,
  );

  const indices = challengeIndicesInRange(
    rollout.commit.tokens,
    windowRand,
    promptLength,
    T,
    CHALLENGE_K,
  );
  write(
    `  challenged ${indices.length} completion positions: ${indices.slice(0, 8).join(", ")}, …`,
  );

  // The validator's own forward pass differs slightly (another GPU, another batch): perturb.
  const validatorHidden = minerHidden.map((x) => toBf16(x * (1 + 0.03 * (rng.random() - 0.5))));
  const vCoeffs = sketchCoefficients(rollout.commit.beacon.randomness);
  const honest = verifyCommitmentsAt(
    validatorHidden,
    C,
    rollout.commit.commitments,
    indices,
    vCoeffs,
  );
  const worst = honest.positions.reduce((m, p) => Math.max(m, p.diff / p.tolerance), 0);
  expect(
    "sketches at all challenged positions within tolerance",
    honest.ok,
    true,
    `largest distance ${(worst * 100).toFixed(1)}% of its tolerance`,
  );

  write("");
  write("Negative controls:");
  const forged = rollout.commit.commitments.map((c) => ({ ...c }));
  for (const i of indices) forged[i] = { sketch: rng.randbelow(PRIME_Q) };
  const forgedCheck = verifyCommitmentsAt(validatorHidden, C, forged, indices, vCoeffs);
  expect(
    "random sketches at the challenged positions",
    forgedCheck.ok,
    false,
    `${forgedCheck.positions.filter((p) => !p.ok).length}/${indices.length} positions rejected`,
  );
  const tampered = { ...rollout.commit, tokens: rollout.commit.tokens.slice() };
  tampered.tokens[promptLength] = (tampered.tokens[promptLength] + 1) % 151936;
  expect(
    "commit signature after changing one token",
    verifyCommitSignature(tampered, hotkey),
    false,
  );
  const stranger = ss58Address(
    sr25519KeypairFromSeed(crypto.getRandomValues(new Uint8Array(32))).publicKey,
  );
  expect(
    "commit signature checked against another hotkey",
    verifyCommitSignature(rollout.commit, stranger),
    false,
  );
  const zeros = rollout.commit.commitments.map(() => ({ sketch: 0 }));
  const zeroCheck = verifyCommitmentsAt(validatorHidden, C, zeros, indices, vCoeffs);
  write(
    `  [note] constant-zero sketches pass ${
      zeroCheck.positions.filter((p) => p.ok).length
    }/${indices.length} positions: v5's tolerance (≥ 6000 vs |sum| ≤ 14224) is a weak margin (protocol spec §3.4)`,
  );
  return outcomes;
}
