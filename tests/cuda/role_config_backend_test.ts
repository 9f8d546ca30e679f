import { ok as assert, rejects, strictEqual } from "node:assert/strict";
import { loadRoleConfig } from "../../src/roles/config.ts";

// The role flags accept the CUDA backend (src/roles/config.ts passes it to loadModel).
const noFile = () => Promise.reject(new Deno.errors.NotFound("no .env"));

Deno.test("loadRoleConfig() accepts --backend cuda and GRAIL_BACKEND=cuda", async () => {
  const a = await loadRoleConfig("miner", ["--backend", "cuda"], { HOME: "/h" }, noFile);
  const b = await loadRoleConfig("validator", [], { HOME: "/h", GRAIL_BACKEND: "cuda" }, noFile);
  assert(!("help" in a) && !("help" in b));
  strictEqual(a.backend, "cuda");
  strictEqual(b.backend, "cuda");
});

Deno.test("loadRoleConfig() names the three backends for an unknown one", async () => {
  await rejects(
    loadRoleConfig("miner", ["--backend", "tpu"], { HOME: "/h" }, noFile),
    (e) => e instanceof RangeError && e.message.includes("expected webgpu, cpu or cuda"),
  );
});
