import {
  deepStrictEqual,
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects,
} from "node:assert/strict";
import { runDevnet } from "../../src/devnet/devnet.ts";
import { StateFile } from "../../src/roles/state.ts";
import type { ValidatorState } from "../../src/roles/validator.ts";

// The end-to-end run: CPU backend, the trainer, two honest miners and a zero-sketch cheater, two
// validated windows with the validator stopped and restarted in between. About a minute on two
// cores.
Deno.test("runDevnet() pays honest miners, zeroes the cheater and resumes a restarted validator", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grail-devnet-test-" });
  const lines: string[] = [];
  try {
    const result = await runDevnet({
      dir,
      windows: 2,
      honestMiners: 2,
      cheat: "zero-sketch",
      backend: "cpu",
      mode: "strict",
      restartValidatorAfter: 1,
      trainer: true,
      print: (l) => lines.push(l),
    });
    const text = lines.join("\n");
    assertEquals(result.windows.length, 2, text);
    const [first, second] = result.windows;
    // Resume: the restarted validator goes on with the next window, none twice, none skipped.
    assertEquals(result.restarts.length, 1, text);
    assertEquals(result.restarts[0].stoppedAfter, first.target);
    assertEquals(result.restarts[0].resumedWith, first.target + 30);
    assertEquals(result.restarts[0].replayed, 1);
    assertEquals(second.target, first.target + 30);
    const saved = await new StateFile<ValidatorState>(
      `${result.dir}/roles/validator/state.json`,
      "validator",
    ).load();
    assertEquals(saved?.lastProcessed, second.target);
    assertEquals(saved?.history.map((h) => h.target), [first.target, second.target]);

    const uid = (kind: string) => result.participants.filter((p) => p.kind === kind);
    const u16 = (id: number) => result.finalWeights!.find((w) => w.uid === id)!.u16;
    for (const p of uid("honest")) {
      assert(u16(p.uid) > 0, `honest ${p.name} got no weight\n${text}`);
    }
    const cheater = uid("cheater")[0];
    assertEquals(u16(cheater.uid), 0, text);
    // The cheater was checked (the sampler rotates to it) and every row failed the proof.
    const checked = result.windows.flatMap((w) => w.miners).filter((m) =>
      m.hotkey === cheater.hotkey
    );
    assert(checked.length > 0, `cheater never checked\n${text}`);
    for (const m of checked) {
      assertEquals(m.passed, 0);
      assertEquals(m.rejected.proof_valid, m.checked);
    }
    // The trainer published checkpoint 0 and one per window; window 60 was validated on 30's.
    const ready =
      (await Array.fromAsync(Deno.readDir(`${result.dir}/buckets/owner/grail/checkpoints`)))
        .map((e) => e.name).sort();
    assert(ready.includes("checkpoint-0") && ready.includes("checkpoint-30"), ready.join());
    // Honest files pass every checked row.
    for (const m of result.windows.flatMap((w) => w.miners)) {
      if (m.hotkey !== cheater.hotkey) assertEquals(m.passed, m.checked, text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDevnet() refuses a non-empty folder that holds no previous devnet run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    await rejects(
      () =>
        runDevnet({
          dir,
          windows: 1,
          honestMiners: 1,
          cheat: "none",
          backend: "cpu",
          mode: "strict",
          print: () => {},
        }),
      /Refusing to use .*not empty/,
    );
    deepStrictEqual(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
