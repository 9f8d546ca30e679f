/**
 * The procedural 3-SAT environment (envs spec §3.1), bit-compatible with the reference
 * (`grail/environments/sat_env.py` at 54d6342): same seed recipe, difficulty, generator on the
 * CPython-compatible RNG, prompt text, parser and reward.
 *
 * Reward quirk kept on purpose (`rewardMode: "compat"`, the default): the reference decodes the
 * completion with special tokens kept, so an EOS-terminated answer ends in the EOS marker's
 * text (`<|im_end|>`), which counts as trailing text after `</SOLUTION>`. Correctness then
 * needs trailing == 0 and scores −0.2 instead of 1.0, strict format is lost and no_trailing is
 * 0.19: the best EOS-terminated total is about −0.111 and `success` is false (envs spec §2.3,
 * §6.1). `rewardMode: "strip_eos"` removes one trailing EOS marker first; use it only where
 * miners and validators agree on it (our own network), never against the live subnet.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { PythonRandom } from "../protocol/python_random.ts";
import type { EnvEvaluation, Environment, EnvTask, EvaluateOptions } from "./environment.ts";
import { EnvError } from "./environment.ts";
import { applyRewardMode } from "./_reward_mode.ts";
import { noTrailingReward, softFormatReward, weightedRewardSum } from "./reward_components.ts";
import { parseTags, PY_WHITESPACE_CLASS, type TagParse } from "./tag_parser.ts";
import { INSTRUCTED_THINKING, type ThinkingConfig } from "./thinking.ts";

const MIN_VARS = 4;
const MAX_VARS = 15;
const MIN_CLAUSES = 5;
const MAX_CLAUSES = 20;
const CLAUSE_LENGTH = 3;
/** Difficulty seed used when a task has no integer seed (reference default). */
const DEFAULT_DIFFICULTY_SEED = 12345;

/**
 * Reward weights in component order: correctness, strict format, soft format, answer shape,
 * no trailing, charset (envs spec §3.1).
 */
export const SAT_REWARD_WEIGHTS: readonly number[] = Object.freeze([
  1.0,
  0.15,
  0.10,
  0.15,
  0.10,
  0.05,
]);

/** Per-component bounds, in component order (the reference's `bounds=`). */
const COMPONENT_BOUNDS: readonly (readonly [number, number])[] = [
  [-0.2, 1.0],
  [0.0, 0.3],
  [0.0, 0.2],
  [0.0, 0.3],
  [0.0, 0.2],
  [0.0, 0.1],
];

/**
 * Bounds of the total reward, composed as the reference's `reward_bounds()` does (so the upper
 * bound is the double 1.1349999999999998, the exact total of a perfect answer).
 */
export const SAT_REWARD_BOUNDS: readonly [number, number] = Object.freeze([
  weightedRewardSum(COMPONENT_BOUNDS.map((b) => b[0]), SAT_REWARD_WEIGHTS),
  weightedRewardSum(COMPONENT_BOUNDS.map((b) => b[1]), SAT_REWARD_WEIGHTS),
]) as readonly [number, number];

/** A generated 3-SAT instance. */
export interface SatProblem {
  /** Number of variables x1..xN. */
  numVars: number;
  /** Clauses of three non-zero literals; negative means negated. */
  clauses: number[][];
  /** The seed material (decimal seed string or task id). */
  material: string;
  /** The difficulty it was generated with. */
  difficulty: number;
}

/**
 * Difficulty from an integer seed: `0.3 + (seed mod 100) / 250` in doubles (Python modulo).
 *
 * @param seed The protocol seed.
 * @returns A difficulty in [0.3, 0.696].
 * @throws {EnvError} `invalid_seed` if `seed` is not a safe integer.
 *
 * @example
 * ```ts
 * import { satDifficulty } from "./sat.ts";
 * if (satDifficulty(1319947729) !== 0.416) throw new Error();
 * ```
 */
export function satDifficulty(seed: number): number {
  checkSeed(seed);
  return 0.3 + (((seed % 100) + 100) % 100) / 250.0;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) {
    throw new EnvError(
      "invalid_seed",
      `SAT seed must be a safe integer, got ${
        String(seed)
      }; pass the seed derive_env_seed returned`,
    );
  }
}

/**
 * Generates the instance for a seed material and difficulty (the reference's
 * `generate_sat_problem`): `Random(sha256(material))`, then `randint` for the variable and
 * clause counts and, per clause, `sample(range(1..N), 3)` and one `random() < 0.5` sign draw
 * per literal.
 *
 * @param material The seed material (decimal seed string, or a task id).
 * @param difficulty Difficulty in [0, 1].
 * @returns The instance.
 *
 * @example The envs spec's vector for seed 12345
 * ```ts
 * import { generateSatProblem } from "./sat.ts";
 * const p = generateSatProblem("12345", 0.3 + 45 / 250);
 * if (p.numVars !== 9 || p.clauses.length !== 8) throw new Error();
 * if (p.clauses[0].join() !== "2,-4,-9") throw new Error();
 * ```
 */
