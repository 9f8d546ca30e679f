/**
 * Bittensor wallet folders (`<root>/<wallet>/coldkey`, `coldkeypub.txt`, `hotkeys/<hotkey>`):
 * load keyfiles into `@polkadot/keyring` sr25519 pairs, decrypt `$NACL` coldkeys, and create new
 * wallets in the same layout with atomic 0600 writes.
 *
 * Keyfile JSON fields (bittensor-wallet): `accountId`, `publicKey`, `privateKey`,
 * `secretPhrase`, `secretSeed`, `ss58Address` (hex with `0x`; absent or null when unknown).
 * Encrypted files are `"$NACL" || nonce(24) || secretbox(json)` with the key derived by Argon2i
 * v1.3 (libsodium's SENSITIVE limits: 8 passes, 512 MiB, parallelism 1) from the password and a
 * fixed 16-byte salt.
 *
 * Secrets never appear in messages, `JSON.stringify` or inspection output of these objects.
 *
 * @module
 */

import { Keyring } from "@polkadot/keyring";
import type { KeyringPair } from "@polkadot/keyring/types";
import { u8aToHex } from "@polkadot/util";
import {
  cryptoWaitReady,
  decodeAddress,
  encodeAddress,
  mnemonicGenerate,
  mnemonicToMiniSecret,
  mnemonicValidate,
  sr25519PairFromSeed,
  sr25519Verify,
} from "@polkadot/util-crypto";
import { secretbox } from "@noble/ciphers/salsa.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { argon2i } from "hash-wasm";
import { WalletError } from "./errors.ts";

/** SS58 prefix used by Bittensor. */
export const SS58_FORMAT = 42;
/** Header of NaCl-encrypted keyfiles. */
export const NACL_HEADER = "$NACL";
/** bittensor-wallet's fixed Argon2i salt. */
const NACL_SALT = new Uint8Array([
  0x13,
  0x71,
  0x83,
  0xdf,
  0xf1,
  0x5a,
  0x09,
  0xbc,
  0x9c,
  0x90,
  0xb5,
  0x51,
  0x87,
  0x39,
  0xe9,
  0xb1,
]);
/** libsodium crypto_pwhash_argon2i OPSLIMIT_SENSITIVE / MEMLIMIT_SENSITIVE (512 MiB in KiB). */
const ARGON2I_PASSES = 8;
const ARGON2I_MEMORY_KIB = 512 * 1024;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const REDACTED = "[redacted]";

/** Where a wallet lives. */
export interface WalletLocation {
  /** Wallets folder, usually `~/.bittensor/wallets`. */
  root: string;
  /** Wallet (coldkey) name, `BT_WALLET_COLD`. */
  name: string;
  /** Hotkey name, `BT_WALLET_HOT`; default `default`. */
  hotkey?: string;
}

/**
 * The default wallets folder, `$HOME/.bittensor/wallets`.
 *
 * @param env Variables (roles pass `Deno.env.toObject()`).
 * @returns The folder path.
 * @throws {RangeError} When `HOME` is unset.
 *
 * @example
 * ```ts
 * import { defaultWalletRoot } from "./wallet.ts";
 * if (defaultWalletRoot({ HOME: "/home/a" }) !== "/home/a/.bittensor/wallets") throw new Error("x");
 * ```
 */
export function defaultWalletRoot(env: Record<string, string | undefined>): string {
  const home = env.HOME;
  if (home === undefined || home === "") {
    throw new RangeError("HOME is not set; pass the wallets folder explicitly");
  }
  return `${home.replace(/\/+$/, "")}/.bittensor/wallets`;
}

/**
 * Name of the variable bittensor reads a coldkey password from: `BT_COLD_PW_<NAME>` with the
 * name upper-cased and `-` replaced by `_`.
 *
 * @param walletName Wallet name.
 * @returns Variable name.
 *
 * @example
 * ```ts
 * import { coldkeyPasswordVariable } from "./wallet.ts";
 * if (coldkeyPasswordVariable("my-wallet") !== "BT_COLD_PW_MY_WALLET") throw new Error("x");
 * ```
 */
