/**
 * The environment interface: a problem from a seed, the chat messages that pose it, and the
 * judgement of one completion (reward, its components, success). Envs spec §1.1 and §1.5:
 * every grail environment is single-turn, so one `evaluate` call is the whole episode.
 *
 * @module
 */

/** One chat message, as the reference's `ChatMessage` (envs spec §1.1). */
export interface ChatMessage {
  /** Who speaks. */
  role: "system" | "user" | "assistant" | "tool";
  /** The text. */
  content: string;
}

/** A problem posed to the model: the seed it came from and the messages that pose it. */
export interface EnvTask<P = unknown> {
  /** The environment id (`"sat"`). */
  envId: string;
  /** The 32-bit seed the protocol derived (`derive_env_seed`). */
  seed: number;
  /** The reference's task id string (the seed material). */
  taskId: string;
  /** The environment-specific problem. */
  problem: P;
  /** The messages before any system prompt or chat template: one `user` message. */
  messages: ChatMessage[];
}

/** The judgement of one completion, as the reference's `evaluate_completion` returns it. */
export interface EnvEvaluation {
  /** Total reward: the weighted sum of the components, in order, from 0.0. */
  reward: number;
  /** The success flag (envs spec §0). */
  success: boolean;
  /** Unweighted reward components keyed `r0`, `r1`, … as the reference names them. */
  components: Record<string, number>;
  /** Environment-specific details (SAT: satisfied and total clauses, the assignment). */
  info: Record<string, unknown>;
}

/** How an environment treats the text it is given; see `src/envs/sat.ts`. */
export interface EvaluateOptions {
  /**
   * `"compat"` (default) judges the decoded completion exactly as given — the reference keeps
   * the EOS marker's text (e.g. `<|im_end|>`) in the decoded completion, so it counts as
   * trailing text after `</SOLUTION>` (envs spec §2.3). `"strip_eos"` first removes ONE
   * trailing occurrence of any of `eosMarkers`, so a well-formed EOS-terminated answer can
   * earn the full reward. Miner and validator must use the same mode.
   */
  rewardMode?: "compat" | "strip_eos";
  /** Literal texts of the EOS tokens, for `rewardMode: "strip_eos"`. */
  eosMarkers?: readonly string[];
}

/** A single-turn environment (envs spec §1.1). */
export interface Environment<P = unknown> {
  /** The environment id as the checkpoint metadata names it (`env_id`). */
  readonly id: string;
  /** Builds the problem for a protocol seed (the reference's `env.reset(seed=…)`). */
  reset(seed: number): EnvTask<P>;
  /** Judges one completion text (the reference's `env.step(...)`). */
  evaluate(task: EnvTask<P>, completion: string, options?: EvaluateOptions): EnvEvaluation;
}

/** Stable codes of {@linkcode EnvError}. */
export type EnvErrorCode = "invalid_seed" | "unknown_env" | "invalid_option";

/**
 * Failure of an environment: a bad seed, an unknown environment id, an invalid option.
 *
 * @example Reading the code
 * ```ts
 * import { EnvError } from "./environment.ts";
 * const err = new EnvError("unknown_env", "No environment named gsm9k; known: sat");
 * if (err.code !== "unknown_env") throw new Error("wrong code");
 * ```
 */
export class EnvError extends Error {
  /** Stable machine-readable code. */
  readonly code: EnvErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable code.
   * @param message What was wrong, the value, what was expected.
   * @param options Standard error options (`cause`).
   */
  constructor(code: EnvErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EnvError";
    this.code = code;
  }
}