export function generateSatProblem(material: string, difficulty: number): SatProblem {
  const rng = new PythonRandom(sha256(new TextEncoder().encode(material)));
  // Left-to-right double arithmetic, then int() truncation, exactly as the reference.
  const numVars = rng.randint(
    MIN_VARS + Math.trunc((MAX_VARS - MIN_VARS) * difficulty * 0.5),
    MIN_VARS + Math.trunc((MAX_VARS - MIN_VARS) * difficulty),
  );
  const numClauses = rng.randint(
    MIN_CLAUSES + Math.trunc((MAX_CLAUSES - MIN_CLAUSES) * difficulty * 0.5),
    MIN_CLAUSES + Math.trunc((MAX_CLAUSES - MIN_CLAUSES) * difficulty),
  );
  const variables = Array.from({ length: numVars }, (_, i) => i + 1);
  const clauses: number[][] = [];
  for (let c = 0; c < numClauses; c++) {
    const chosen = rng.sample(variables, Math.min(CLAUSE_LENGTH, numVars));
    clauses.push(chosen.map((v) => (rng.random() < 0.5 ? -v : v)));
  }
  return { numVars, clauses, material, difficulty };
}

/**
 * The user message posing the instance (before any system prompt or chat template).
 *
 * @param problem The instance.
 * @returns The prompt text, ending in a newline.
 *
 * @example
 * ```ts
 * import { generateSatProblem, satPromptText } from "./sat.ts";
 * const text = satPromptText(generateSatProblem("1319947729", 0.416));
 * if (!text.startsWith("SAT Problem:\nSAT Problem (seed: 13199477...):\nVariables: 7\n")) {
 *   throw new Error();
 * }
 * ```
 */
export function satPromptText(problem: SatProblem): string {
  // Python slices code points; the material is normally ASCII digits.
  const head = Array.from(problem.material).slice(0, 8).join("");
  let text = `SAT Problem:\nSAT Problem (seed: ${head}...):\n`;
  text += `Variables: ${problem.numVars}\n`;
  text += "Clauses:\n";
  for (const clause of problem.clauses) {
    const lits = clause.map((lit) => `${lit < 0 ? "NOT " : ""}x${Math.abs(lit)}`);
    text += `  (${lits.join(" OR ")})\n`;
  }
  return text + "\n" +
    "Provide your final assignment between <SOLUTION></SOLUTION> as space-separated 0/1 values " +
    "for x1..xN (e.g., <SOLUTION>0 1 0 1</SOLUTION>).\n";
}

/**
 * The SAT problem a protocol seed gives, as miners and validators derive it (difficulty from
 * the seed, material = the decimal seed). This is the `./envs` entry point.
 *
 * @param seed The seed from `derive_env_seed` (an integer, normally in [0, 2^32)).
 * @returns The variable count, clauses and the environment's prompt text.
 * @throws {EnvError} `invalid_seed` if `seed` is not a safe integer.
 *
 * @example The envs spec's vector for seed 1319947729
 * ```ts
 * import { satProblem } from "./sat.ts";
 * const p = satProblem(1319947729);
 * if (p.numVars !== 7 || p.clauses.length !== 11) throw new Error();
 * if (JSON.stringify(p.clauses.slice(0, 2)) !== "[[-1,-4,-6],[2,-3,4]]") throw new Error();
 * ```
 */
export function satProblem(seed: number): { numVars: number; clauses: number[][]; prompt: string } {
  const problem = satProblemForSeed(seed);
  return { numVars: problem.numVars, clauses: problem.clauses, prompt: satPromptText(problem) };
}

/**
 * The full instance for a protocol seed (material and difficulty included).
 *
 * @param seed The protocol seed.
 * @returns The instance.
 * @throws {EnvError} `invalid_seed` if `seed` is not a safe integer.
 *
 * @example
 * ```ts
 * import { satProblemForSeed } from "./sat.ts";
 * if (satProblemForSeed(12345).material !== "12345") throw new Error();
 * ```
 */
export function satProblemForSeed(seed: number): SatProblem {
  return generateSatProblem(String(seed), satDifficulty(seed));
}

