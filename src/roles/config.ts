/**
 * Role configuration from flags, environment variables with the reference's names (infra spec
 * §7) and a `.env` file. Precedence: flags, then the `.env` file, then the process environment
 * — the reference loads `.env` with override, so its values beat the shell's.
 *
 * Secrets (R2 keys, wallet passwords) are kept out of {@linkcode describeConfig} and registered
 * with the logger so they are masked if they ever reach a message.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { resolveNetwork } from "../net/chain.ts";
import { type StorageCredentials, storageCredentialsFromEnv } from "../net/credentials.ts";
import { defaultWalletRoot } from "../net/wallet.ts";
import type { LogLevel } from "./logger.ts";

/** One role's settings. */
export interface RoleConfig {
  /** Which role. */
  role: "miner" | "validator";
  /** Network name or URL as given (`finney`, `test`, `local`, `ws://…`). */
  network: string;
  /** Resolved WebSocket endpoint. */
  endpoint: string;
  /** Subnet (`NETUID`, default 81). */
  netuid: number;
  /** Wallet folder, coldkey name (`BT_WALLET_COLD`), hotkey name (`BT_WALLET_HOT`). */
  wallet: { root: string; name: string; hotkey: string };
  /** Bucket credentials (`R2_*`); null when unset (the role refuses to start). */
  storage: StorageCredentials | null;
  /** Why `storage` is null, when it is. */
  storageProblem: string | null;
  /** Checkpoint cache (`GRAIL_CACHE_DIR`, default `~/.cache/grail`). */
  cacheDir: string;
  /** Role state folder (`GRAIL_STATE_DIR`, default `<cacheDir>/state`). */
  stateDir: string;
  /** drand on (`--use-drand`, default) or off (`--no-drand`). */
  useDrand: boolean;
  /** Model backend (`GRAIL_BACKEND`, default webgpu). */
  backend: "webgpu" | "cpu" | "cuda";
  /** Validator rules (`GRAIL_VERIFY_MODE`, default compat on the live subnet). */
  mode: "strict" | "compat";
  /** Prometheus port on 127.0.0.1 (`GRAIL_METRICS_PORT`); null = off. */
  metricsPort: number | null;
  /** Log level: none = warning, `-v` info, `-vv` debug. */
  logLevel: LogLevel;
  /** Validator `--test-mode`: validate only the own hotkey's file. */
  testMode: boolean;
  /** Miner `GRAIL_MINER_SAFETY_BLOCKS` (default 3). */
  safetyBlocks: number;
  /** Miner: most groups per window (`--max-groups`), unlimited when null. */
  maxGroups: number | null;
  /** The `.env` file read, or null. */
  envFile: string | null;
  /** `GRAIL_LOG_FILE`: also append log lines to this file (no rotation), or null. */
  logFile: string | null;
  /** `BT_CALL_TIMEOUT` in ms (default 15 s). */
  callTimeoutMs: number;
}

/**
 * Parses a `.env` file: `KEY=value` lines, optional `export `, `#` comments, single or double
 * quotes (double quotes understand `\n`), inline comments after unquoted values.
 *
 * @param text File content.
 * @param source Name for errors.
 * @returns The variables.
 * @throws {SyntaxError} For a line that is not an assignment, naming the line.
 *
 * @example
 * ```ts
 * import { parseDotEnv } from "./config.ts";
 * const env = parseDotEnv('# c\nexport NETUID=81\nR2_REGION="auto" # x\nA=\'b c\'\n', ".env");
 * if (env.NETUID !== "81" || env.R2_REGION !== "auto" || env.A !== "b c") throw new Error();
 * ```
 */
export function parseDotEnv(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (m === null) {
      throw new SyntaxError(
        `Invalid line ${i + 1} in ${source}: ${
          JSON.stringify(raw.slice(0, 40))
        }; expected KEY=value`,
      );
    }
    let value = m[2];
    if (value.startsWith('"')) {
      const end = value.lastIndexOf('"');
      value = value.slice(1, end > 0 ? end : undefined).replaceAll("\\n", "\n").replaceAll(
        '\\"',
        '"',
      );
    } else if (value.startsWith("'")) {
      const end = value.lastIndexOf("'");
      value = value.slice(1, end > 0 ? end : undefined);
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    out[m[1]] = value;
  });
  return out;
}

function intIn(name: string, value: string, lo: number, hi: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new RangeError(
      `Invalid ${name} ${JSON.stringify(value)}: expected an integer in [${lo}, ${hi}]`,
    );
  }
  return n;
}

