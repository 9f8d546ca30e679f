import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import {
  configSecrets,
  describeConfig,
  loadRoleConfig,
  parseDotEnv,
  type RoleConfig,
} from "../../src/roles/config.ts";

const noFile = () => Promise.reject(new Deno.errors.NotFound("no .env"));
const R2 = {
  R2_ACCOUNT_ID: "acct0123",
  R2_READ_ACCESS_KEY_ID: "readid",
  R2_READ_SECRET_ACCESS_KEY: "read-secret-value",
  R2_WRITE_ACCESS_KEY_ID: "writeid-xyz",
  R2_WRITE_SECRET_ACCESS_KEY: "write-secret-value",
};

async function load(
  role: "miner" | "validator",
  args: string[],
  env: Record<string, string>,
  file?: string,
): Promise<RoleConfig> {
  const c = await loadRoleConfig(
    role,
    args,
    { HOME: "/home/op", ...env },
    file === undefined ? noFile : () => Promise.resolve(file),
  );
  if ("help" in c) throw new Error("help");
  return c;
}

Deno.test("parseDotEnv() reads assignments, exports, quotes and comments", () => {
  deepStrictEqual(
    parseDotEnv('# x\n\nexport A=1\nB = "two words" \nC=\'x#y\'\nD=v # note\nE="a\\nb"\n', ".env"),
    { A: "1", B: "two words", C: "x#y", D: "v", E: "a\nb" },
  );
});

Deno.test("parseDotEnv() names the file and line of a bad line", () => {
  throws(() => parseDotEnv("A=1\nnot an assignment\n", "/op/.env"), /line 2 in \/op\/\.env/);
});

Deno.test("loadRoleConfig() uses the reference's defaults", async () => {
  const c = await load("validator", [], {});
  deepStrictEqual(
    [c.network, c.endpoint, c.netuid, c.wallet, c.useDrand, c.backend, c.mode, c.logLevel],
    [
      "finney",
      "wss://entrypoint-finney.opentensor.ai:443",
      81,
      { root: "/home/op/.bittensor/wallets", name: "default", hotkey: "default" },
      true,
      "webgpu",
      "compat",
      "warning",
    ],
  );
  deepStrictEqual([c.cacheDir, c.stateDir, c.metricsPort], [
    "/home/op/.cache/grail",
    "/home/op/.cache/grail/state",
    null,
  ]);
});

Deno.test("loadRoleConfig() reads the reference's variable names", async () => {
  const c = await load("miner", [], {
    BT_NETWORK: "test",
    NETUID: "5",
    BT_WALLET_COLD: "cold",
    BT_WALLET_HOT: "hot",
    GRAIL_CACHE_DIR: "/c",
    GRAIL_MINER_SAFETY_BLOCKS: "4",
    ...R2,
  });
  deepStrictEqual(
    [c.endpoint, c.netuid, c.wallet.name, c.wallet.hotkey, c.cacheDir, c.safetyBlocks],
    ["wss://test.finney.opentensor.ai:443", 5, "cold", "hot", "/c", 4],
  );
  deepStrictEqual([c.storage?.bucket, c.storage?.endpoint], [
    "acct0123",
    "https://acct0123.r2.cloudflarestorage.com",
  ]);
});

Deno.test("loadRoleConfig() lets BT_CHAIN_ENDPOINT override BT_NETWORK, and the miner read BT_NETUID first", async () => {
  const c = await load("miner", [], {
    BT_NETWORK: "test",
    BT_CHAIN_ENDPOINT: "ws://node:9944",
    BT_NETUID: "9",
    NETUID: "5",
  });
  deepStrictEqual([c.endpoint, c.netuid], ["ws://node:9944", 9]);
});

Deno.test("loadRoleConfig() ranks flags over .env over the environment", async () => {
  const c = await load(
    "validator",
    ["--netuid", "3", "-vv"],
    { NETUID: "1", BT_NETWORK: "test" },
    "NETUID=2\nBT_NETWORK=local\n",
  );
  deepStrictEqual([c.netuid, c.endpoint, c.envFile, c.logLevel], [
    3,
    "ws://127.0.0.1:9944",
    ".env",
    "debug",
  ]);
});

Deno.test("loadRoleConfig() names the bad value of a flag or variable", async () => {
  await rejects(() => load("validator", ["--mode", "lenient"], {}), /Invalid mode "lenient"/);
  await rejects(() => load("validator", [], { NETUID: "eighty" }), /Invalid NETUID "eighty"/);
  await rejects(() => load("validator", ["--network", "mainnet"], {}), /Unknown network "mainnet"/);
  await rejects(
    () => loadRoleConfig("miner", ["--env-file", "/nope/.env"], { HOME: "/h" }, noFile),
    /No env file at \/nope\/\.env/,
  );
});

Deno.test("loadRoleConfig() reports missing storage credentials instead of failing", async () => {
  const c = await load("miner", [], { R2_ACCOUNT_ID: "a" });
  deepStrictEqual(c.storage, null);
  ok(c.storageProblem?.includes("R2_WRITE_ACCESS_KEY_ID"));
});

Deno.test("describeConfig() never shows a secret, and configSecrets() lists them", async () => {
  const c = await load("miner", [], R2);
  const text = describeConfig(c).join("\n");
  for (const s of configSecrets(c)) ok(!text.includes(s), s);
  deepStrictEqual(configSecrets(c).sort(), [
    "read-secret-value",
    "write-secret-value",
    "writeid-xyz",
  ]);
});