/**
 * The instance for an explicit task id (the reference's `SATTaskSource.next(task_id=…)`): the
 * id is the material verbatim; difficulty comes from `seed` when given, else from 12345.
 *
 * @param taskId The task id string.
 * @param seed Optional integer seed for the difficulty.
 * @returns The instance.
 * @throws {EnvError} `invalid_seed` if `seed` is given and not a safe integer.
 *
 * @example
 * ```ts
 * import { satProblemForTaskId } from "./sat.ts";
 * const p = satProblemForTaskId("my-task");
 * if (p.material !== "my-task" || p.difficulty !== 0.3 + 45 / 250) throw new Error();
 * ```
 */
export function satProblemForTaskId(taskId: string, seed?: number): SatProblem {
  return generateSatProblem(taskId, satDifficulty(seed ?? DEFAULT_DIFFICULTY_SEED));
}

/** What the reference's SATParser extracts from a completion. */
export interface SatParse extends TagParse {
  /** The answer content consists only of Python-whitespace, `0` and `1` (true when empty). */
  onlyBits: boolean;
  /** Number of `0`/`1` characters in the answer content. */
  bitCount: number;
  /** One open tag, one close tag, no trailing text, only bits, bit count == variables. */
  strictFormatOk: boolean;
  /** The answer's bits cut/padded to the variable count (empty without a non-empty answer). */
  assignment: boolean[];
}

const ONLY_BITS = new RegExp(`^[${PY_WHITESPACE_CLASS}01]*$`, "u");

/**
 * Parses a completion as the reference's SATParser does.
 *
 * @param text The decoded completion.
 * @param problem The instance (its variable count matters).
 * @param config Thinking-mode tags.
 * @returns The parse.
 *
 * @example
 * ```ts
 * import { generateSatProblem, parseSatCompletion } from "./sat.ts";
 * const p = generateSatProblem("1319947729", 0.416);
 * const parse = parseSatCompletion("<SOLUTION>1 0 1</SOLUTION>", p);
 * if (parse.bitCount !== 3 || parse.assignment.length !== 7) throw new Error();
 * ```
 */
export function parseSatCompletion(
  text: string,
  problem: SatProblem,
  config: ThinkingConfig = INSTRUCTED_THINKING,
): SatParse {
  const tags = parseTags(text, config);
  const bits = tags.answerText.match(/[01]/g) ?? [];
  const onlyBits = ONLY_BITS.test(tags.answerText);
  const strictFormatOk = tags.hasAnswer && tags.answerOpenCount === 1 &&
    tags.answerCloseCount === 1 && tags.trailing === 0 && onlyBits &&
    bits.length === problem.numVars;
  const assignment: boolean[] = [];
  if (tags.hasAnswer && tags.answerText.length > 0) {
    for (let i = 0; i < problem.numVars; i++) assignment.push(i < bits.length && bits[i] === "1");
  }
  return { ...tags, onlyBits, bitCount: bits.length, strictFormatOk, assignment };
}

/**
 * Whether an assignment satisfies every clause (false unless it has exactly one value per
 * variable).
 *
 * @param problem The instance.
 * @param assignment Truth value of x1..xN.
 * @returns True when all clauses hold.
 *
 * @example
 * ```ts
 * import { satisfiesAll } from "./sat.ts";
 * const p = { numVars: 2, clauses: [[1, -2]], material: "x", difficulty: 0.3 };
 * if (!satisfiesAll(p, [false, false]) || satisfiesAll(p, [false, true])) throw new Error();
 * ```
 */
export function satisfiesAll(problem: SatProblem, assignment: readonly boolean[]): boolean {
  if (assignment.length !== problem.numVars) return false;
  return problem.clauses.every((clause) =>
    clause.some((lit) => (lit > 0 ? assignment[lit - 1] : !assignment[-lit - 1]))
  );
}

function countSatisfied(problem: SatProblem, assignment: readonly boolean[]): number {
  if (assignment.length !== problem.numVars) return 0;
  let n = 0;
  for (const clause of problem.clauses) {
    if (clause.some((lit) => (lit > 0 ? assignment[lit - 1] : !assignment[-lit - 1]))) n++;
  }
  return n;
}

/**
 * The six unweighted reward components in order: correctness (−0.2 unless well formed, else
 * 1.0 when all clauses hold, else 0.0), strict (0.3), soft (0.2), shape (0.3), no trailing,
 * charset (0.1).
 *
 * @param parse The completion's parse.
 * @param problem The instance.
 * @returns The components.
 *
 * @example
 * ```ts
 * import { generateSatProblem, parseSatCompletion, satRewardComponents } from "./sat.ts";
 * const p = generateSatProblem("1319947729", 0.416);
 * const c = satRewardComponents(parseSatCompletion("no answer", p), p);
 * if (c.join() !== "-0.2,0,0,0,0,0") throw new Error();
 * ```
 */
