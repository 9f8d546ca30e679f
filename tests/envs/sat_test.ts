import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  evaluateSatCompletion,
  generateSatProblem,
  parseSatCompletion,
  SAT_REWARD_BOUNDS,
  SAT_REWARD_WEIGHTS,
  satDifficulty,
  SatEnvironment,
  satisfiesAll,
  type SatProblem,
  satProblem,
  satProblemForSeed,
  satProblemForTaskId,
  satPromptText,
} from "../../src/envs/sat.ts";
import { EnvError } from "../../src/envs/environment.ts";
import { INSTRUCTED_THINKING, NATIVE_THINKING } from "../../src/envs/thinking.ts";

function catchError(fn: () => unknown, cls: new (...a: never[]) => Error): Error {
  try {
    fn();
  } catch (e) {
    ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    return e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

// Golden data: tests/fixtures/envs/sat_reference.json, written by the Python reference's own
// SATEnv (one-covenant/grail@54d6342) — see tests/fixtures/envs/README.md.
interface RefProblem {
  seed: number;
  difficulty: number;
  num_vars: number;
  clauses: number[][];
  prompt: string;
}
interface RefCase {
  seed: number;
  completion: string;
  reward: number;
  success: boolean;
  components: Record<string, number>;
  satisfied_clauses: number;
  total_clauses: number;
  assignment: boolean[];
}
const REF: {
  problems: RefProblem[];
  modes: Record<"instructed" | "native", { cases: RefCase[] }>;
} = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/envs/sat_reference.json", import.meta.url)),
);

Deno.test("satProblem() matches the envs spec vector for seed 1319947729", () => {
  const p = satProblem(1319947729);
  strictEqual(p.numVars, 7);
  strictEqual(p.clauses.length, 11);
  deepStrictEqual(p.clauses.slice(0, 3), [[-1, -4, -6], [2, -3, 4], [-5, -4, -2]]);
});

Deno.test("satProblem() matches the envs spec vector for seed 12345", () => {
  const p = satProblem(12345);
  strictEqual(p.numVars, 9);
  strictEqual(p.clauses.length, 8);
  deepStrictEqual(p.clauses.slice(0, 3), [[2, -4, -9], [-3, -1, 4], [8, -9, -4]]);
});

Deno.test("satDifficulty() gives 0.416 for seed 1319947729 (envs spec vector)", () => {
  strictEqual(satDifficulty(1319947729), 0.416);
});

Deno.test("satDifficulty() uses Python's non-negative modulo for negative seeds", () => {
  // Python: -1 % 100 == 99
  strictEqual(satDifficulty(-1), 0.3 + 99 / 250);
});

Deno.test("satDifficulty() rejects a non-integer seed with EnvError invalid_seed", () => {
  const err = catchError(() => satDifficulty(1.5), EnvError);
  strictEqual((err as EnvError).code, "invalid_seed");
});

Deno.test("satProblem() reproduces the reference's instances and prompts for 300 seeds", () => {
  // Bit-exact: the generator is integer/RNG arithmetic and the prompt is text.
  strictEqual(REF.problems.length, 300);
  for (const ref of REF.problems) {
    const p = satProblemForSeed(ref.seed);
    strictEqual(p.difficulty, ref.difficulty, `difficulty of seed ${ref.seed}`);
    strictEqual(p.numVars, ref.num_vars, `num_vars of seed ${ref.seed}`);
    deepStrictEqual(p.clauses, ref.clauses, `clauses of seed ${ref.seed}`);
    strictEqual(satProblem(ref.seed).prompt, ref.prompt, `prompt of seed ${ref.seed}`);
  }
});

Deno.test("satProblem() stays within the spec's ranges (5–11 vars, 7–15 clauses)", () => {
  for (const ref of REF.problems) {
    const p = satProblem(ref.seed);
    ok(p.numVars >= 5 && p.numVars <= 11, `num_vars ${p.numVars}`);
    ok(p.clauses.length >= 7 && p.clauses.length <= 15, `clauses ${p.clauses.length}`);
    for (const c of p.clauses) strictEqual(new Set(c.map(Math.abs)).size, 3);
  }
});

Deno.test("satProblemForTaskId() uses the id as material and seed 12345's difficulty", () => {
  const p = satProblemForTaskId("sat-default-seed");
  strictEqual(p.material, "sat-default-seed");
  strictEqual(p.difficulty, satDifficulty(12345));
  ok(satPromptText(p).includes("(seed: sat-defa...)"));
});

for (const mode of ["instructed", "native"] as const) {
  Deno.test(`evaluateSatCompletion() matches the reference on 1200 ${mode}-mode completions`, () => {
    // Rewards compared bit-exactly: same components, same weights, same summation order.
    const config = mode === "instructed" ? INSTRUCTED_THINKING : NATIVE_THINKING;
    const cases = REF.modes[mode].cases;
    strictEqual(cases.length, 1200);
    for (const c of cases) {
      const p = satProblemForSeed(c.seed);
      const out = evaluateSatCompletion(p, c.completion, config);
      const what = `seed ${c.seed}, completion ${JSON.stringify(c.completion)}`;
      strictEqual(out.reward, c.reward, `reward for ${what}`);
      strictEqual(out.success, c.success, `success for ${what}`);
      deepStrictEqual(out.components, c.components, `components for ${what}`);
      strictEqual(out.info.satisfied_clauses, c.satisfied_clauses, `satisfied for ${what}`);
      strictEqual(out.info.total_clauses, c.total_clauses);
      deepStrictEqual(out.info.assignment, c.assignment, `assignment for ${what}`);
    }
  });
}

function tinyProblem(): SatProblem {
  return { numVars: 3, clauses: [[1, -2, 3], [-1, 2, 3]], material: "t", difficulty: 0.3 };
}

Deno.test("evaluateSatCompletion() keeps the reference EOS quirk in compat mode", () => {
  const p = tinyProblem();
  const out = evaluateSatCompletion(p, "<SOLUTION>1 1 0</SOLUTION><|im_end|>");
  strictEqual(out.success, false);
  strictEqual(out.components.r0, -0.2);
  strictEqual(out.components.r4, 0.2 - 0.001 * 10);
});

Deno.test("evaluateSatCompletion() strips one trailing EOS marker in strip_eos mode", () => {
  const p = tinyProblem();
  const out = evaluateSatCompletion(p, "<SOLUTION>1 1 0</SOLUTION><|im_end|>", undefined, {
    rewardMode: "strip_eos",
    eosMarkers: ["<|endoftext|>", "<|im_end|>"],
  });
  strictEqual(out.success, true);
  strictEqual(out.reward, SAT_REWARD_BOUNDS[1]);
});

Deno.test("evaluateSatCompletion() refuses strip_eos without EOS markers", () => {
  const err = catchError(
    () => evaluateSatCompletion(tinyProblem(), "x", undefined, { rewardMode: "strip_eos" }),
    EnvError,
  );
  strictEqual((err as EnvError).code, "invalid_option");
});

Deno.test("evaluateSatCompletion() scores an empty completion -0.2", () => {
  const out = evaluateSatCompletion(tinyProblem(), "");
  strictEqual(out.reward, -0.2);
  deepStrictEqual(out.info.assignment, []);
});

Deno.test("SAT_REWARD_BOUNDS equals the reference's composed bounds", () => {
  // CPython 3.11.7: running sum of w*max over the six components from 0.0.
  deepStrictEqual([...SAT_REWARD_BOUNDS], [-0.2, 1.1349999999999998]);
  deepStrictEqual([...SAT_REWARD_WEIGHTS], [1.0, 0.15, 0.10, 0.15, 0.10, 0.05]);
});

Deno.test("parseSatCompletion() pads a short answer with false and cuts a long one", () => {
  const p = tinyProblem();
  deepStrictEqual(parseSatCompletion("<SOLUTION>1</SOLUTION>", p).assignment, [true, false, false]);
  deepStrictEqual(parseSatCompletion("<SOLUTION>1101</SOLUTION>", p).assignment, [
    true,
    true,
    false,
  ]);
});

Deno.test("satisfiesAll() rejects an assignment of the wrong length", () => {
  strictEqual(satisfiesAll(tinyProblem(), [true, true]), false);
});

Deno.test("SatEnvironment.reset() poses one user message with the prompt text", () => {
  const task = new SatEnvironment().reset(12345);
  strictEqual(task.messages.length, 1);
  strictEqual(task.messages[0].content, satProblem(12345).prompt);
  strictEqual(task.taskId, "12345");
});

// ---------------------------------------------------------------------------------------------
// Cross-check against a real SAT solver (Debian's minisat; tests/_setup.ts installs it).

async function minisatPath(): Promise<string | null> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", "command -v minisat"] }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}
const MINISAT = await minisatPath();
if (MINISAT === null) {
  console.warn(
    "tests/envs/sat_test.ts: minisat not found; the SAT-solver cross-checks are IGNORED " +
      "(install it with `apt-get install -y minisat` or run `deno task test`, whose set-up does)",
  );
}

function dimacs(p: { numVars: number; clauses: number[][] }): string {
  return `p cnf ${p.numVars} ${p.clauses.length}\n` +
    p.clauses.map((c) => `${c.join(" ")} 0`).join("\n") + "\n";
}

async function solve(
  dir: string,
  p: { numVars: number; clauses: number[][] },
): Promise<boolean[] | null> {
  const inPath = `${dir}/in.cnf`;
  const outPath = `${dir}/out.txt`;
  await Deno.writeTextFile(inPath, dimacs(p));
  const res = await new Deno.Command(MINISAT!, {
    args: ["-verb=0", inPath, outPath],
    stdout: "null",
    stderr: "null",
  }).output();
  if (res.code === 20) return null;
  strictEqual(res.code, 10, `minisat exit code ${res.code}`);
  const lits = (await Deno.readTextFile(outPath)).split(/\s+/).slice(1).map(Number);
  const model = new Array<boolean>(p.numVars).fill(false);
  for (const lit of lits) if (lit !== 0) model[Math.abs(lit) - 1] = lit > 0;
  return model;
}

function bruteForceSatisfiable(p: SatProblem): boolean {
  for (let m = 0; m < 1 << p.numVars; m++) {
    const a = Array.from({ length: p.numVars }, (_, i) => ((m >> i) & 1) === 1);
    if (satisfiesAll(p, a)) return true;
  }
  return false;
}

// 1000 seeds spread over [0, 2^32) by a fixed multiplicative sequence (no ambient randomness).
const SOLVER_SEEDS = Array.from(
  { length: 1000 },
  (_, i) => Number((BigInt(i) * 2654435761n + 12345n) % 4294967296n),
);

Deno.test({
  name:
    "satProblem() instances are satisfiable per minisat, and minisat's models score the maximum",
  ignore: MINISAT === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "grail-sat-" });
    try {
      let sat = 0;
      for (const seed of SOLVER_SEEDS) {
        const p = satProblemForSeed(seed);
        const model = await solve(dir, p);
        // The solver and exhaustive search must agree on satisfiability.
        strictEqual(model !== null, bruteForceSatisfiable(p), `seed ${seed}`);
        if (model === null) continue;
        sat++;
        ok(satisfiesAll(p, model), `minisat model rejected by satisfiesAll, seed ${seed}`);
        const answer = model.map((b) => (b ? "1" : "0")).join(" ");
        const out = evaluateSatCompletion(p, `<SOLUTION>${answer}</SOLUTION>`);
        strictEqual(out.success, true, `seed ${seed}`);
        strictEqual(out.reward, SAT_REWARD_BOUNDS[1]);
        strictEqual(out.info.satisfied_clauses, p.clauses.length);
      }
      console.log(`minisat cross-check: ${sat}/${SOLVER_SEEDS.length} instances satisfiable`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "satisfiesAll() agrees with minisat on an unsatisfiable instance",
  ignore: MINISAT === null,
  fn: async () => {
    // All eight sign patterns over x1..x3: no assignment satisfies every clause.
    const clauses: number[][] = [];
    for (let m = 0; m < 8; m++) clauses.push([1, 2, 3].map((v, i) => ((m >> i) & 1 ? -v : v)));
    const p: SatProblem = { numVars: 3, clauses, material: "unsat", difficulty: 0 };
    const dir = await Deno.makeTempDir({ prefix: "grail-sat-" });
    try {
      strictEqual(await solve(dir, p), null);
      strictEqual(bruteForceSatisfiable(p), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "evaluateSatCompletion() marks a minisat model with one flipped variable per its clauses",
  ignore: MINISAT === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "grail-sat-" });
    try {
      for (const seed of SOLVER_SEEDS.slice(0, 200)) {
        const p = satProblemForSeed(seed);
        const model = (await solve(dir, p))!;
        const flipped = model.map((b, i) => (i === 0 ? !b : b));
        const out = evaluateSatCompletion(
          p,
          `<SOLUTION>${flipped.map((b) => (b ? 1 : 0)).join(" ")}</SOLUTION>`,
        );
        // Success iff the flipped assignment still satisfies every clause (checked by minisat
        // on the instance with the flipped model forced as unit clauses).
        const forced = {
          numVars: p.numVars,
          clauses: [...p.clauses, ...flipped.map((b, i) => [b ? i + 1 : -(i + 1)])],
        };
        const stillSat = (await solve(dir, forced)) !== null;
        strictEqual(out.success, stillSat, `seed ${seed}`);
        strictEqual(out.components.r0, stillSat ? 1.0 : 0.0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("generateSatProblem() depends only on the material and difficulty", () => {
  deepStrictEqual(generateSatProblem("1319947729", 0.416), satProblemForSeed(1319947729));
});