export function coldkeyPasswordVariable(walletName: string): string {
  return `BT_COLD_PW_${walletName.toUpperCase().replaceAll("-", "_")}`;
}

function requireName(kind: string, name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new RangeError(`${kind} name must be a plain file name, got ${JSON.stringify(name)}`);
  }
}

/**
 * Paths of a wallet's files.
 *
 * @param location Root, wallet name and hotkey name.
 * @returns Folder, coldkey, coldkeypub and hotkey paths.
 * @throws {RangeError} For names with `/` or `..`.
 *
 * @example
 * ```ts
 * import { walletPaths } from "./wallet.ts";
 * const p = walletPaths({ root: "/w", name: "cold", hotkey: "hot" });
 * if (p.hotkey !== "/w/cold/hotkeys/hot" || p.coldkeypub !== "/w/cold/coldkeypub.txt") throw new Error("x");
 * ```
 */
export function walletPaths(
  location: WalletLocation,
): { dir: string; coldkey: string; coldkeypub: string; hotkey: string } {
  const hotkey = location.hotkey ?? "default";
  requireName("Wallet", location.name);
  requireName("Hotkey", hotkey);
  const dir = `${location.root.replace(/\/+$/, "")}/${location.name}`;
  return {
    dir,
    coldkey: `${dir}/coldkey`,
    coldkeypub: `${dir}/coldkeypub.txt`,
    hotkey: `${dir}/hotkeys/${hotkey}`,
  };
}

/** How a keyfile is protected. */
export type KeyfileEncryption = "none" | "nacl" | "ansible_vault" | "legacy_fernet";

/**
 * Detects a keyfile's encryption from its first bytes, as bittensor-wallet does.
 *
 * @param bytes File contents.
 * @returns The scheme.
 *
 * @example
 * ```ts
 * import { keyfileEncryption } from "./wallet.ts";
 * if (keyfileEncryption(new TextEncoder().encode("$NACL...")) !== "nacl") throw new Error("x");
 * ```
 */
export function keyfileEncryption(bytes: Uint8Array): KeyfileEncryption {
  const head = new TextDecoder().decode(bytes.subarray(0, 14));
  if (head.startsWith(NACL_HEADER)) return "nacl";
  if (head.startsWith("$ANSIBLE_VAULT")) return "ansible_vault";
  if (head.startsWith("gAAAAA")) return "legacy_fernet";
  return "none";
}

async function deriveNaclKey(password: string): Promise<Uint8Array> {
  return await argon2i({
    password,
    salt: NACL_SALT,
    iterations: ARGON2I_PASSES,
    parallelism: 1,
    memorySize: ARGON2I_MEMORY_KIB,
    hashLength: 32,
    outputType: "binary",
  });
}

/**
 * Decrypts a `$NACL` keyfile. Takes a few seconds: the Argon2i derivation uses 512 MiB.
 *
 * @param bytes Encrypted file contents.
 * @param password Coldkey password.
 * @param path File path, for messages.
 * @returns The plaintext keyfile JSON bytes.
 * @throws {WalletError} `bad_password`, `malformed` or `unsupported_encryption`.
 *
 * @example A file encrypted by an old scheme is refused before any key derivation
 * ```ts
 * import { decryptKeyfile } from "./wallet.ts";
 * const old = new TextEncoder().encode("$ANSIBLE_VAULT;1.1;AES256\n00");
 * const error = await decryptKeyfile(old, "pw").catch((e) => e);
 * if (error.code !== "unsupported_encryption") throw new Error("unexpected");
 * ```
 */
export async function decryptKeyfile(
  bytes: Uint8Array,
  password: string,
  path = "keyfile",
): Promise<Uint8Array> {
  const scheme = keyfileEncryption(bytes);
  if (scheme !== "nacl") {
    throw new WalletError(
      scheme === "none" ? "malformed" : "unsupported_encryption",
      scheme === "none"
        ? `${path} is not encrypted; load it without a password`
        : `${path} uses ${scheme} encryption, which this client does not read; re-encrypt it with a current btcli (NaCl)`,
      { path },
    );
  }
  const body = bytes.subarray(NACL_HEADER.length);
  if (body.length < NONCE_BYTES + TAG_BYTES) {
    throw new WalletError(
      "malformed",
      `${path} is truncated: ${bytes.length} bytes, expected at least ${
        NACL_HEADER.length + NONCE_BYTES + TAG_BYTES
      }`,
      { path },
    );
  }
  const key = await deriveNaclKey(password);
  try {
    return secretbox(key, body.slice(0, NONCE_BYTES)).open(body.slice(NONCE_BYTES));
  } catch (cause) {
    throw new WalletError(
      "bad_password",
      `Cannot decrypt ${path}: wrong password or corrupted file`,
      {
        path,
        cause,
      },
    );
  } finally {
    key.fill(0);
  }
}

