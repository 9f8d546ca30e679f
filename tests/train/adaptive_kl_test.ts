import { strictEqual } from "node:assert/strict";
import { AdaptiveKlController } from "../../src/train/adaptive_kl.ts";

Deno.test("AdaptiveKlController.update() divides by 1.5 below 0.8·target", () => {
  const c = new AdaptiveKlController();
  strictEqual(c.update(0.01), 0.02 / 1.5);
});

Deno.test("AdaptiveKlController.update() keeps β inside the ±20 % band", () => {
  const c = new AdaptiveKlController();
  strictEqual(c.update(0.045), 0.02);
});

Deno.test("AdaptiveKlController.update() clamps β to [0.001, 0.2]", () => {
  const c = new AdaptiveKlController({ initial: 0.15 });
  strictEqual(c.update(1), 0.2);
  const d = new AdaptiveKlController({ initial: 0.0012 });
  strictEqual(d.update(0), 0.001);
});

Deno.test("AdaptiveKlController.update() ignores a non-finite KL", () => {
  const c = new AdaptiveKlController();
  strictEqual(c.update(NaN), 0.02);
});
