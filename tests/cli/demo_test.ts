import { ok, strictEqual } from "node:assert/strict";
import { main, runDemo } from "../../src/cli/demo.ts";

Deno.test("main() runs the demonstration and exits 0 when every verdict is as expected", async () => {
  const lines: string[] = [];
  strictEqual(
    await main(
      ["--seed", "3", "--hidden-dim", "64", "--completion-length", "40"],
      (l) => lines.push(l),
    ),
    0,
  );
  ok(lines.some((l) => l.startsWith("All 7 checks gave the expected verdict")), lines.join("\n"));
});

Deno.test("runDemo() checks the honest rollout and three negative controls", () => {
  const outcomes = runDemo(
    { seed: 5, hiddenDim: 32, promptLength: 3, completionLength: 32 },
    () => {},
  );
  strictEqual(outcomes.length, 7);
  ok(outcomes.every((o) => o.asExpected));
});

Deno.test("main() exits 2 with usage for a bad option value", async () => {
  const lines: string[] = [];
  strictEqual(await main(["--completion-length", "5"], (l) => lines.push(l)), 2);
  ok(lines[0].includes("--completion-length"), lines[0]);
});

Deno.test("main() prints usage and exits 0 for --help", async () => {
  const lines: string[] = [];
  strictEqual(await main(["--help"], (l) => lines.push(l)), 0);
  ok(lines[0].startsWith("Usage: grail demo"));
});
