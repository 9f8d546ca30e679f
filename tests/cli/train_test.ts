import { strictEqual } from "node:assert/strict";
import { main } from "../../src/cli/train.ts";

function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const err = console.error;
  console.error = () => {};
  return fn().finally(() => (console.error = err));
}

Deno.test("main() exits 2 without --model", async () => {
  strictEqual(await quiet(() => main([])), 2);
});

Deno.test("main() exits 2 for a non-positive --lr", async () => {
  strictEqual(await quiet(() => main(["--model", "/m", "--lr", "0"])), 2);
});

Deno.test("main() exits 2 for a flag without its value", async () => {
  strictEqual(await quiet(() => main(["--model"])), 2);
});