export function satRewardComponents(parse: SatParse, problem: SatProblem): number[] {
  const wellFormed = parse.hasAnswer && parse.onlyBits && parse.trailing === 0 &&
    parse.bitCount === problem.numVars;
  const correctness = wellFormed ? (satisfiesAll(problem, parse.assignment) ? 1.0 : 0.0) : -0.2;
  return [
    correctness,
    parse.strictFormatOk ? 0.3 : 0,
    softFormatReward(parse),
    parse.bitCount === problem.numVars ? 0.3 : 0,
    noTrailingReward(parse),
    parse.hasAnswer && parse.onlyBits ? 0.1 : 0,
  ];
}

/**
 * Judges a completion as the reference's `SATEnv.step` does: reward (weighted components),
 * success (correctness == 1.0), satisfied/total clauses and the assignment.
 *
 * @param problem The instance.
 * @param completion The decoded completion (special tokens kept, as the reference decodes it).
 * @param config Thinking-mode tags.
 * @param options Reward mode (see the module note on the EOS quirk).
 * @returns The evaluation.
 * @throws {EnvError} `invalid_option` for an unknown reward mode or missing EOS markers.
 *
 * @example The reference quirk: an EOS marker after a correct answer costs the correctness
 * ```ts
 * import { evaluateSatCompletion, satProblemForSeed } from "./sat.ts";
 * const p = { numVars: 2, clauses: [[1, 2, -1]], material: "m", difficulty: 0.3 };
 * const ok = evaluateSatCompletion(p, "<SOLUTION>1 0</SOLUTION>");
 * const eos = evaluateSatCompletion(p, "<SOLUTION>1 0</SOLUTION><|im_end|>");
 * if (!ok.success || eos.success) throw new Error();
 * const fixed = evaluateSatCompletion(p, "<SOLUTION>1 0</SOLUTION><|im_end|>", undefined, {
 *   rewardMode: "strip_eos",
 *   eosMarkers: ["<|im_end|>"],
 * });
 * if (!fixed.success) throw new Error();
 * ```
 */
export function evaluateSatCompletion(
  problem: SatProblem,
  completion: string,
  config: ThinkingConfig = INSTRUCTED_THINKING,
  options?: EvaluateOptions,
): EnvEvaluation {
  const text = applyRewardMode(completion, options);
  const parse = parseSatCompletion(text, problem, config);
  const values = satRewardComponents(parse, problem);
  const components: Record<string, number> = {};
  values.forEach((v, i) => (components[`r${i}`] = v));
  return {
    reward: weightedRewardSum(values, SAT_REWARD_WEIGHTS),
    success: values[0] === 1.0,
    components,
    info: {
      satisfied_clauses: countSatisfied(problem, parse.assignment),
      total_clauses: problem.clauses.length,
      assignment: parse.assignment,
    },
  };
}

/**
 * The SAT environment behind the {@linkcode Environment} interface.
 *
 * @example
 * ```ts
 * import { SatEnvironment } from "./sat.ts";
 * const env = new SatEnvironment();
 * const task = env.reset(1319947729);
 * const out = env.evaluate(task, "<SOLUTION>0 0 0 0 0 0 0</SOLUTION>");
 * if (task.messages[0].role !== "user" || typeof out.reward !== "number") throw new Error();
 * ```
 */
export class SatEnvironment implements Environment<SatProblem> {
  /** The env id. */
  readonly id: string = "sat";
  /** Tags of the thinking mode in force (from the checkpoint metadata). */
  readonly thinking: ThinkingConfig;

  /**
   * Creates the environment.
   *
   * @param thinking The thinking mode's tags (default instructed).
   */
  constructor(thinking: ThinkingConfig = INSTRUCTED_THINKING) {
    this.thinking = thinking;
  }

  /**
   * The task for a protocol seed.
   *
   * @param seed The protocol seed.
   * @returns The task (one user message).
   * @throws {EnvError} `invalid_seed` if `seed` is not a safe integer.
   */
  reset(seed: number): EnvTask<SatProblem> {
    const problem = satProblemForSeed(seed);
    return {
      envId: this.id,
      seed,
      taskId: problem.material,
      problem,
      messages: [{ role: "user", content: satPromptText(problem) }],
    };
  }

  /**
   * Judges a completion.
   *
   * @param task The task from {@linkcode SatEnvironment.reset}.
   * @param completion The decoded completion.
   * @param options Reward mode.
   * @returns The evaluation.
   * @throws {EnvError} `invalid_option` for a bad reward mode.
   */
  evaluate(
    task: EnvTask<SatProblem>,
    completion: string,
    options?: EvaluateOptions,
  ): EnvEvaluation {
    return evaluateSatCompletion(task.problem, completion, this.thinking, options);
  }
}