/**
 * Encrypts keyfile JSON as bittensor-wallet does: `$NACL || nonce || secretbox`.
 *
 * @param plaintext Keyfile JSON bytes.
 * @param password Password (non-empty).
 * @param nonce 24 random bytes; default fresh from `crypto.getRandomValues`.
 * @returns Encrypted file contents.
 * @throws {RangeError} For an empty password or a wrong nonce length.
 *
 * @example Round trip (two Argon2i derivations: a few seconds)
 * ```ts
 * import { decryptKeyfile, encryptKeyfile } from "./wallet.ts";
 * const sealed = await encryptKeyfile(new TextEncoder().encode("{}"), "pw");
 * const opened = await decryptKeyfile(sealed, "pw");
 * if (new TextDecoder().decode(opened) !== "{}") throw new Error("unexpected");
 * ```
 */
export async function encryptKeyfile(
  plaintext: Uint8Array,
  password: string,
  nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
): Promise<Uint8Array> {
  if (password.length === 0) throw new RangeError("Keyfile password must not be empty");
  if (nonce.length !== NONCE_BYTES) {
    throw new RangeError(`Nonce must be ${NONCE_BYTES} bytes, got ${nonce.length}`);
  }
  const key = await deriveNaclKey(password);
  try {
    const sealed = secretbox(key, nonce).seal(plaintext);
    const out = new Uint8Array(NACL_HEADER.length + NONCE_BYTES + sealed.length);
    out.set(new TextEncoder().encode(NACL_HEADER));
    out.set(nonce, NACL_HEADER.length);
    out.set(sealed, NACL_HEADER.length + NONCE_BYTES);
    return out;
  } finally {
    key.fill(0);
  }
}

/** Shifts a little-endian 256-bit scalar left (×8) or right (÷8) by 3 bits. */
function shiftScalar(bytes: Uint8Array, direction: "mul8" | "div8"): Uint8Array {
  const out = new Uint8Array(32);
  if (direction === "mul8") {
    let carry = 0;
    for (let i = 0; i < 32; i++) {
      out[i] = ((bytes[i] << 3) | carry) & 0xff;
      carry = bytes[i] >> 5;
    }
  } else {
    for (let i = 0; i < 32; i++) out[i] = (bytes[i] >> 3) | (i < 31 ? (bytes[i + 1] & 7) << 5 : 0);
  }
  return out;
}

const FIELDS = [
  "accountId",
  "publicKey",
  "privateKey",
  "secretPhrase",
  "secretSeed",
  "ss58Address",
] as const;
type Field = typeof FIELDS[number];

/**
 * Parsed keyfile contents. Secret fields are readable but kept out of JSON and inspection.
 *
 * @example
 * ```ts
 * import { KeyfileData } from "./wallet.ts";
 * const data = KeyfileData.parse(new TextEncoder().encode('{"secretPhrase":"a b c","ss58Address":"5X"}'), "k");
 * if (JSON.stringify(data).includes("a b c") || data.secretPhrase !== "a b c") throw new Error("leak");
 * ```
 */
export class KeyfileData {
  readonly #fields: Partial<Record<Field, string>>;

  private constructor(fields: Partial<Record<Field, string>>) {
    this.#fields = fields;
  }

