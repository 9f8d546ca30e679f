import { deepStrictEqual } from "node:assert/strict";
import { loadRoleConfig, type RoleConfig } from "../../src/roles/config.ts";
import { launchRole } from "../../src/roles/launch.ts";

async function config(env: Record<string, string>): Promise<RoleConfig> {
  const c = await loadRoleConfig("miner", ["--network", "ws://127.0.0.1:1"], {
    HOME: "/nonexistent",
    ...env,
  }, () => Promise.reject(new Deno.errors.NotFound()));
  if ("help" in c) throw new Error();
  return c;
}

Deno.test("launchRole() refuses to start without storage credentials", async () => {
  deepStrictEqual(await launchRole(await config({})), 1);
});

Deno.test("launchRole() fails with exit code 1 when the hotkey file is missing", async () => {
  const c = await config({
    R2_ACCOUNT_ID: "acct",
    R2_WRITE_ACCESS_KEY_ID: "w",
    R2_WRITE_SECRET_ACCESS_KEY: "write-secret",
  });
  deepStrictEqual(await launchRole(c), 1);
});