/** Usage text of the flags shared by `grail mine` and `grail validate`. */
export const ROLE_FLAGS_USAGE = `Options (flags beat .env, which beats the environment):
  --network NAME|URL      finney | test | local | archive | ws://… (BT_NETWORK, BT_CHAIN_ENDPOINT)
  --netuid N              subnet (NETUID; default 81)
  --wallet.name NAME      coldkey wallet name (BT_WALLET_COLD; default "default")
  --wallet.hotkey NAME    hotkey name (BT_WALLET_HOT; default "default")
  --wallet.path DIR       wallets folder (BT_WALLET_PATH; default ~/.bittensor/wallets)
  --use-drand/--no-drand  bind drand randomness (default on)
  --backend NAME          webgpu, cpu or cuda (GRAIL_BACKEND; default webgpu)
  --cache-dir DIR         checkpoint cache (GRAIL_CACHE_DIR; default ~/.cache/grail)
  --state-dir DIR         resume state (GRAIL_STATE_DIR; default <cache-dir>/state)
  --metrics-port N        Prometheus endpoint on 127.0.0.1:N (GRAIL_METRICS_PORT; default off)
  --env-file PATH         .env file to read (default ./.env when present)
  -v, -vv                 INFO, DEBUG logs (default: warnings and errors only; GRAIL_LOG_FILE
                          also appends them to a file)
Storage: R2_ACCOUNT_ID, R2_BUCKET_ID, R2_READ_ACCESS_KEY_ID, R2_READ_SECRET_ACCESS_KEY,
  R2_WRITE_ACCESS_KEY_ID, R2_WRITE_SECRET_ACCESS_KEY, R2_ENDPOINT_URL, R2_REGION, R2_FORCE_PATH_STYLE`;

/**
 * Builds a role's configuration.
 *
 * @param role `miner` or `validator`.
 * @param args Command-line arguments after the subcommand.
 * @param env The process environment (`Deno.env.toObject()`).
 * @param readTextFile Reads the `.env` file (default `Deno.readTextFile`).
 * @returns The configuration, or `{ help: true }` for `-h`.
 * @throws {RangeError} / {SyntaxError} / {TypeError} Naming the flag, variable or file at fault.
 *
 * @example
 * ```ts
 * import { loadRoleConfig } from "./config.ts";
 * const c = await loadRoleConfig("validator", ["--network", "local", "-v"], { HOME: "/h", NETUID: "7" },
 *   () => Promise.reject(new Deno.errors.NotFound()));
 * if ("help" in c || c.endpoint !== "ws://127.0.0.1:9944" || c.netuid !== 7 || c.logLevel !== "info") {
 *   throw new Error();
 * }
 * ```
 */