  /**
   * Parses keyfile JSON; unknown keys are ignored, `null` means absent.
   *
   * @param bytes Plaintext JSON bytes.
   * @param path File path, for messages.
   * @returns The data.
   * @throws {WalletError} `malformed`, naming the field (never its value).
   */
  static parse(bytes: Uint8Array, path: string): KeyfileData {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (cause) {
      throw new WalletError(
        "malformed",
        `${path} is not keyfile JSON (or is encrypted and needs a password)`,
        {
          path,
          cause,
        },
      );
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new WalletError("malformed", `${path} must hold a JSON object`, { path });
    }
    const fields: Partial<Record<Field, string>> = {};
    for (const field of FIELDS) {
      const value = (json as Record<string, unknown>)[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== "string") {
        throw new WalletError(
          "malformed",
          `${path}: field ${field} must be a string, got ${typeof value}`,
          { path },
        );
      }
      fields[field] = value;
    }
    return new KeyfileData(fields);
  }

  /**
   * Builds keyfile data from a pair's material.
   *
   * @param fields Field values (hex with `0x`).
   * @returns The data.
   */
  static from(fields: Partial<Record<Field, string>>): KeyfileData {
    return new KeyfileData({ ...fields });
  }

  /** Public key, `0x` hex. */
  get publicKey(): string | undefined {
    return this.#fields.publicKey ?? this.#fields.accountId;
  }
  /** SS58 address. */
  get ss58Address(): string | undefined {
    return this.#fields.ss58Address;
  }
  /** BIP-39 mnemonic (secret). */
  get secretPhrase(): string | undefined {
    return this.#fields.secretPhrase;
  }
  /** 32-byte mini secret, `0x` hex (secret). */
  get secretSeed(): string | undefined {
    return this.#fields.secretSeed;
  }
  /** 64-byte sr25519 secret key in bittensor's form, `0x` hex (secret). */
  get privateKey(): string | undefined {
    return this.#fields.privateKey;
  }
  /** Whether any secret material is present. */
  get hasSecret(): boolean {
    return this.secretPhrase !== undefined || this.secretSeed !== undefined ||
      this.privateKey !== undefined;
  }

  /**
   * The keyfile JSON with every field (secrets included) — for writing the file only.
   *
   * @returns JSON text readable by bittensor-wallet.
   */
  serialize(): string {
    const out: Record<string, string | null> = {};
    for (const field of FIELDS) out[field] = this.#fields[field] ?? null;
    return JSON.stringify(out);
  }

  /**
   * Redacted form.
   *
   * @returns Public fields and which secrets exist.
   */
  toJSON(): Record<string, string | undefined> {
    return {
      ss58Address: this.ss58Address,
      publicKey: this.publicKey,
      secrets: this.hasSecret ? REDACTED : undefined,
    };
  }

  /** Redacted form for `console.log` / `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `KeyfileData(${this.ss58Address ?? this.publicKey ?? "?"}, secrets ${
      this.hasSecret ? REDACTED : "none"
    })`;
  }
}

function hexField(
  data: KeyfileData,
  field: "secretSeed" | "privateKey" | "publicKey",
  bytes: number,
  path: string,
) {
  const value = data[field]!;
  const hex = value.startsWith("0x") ? value.slice(2) : value;
  if (hex.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new WalletError(
      "malformed",
      `${path}: field ${field} must be ${bytes} bytes of hex, got ${hex.length} characters`,
      { path },
    );
  }
  return hexToBytes(hex);
}

/**
 * Builds an sr25519 pair from keyfile data, preferring mnemonic, then seed, then private key
 * (bittensor-wallet's order), and checks it against the file's public key and address.
 *
 * @param data Parsed keyfile.
 * @param path File path, for messages.
 * @returns A signing pair (SS58 prefix 42).
 * @throws {WalletError} `no_secret` (address only), `malformed`, or `key_mismatch`.
 *
 * @example From a seed-only keyfile (bittensor-wallet's test vector)
 * ```ts
 * import { KeyfileData, keypairFromKeyfile } from "./wallet.ts";
 * const data = KeyfileData.from({
 *   secretSeed: "0xda3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143",
 * });
 * const pair = await keypairFromKeyfile(data, "example");
 * if (pair.address !== "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX") throw new Error("x");
 * ```
 */
export async function keypairFromKeyfile(data: KeyfileData, path: string): Promise<KeyringPair> {
  await cryptoWaitReady();
  let publicKey: Uint8Array;
  let secretKey: Uint8Array;
  if (data.secretPhrase !== undefined || data.secretSeed !== undefined) {
    let seed: Uint8Array;
    if (data.secretPhrase !== undefined) {
      if (!mnemonicValidate(data.secretPhrase)) {
        throw new WalletError("malformed", `${path}: secretPhrase is not a valid BIP-39 mnemonic`, {
          path,
        });
      }
      seed = mnemonicToMiniSecret(data.secretPhrase);
    } else {
      seed = hexField(data, "secretSeed", 32, path);
    }
    ({ publicKey, secretKey } = sr25519PairFromSeed(seed));
    seed.fill(0);
  } else if (data.privateKey !== undefined) {
    const stored = hexField(data, "privateKey", 64, path);
    // bittensor stores the schnorrkel scalar as-is; @polkadot keeps it multiplied by the cofactor.
    secretKey = new Uint8Array(64);
    secretKey.set(shiftScalar(stored.subarray(0, 32), "mul8"));
    secretKey.set(stored.subarray(32), 32);
    stored.fill(0);
    if (data.publicKey !== undefined) publicKey = hexField(data, "publicKey", 32, path);
    else if (data.ss58Address !== undefined) publicKey = addressToPublicKey(data.ss58Address, path);
    else {
      throw new WalletError(
        "malformed",
        `${path}: privateKey needs publicKey or ss58Address beside it`,
        { path },
      );
    }
  } else {
    throw new WalletError(
      "no_secret",
      `${path} holds only a public key (${
        data.ss58Address ?? data.publicKey ?? "none"
      }); it cannot sign`,
      { path },
    );
  }
  checkPublicMatches(data, publicKey, path);
  // The pair keeps a reference to secretKey, so it is not zeroed here.
  const pair = new Keyring({ type: "sr25519", ss58Format: SS58_FORMAT }).addFromPair({
    publicKey,
    secretKey,
  });
  const probe = new TextEncoder().encode("grail keyfile self-check");
  if (!sr25519Verify(probe, pair.sign(probe), publicKey)) {
    throw new WalletError(
      "key_mismatch",
      `${path}: the secret key does not belong to public key ${u8aToHex(publicKey)}`,
      {
        path,
      },
    );
  }
  return pair;
}

function addressToPublicKey(address: string, path: string): Uint8Array {
  try {
    return decodeAddress(address);
  } catch (cause) {
    throw new WalletError(
      "malformed",
      `${path}: ss58Address ${JSON.stringify(address.slice(0, 64))} is invalid`,
      {
        path,
        cause,
      },
    );
  }
}

function checkPublicMatches(data: KeyfileData, publicKey: Uint8Array, path: string): void {
  const derived = u8aToHex(publicKey);
  if (data.publicKey !== undefined && data.publicKey.toLowerCase() !== derived) {
    throw new WalletError(
      "key_mismatch",
      `${path}: secret derives ${derived} but publicKey says ${data.publicKey}`,
      {
        path,
      },
    );
  }
  if (data.ss58Address !== undefined) {
    const derivedAddress = encodeAddress(publicKey, SS58_FORMAT);
    if (u8aToHex(addressToPublicKey(data.ss58Address, path)) !== derived) {
      throw new WalletError(
        "key_mismatch",
        `${path}: secret derives ${derivedAddress} but ss58Address says ${data.ss58Address}`,
        { path },
      );
    }
  }
}

async function readFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new WalletError(
        "not_found",
        `Keyfile ${path} does not exist; create the wallet or fix its name`,
        {
          path,
          cause,
        },
      );
    }
    throw new WalletError("malformed", `Cannot read ${path}: ${(cause as Error).message}`, {
      path,
      cause,
    });
  }
}