export async function loadRoleConfig(
  role: "miner" | "validator",
  args: string[],
  env: Record<string, string | undefined>,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<RoleConfig | { help: true }> {
  const { values } = parseArgs({
    args,
    options: {
      network: { type: "string" },
      netuid: { type: "string" },
      "wallet.name": { type: "string" },
      "wallet.hotkey": { type: "string" },
      "wallet.path": { type: "string" },
      "use-drand": { type: "boolean" },
      "no-drand": { type: "boolean" },
      backend: { type: "string" },
      mode: { type: "string" },
      "cache-dir": { type: "string" },
      "state-dir": { type: "string" },
      "metrics-port": { type: "string" },
      "env-file": { type: "string" },
      "test-mode": { type: "boolean" },
      "max-groups": { type: "string" },
      verbose: { type: "boolean", short: "v", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return { help: true };
  let envFile: string | null = values["env-file"] ?? ".env";
  let fileVars: Record<string, string> = {};
  try {
    fileVars = parseDotEnv(await readTextFile(envFile), envFile);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    if (values["env-file"] !== undefined) {
      throw new TypeError(`No env file at ${envFile}; fix --env-file or create the file`);
    }
    envFile = null;
  }
  const merged: Record<string, string | undefined> = { ...env, ...fileVars };
  const get = (k: string) => {
    const v = merged[k]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const network = values.network ?? get("BT_CHAIN_ENDPOINT") ?? get("BT_NETWORK") ?? "finney";
  const netuidText = values.netuid ?? (role === "miner" ? get("BT_NETUID") : undefined) ??
    get("NETUID") ?? "81";
  const backend = values.backend ?? get("GRAIL_BACKEND") ?? "webgpu";
  if (backend !== "webgpu" && backend !== "cpu" && backend !== "cuda") {
    throw new RangeError(
      `Invalid backend ${JSON.stringify(backend)}: expected webgpu, cpu or cuda`,
    );
  }
  const mode = values.mode ?? get("GRAIL_VERIFY_MODE") ?? "compat";
  if (mode !== "strict" && mode !== "compat") {
    throw new RangeError(`Invalid mode ${JSON.stringify(mode)}: expected strict or compat`);
  }
  const home = get("HOME") ?? "";
  const cacheDir = values["cache-dir"] ?? get("GRAIL_CACHE_DIR") ?? `${home}/.cache/grail`;
  const portText = values["metrics-port"] ?? get("GRAIL_METRICS_PORT");
  let storage: StorageCredentials | null = null;
  let storageProblem: string | null = null;
  try {
    storage = storageCredentialsFromEnv(merged);
  } catch (e) {
    storageProblem = (e as Error).message;
  }
  const verbosity = values.verbose?.length ?? 0;
  return {
    role,
    network,
    endpoint: resolveNetwork(network),
    netuid: intIn("NETUID", netuidText, 0, 65535),
    wallet: {
      root: values["wallet.path"] ?? get("BT_WALLET_PATH") ?? defaultWalletRoot({ HOME: home }),
      name: values["wallet.name"] ?? get("BT_WALLET_COLD") ?? "default",
      hotkey: values["wallet.hotkey"] ?? get("BT_WALLET_HOT") ?? "default",
    },
    storage,
    storageProblem,
    cacheDir,
    stateDir: values["state-dir"] ?? get("GRAIL_STATE_DIR") ?? `${cacheDir}/state`,
    useDrand: values["no-drand"] !== true,
    backend,
    mode,
    metricsPort: portText === undefined ? null : intIn("metrics port", portText, 0, 65535),
    logLevel: verbosity >= 2 ? "debug" : verbosity === 1 ? "info" : "warning",
    testMode: values["test-mode"] === true,
    safetyBlocks: intIn(
      "GRAIL_MINER_SAFETY_BLOCKS",
      get("GRAIL_MINER_SAFETY_BLOCKS") ?? "3",
      0,
      29,
    ),
    maxGroups: values["max-groups"] === undefined
      ? null
      : intIn("--max-groups", values["max-groups"], 1, 1_000_000),
    envFile,
    logFile: get("GRAIL_LOG_FILE") ?? null,
    callTimeoutMs: 1000 * intIn("BT_CALL_TIMEOUT", get("BT_CALL_TIMEOUT") ?? "15", 1, 3600),
  };
}

/**
 * The configuration as printable lines, secrets replaced by `***` (key ids are shown, as the
 * chain commitment publishes the read key id anyway; write key ids are masked too).
 *
 * @param c The configuration.
 * @returns Lines.
 *
 * @example
 * ```ts
 * import { describeConfig, loadRoleConfig } from "./config.ts";
 * const c = await loadRoleConfig("miner", [], {
 *   HOME: "/h", R2_ACCOUNT_ID: "acct", R2_WRITE_ACCESS_KEY_ID: "wid",
 *   R2_WRITE_SECRET_ACCESS_KEY: "very-secret-value",
 * }, () => Promise.reject(new Deno.errors.NotFound()));
 * if ("help" in c || describeConfig(c).join("\n").includes("very-secret")) throw new Error();
 * ```
 */
export function describeConfig(c: RoleConfig): string[] {
  const s = c.storage;
  return [
    `role ${c.role} on ${c.network} (${c.endpoint}), netuid ${c.netuid}`,
    `wallet ${c.wallet.name}/${c.wallet.hotkey} in ${c.wallet.root}`,
    s === null
      ? `storage: not configured (${c.storageProblem})`
      : `storage: bucket ${s.bucket} at ${s.endpoint} (region ${s.region}${
        s.forcePathStyle ? ", path-style" : ""
      }), read key ${s.read.accessKeyId} / ***, write key *** / ***${
        s.singleKeyMode ? " (single-key mode)" : ""
      }`,
    `backend ${c.backend}, mode ${c.mode}, drand ${c.useDrand ? "on" : "off"}`,
    `cache ${c.cacheDir}, state ${c.stateDir}, metrics ${
      c.metricsPort === null ? "off" : `127.0.0.1:${c.metricsPort}`
    }, env file ${c.envFile ?? "none"}`,
  ];
}

/**
 * The secret strings of a configuration (for `Logger.addSecret`).
 *
 * @param c The configuration.
 * @returns Secret values.
 */
export function configSecrets(c: RoleConfig): string[] {
  const s = c.storage;
  return s === null ? [] : [s.read.secretAccessKey, s.write.secretAccessKey, s.write.accessKeyId];
}