async function readKeyfile(path: string, password: string | undefined): Promise<KeyfileData> {
  let bytes = await readFile(path);
  if (keyfileEncryption(bytes) !== "none") {
    if (password === undefined) {
      throw new WalletError("password_required", `${path} is encrypted; a password is required`, {
        path,
      });
    }
    bytes = await decryptKeyfile(bytes, password, path);
  }
  try {
    return KeyfileData.parse(bytes, path);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Loads the hotkey (the key that signs everything in GRAIL).
 *
 * @param location Root, wallet name and hotkey name.
 * @param password Only for an encrypted hotkey file.
 * @returns The signing pair.
 * @throws {WalletError} For a missing, malformed, encrypted-without-password or public-only file.
 *
 * @example
 * ```ts
 * import { loadHotkey } from "./wallet.ts";
 * const root = new URL("../../tests/fixtures/net/wallets", import.meta.url).pathname;
 * const pair = await loadHotkey({ root, name: "golden", hotkey: "from_seed" });
 * if (pair.address !== "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX") throw new Error("x");
 * ```
 */
export async function loadHotkey(
  location: WalletLocation,
  password?: string,
): Promise<KeyringPair> {
  const path = walletPaths(location).hotkey;
  return await keypairFromKeyfile(await readKeyfile(path, password), path);
}

/**
 * Loads and decrypts the coldkey.
 *
 * @param location Root and wallet name.
 * @param password Coldkey password (needed when the file is encrypted).
 * @returns The signing pair.
 * @throws {WalletError} `bad_password`, `password_required`, `not_found`, ...
 *
 * @example
 * ```ts
 * import { createWallet, loadColdkey } from "./wallet.ts";
 * const root = await Deno.makeTempDir();
 * const { coldkey } = await createWallet({ root, name: "w", coldkeyPassword: null });
 * if ((await loadColdkey({ root, name: "w" })).address !== coldkey.address) throw new Error("x");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function loadColdkey(
  location: WalletLocation,
  password?: string,
): Promise<KeyringPair> {
  const path = walletPaths(location).coldkey;
  return await keypairFromKeyfile(await readKeyfile(path, password), path);
}

/**
 * Reads `coldkeypub.txt` (public only, never encrypted).
 *
 * @param location Root and wallet name.
 * @returns Address and public key.
 * @throws {WalletError} For a missing or malformed file.
 *
 * @example
 * ```ts
 * import { loadColdkeyPub } from "./wallet.ts";
 * const root = new URL("../../tests/fixtures/net/wallets", import.meta.url).pathname;
 * const pub = await loadColdkeyPub({ root, name: "golden" });
 * if (pub.ss58Address !== "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX") throw new Error("x");
 * ```
 */
export async function loadColdkeyPub(
  location: WalletLocation,
): Promise<{ ss58Address: string; publicKey: Uint8Array }> {
  const path = walletPaths(location).coldkeypub;
  const data = KeyfileData.parse(await readFile(path), path);
  let publicKey: Uint8Array;
  if (data.publicKey !== undefined) publicKey = hexField(data, "publicKey", 32, path);
  else if (data.ss58Address !== undefined) publicKey = addressToPublicKey(data.ss58Address, path);
  else {throw new WalletError("malformed", `${path} has neither publicKey nor ss58Address`, {
      path,
    });}
  checkPublicMatches(data, publicKey, path);
  return { ss58Address: encodeAddress(publicKey, SS58_FORMAT), publicKey };
}

async function writeAtomic(path: string, bytes: Uint8Array, overwrite: boolean): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (!overwrite) {
    try {
      await Deno.lstat(path);
      throw new WalletError("exists", `${path} already exists; refusing to overwrite a key`, {
        path,
      });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const temp = `${dir}/.${path.slice(dir.length + 1)}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (cause) {
    await Deno.remove(temp).catch(() => undefined);
    throw new WalletError("malformed", `Cannot write ${path}: ${(cause as Error).message}`, {
      path,
      cause,
    });
  }
}

/** Options of {@linkcode createWallet}. */
export interface CreateWalletOptions extends WalletLocation {
  /** Coldkey password; `null` writes an unencrypted coldkey (local networks only). */
  coldkeyPassword: string | null;
  /** Coldkey mnemonic; default a fresh 12-word one. */
  coldkeyMnemonic?: string;
  /** Hotkey mnemonic; default a fresh 12-word one. */
  hotkeyMnemonic?: string;
  /** Replace existing files; default false. */
  overwrite?: boolean;
}

async function keyfileFor(mnemonic: string): Promise<{ data: KeyfileData; pair: KeyringPair }> {
  await cryptoWaitReady();
  if (!mnemonicValidate(mnemonic)) throw new RangeError("Mnemonic is not a valid BIP-39 phrase");
  const seed = mnemonicToMiniSecret(mnemonic);
  const { publicKey, secretKey } = sr25519PairFromSeed(seed);
  const stored = new Uint8Array(64);
  stored.set(shiftScalar(secretKey.subarray(0, 32), "div8"));
  stored.set(secretKey.subarray(32), 32);
  const publicHex = u8aToHex(publicKey);
  const data = KeyfileData.from({
    accountId: publicHex,
    publicKey: publicHex,
    privateKey: u8aToHex(stored),
    secretPhrase: mnemonic,
    secretSeed: u8aToHex(seed),
    ss58Address: encodeAddress(publicKey, SS58_FORMAT),
  });
  stored.fill(0);
  seed.fill(0);
  return { data, pair: await keypairFromKeyfile(data, "new key") };
}

/**
 * Creates a wallet: `coldkey` (NaCl-encrypted unless the password is `null`),
 * `coldkeypub.txt` and `hotkeys/<hotkey>` (plaintext, as btcli writes hotkeys); every file is
 * written atomically with mode 0600.
 *
 * @param options Location, password, optional mnemonics.
 * @returns The coldkey and hotkey pairs.
 * @throws {WalletError} `exists` unless `overwrite`.
 *
 * @example A local-network wallet with an unencrypted coldkey
 * ```ts
 * import { createWallet, loadHotkey } from "./wallet.ts";
 * const root = await Deno.makeTempDir();
 * const { hotkey } = await createWallet({ root, name: "miner1", hotkey: "default", coldkeyPassword: null });
 * const loaded = await loadHotkey({ root, name: "miner1", hotkey: "default" });
 * if (loaded.address !== hotkey.address) throw new Error("unexpected");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function createWallet(
  options: CreateWalletOptions,
): Promise<{ coldkey: KeyringPair; hotkey: KeyringPair }> {
  const paths = walletPaths(options);
  const overwrite = options.overwrite ?? false;
  const cold = await keyfileFor(options.coldkeyMnemonic ?? mnemonicGenerate(12));
  const hot = await keyfileFor(options.hotkeyMnemonic ?? mnemonicGenerate(12));
  const coldPlain = new TextEncoder().encode(cold.data.serialize());
  const coldBytes = options.coldkeyPassword === null
    ? coldPlain
    : await encryptKeyfile(coldPlain, options.coldkeyPassword);
  const pub = KeyfileData.from({
    accountId: cold.data.publicKey,
    publicKey: cold.data.publicKey,
    ss58Address: cold.data.ss58Address,
  });
  await writeAtomic(paths.coldkey, coldBytes, overwrite);
  await writeAtomic(paths.coldkeypub, new TextEncoder().encode(pub.serialize()), overwrite);
  await writeAtomic(paths.hotkey, new TextEncoder().encode(hot.data.serialize()), overwrite);
  coldPlain.fill(0);
  return { coldkey: cold.pair, hotkey: hot.pair };
}

/**
 * Adds a hotkey to an existing wallet folder.
 *
 * @param location Root, wallet name and the new hotkey's name.
 * @param options Optional mnemonic and overwrite flag.
 * @returns The hotkey pair.
 * @throws {WalletError} `exists` unless `overwrite`.
 *
 * @example
 * ```ts
 * import { createHotkey, loadHotkey } from "./wallet.ts";
 * const root = await Deno.makeTempDir();
 * const pair = await createHotkey({ root, name: "w", hotkey: "h2" });
 * if ((await loadHotkey({ root, name: "w", hotkey: "h2" })).address !== pair.address) throw new Error("x");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function createHotkey(
  location: WalletLocation,
  options: { mnemonic?: string; overwrite?: boolean } = {},
): Promise<KeyringPair> {
  const hot = await keyfileFor(options.mnemonic ?? mnemonicGenerate(12));
  await writeAtomic(
    walletPaths(location).hotkey,
    new TextEncoder().encode(hot.data.serialize()),
    options.overwrite ?? false,
  );
  return hot.pair;
}
