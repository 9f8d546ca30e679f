/**
 * sr25519 signatures of the commit binding and of the per-rollout challenge (protocol spec §4.3,
 * §4.4), with Substrate's signing context, as bittensor-wallet produces them. Built on
 * `@scure/sr25519`, the implementation `@polkadot/util-crypto` itself delegates to, imported
 * directly so this module needs no permissions (the tests cross-check against polkadot-js).
 *
 * @module
 */

import * as sr25519 from "@scure/sr25519";
import { ACCEPTED_PROOF_VERSIONS } from "./constants.ts";
import { commitBinding } from "./binding.ts";
import { bytesToHex, hexToBytes } from "./hex.ts";
import { ProtocolError } from "./protocol_error.ts";
import { SS58_PREFIX, ss58Decode, ss58Encode } from "./ss58.ts";

/** An sr25519 key pair: 32-byte public key, 64-byte secret key (Schnorrkel expanded form). */
export interface Sr25519Keypair {
  /** 32-byte public key. */
  publicKey: Uint8Array;
  /** 64-byte secret key. */
  secretKey: Uint8Array;
}

const WRAP_PREFIX = new TextEncoder().encode("<Bytes>");
const WRAP_SUFFIX = new TextEncoder().encode("</Bytes>");

function verifyOnce(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sr25519.verify(message, signature, publicKey);
  } catch {
    // Lengths are checked by the caller, so what @scure/sr25519 still throws on is bytes that do
    // not decode (no Schnorrkel marker, not a ristretto point, scalar out of range): an invalid
    // signature, exactly as the reference treats any verification exception.
    return false;
  }
}

/**
 * Derives an sr25519 key pair from a 32-byte mini-secret seed.
 *
 * @param seed 32 bytes of secret seed.
 * @returns The key pair.
 * @throws {RangeError} If `seed` is not 32 bytes.
 *
 * @example
 * ```ts
 * import { sr25519KeypairFromSeed } from "./signature.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(sr25519KeypairFromSeed(new Uint8Array(32)).publicKey.length, 32);
 * ```
 */
export function sr25519KeypairFromSeed(seed: Uint8Array): Sr25519Keypair {
  if (seed.length !== 32) {
    throw new RangeError(`Cannot derive an sr25519 key from ${seed.length} bytes: expected 32`);
  }
  const secretKey = sr25519.secretFromSeed(seed);
  return { publicKey: sr25519.getPublicKey(secretKey), secretKey };
}

/**
 * The SS58 address (prefix 42 by default) of a public key.
 *
 * @param publicKey 32-byte public key.
 * @param prefix SS58 network prefix; default 42.
 * @returns The address.
 * @throws {RangeError} If `publicKey` is not 32 bytes.
 *
 * @example
 * ```ts
 * import { ss58Address, sr25519KeypairFromSeed } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(ss58Address(sr25519KeypairFromSeed(new Uint8Array(32)).publicKey).startsWith("5"));
 * ```
 */
export function ss58Address(publicKey: Uint8Array, prefix: number = SS58_PREFIX): string {
  if (publicKey.length !== 32) {
    throw new RangeError(`Cannot encode a ${publicKey.length}-byte public key: expected 32`);
  }
  return ss58Encode(publicKey, prefix);
}

/**
 * The 32-byte public key of a signer given as an SS58 address (any prefix, checksum verified),
 * `0x`-hex, or raw bytes.
 *
 * @param signer SS58 address, hex public key, or 32 bytes.
 * @returns The public key.
 * @throws {ProtocolError} Code `"bad_signer"` if it cannot be decoded to 32 bytes.
 *
 * @example
 * ```ts
 * import { signerPublicKey } from "./signature.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(signerPublicKey("5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz").length, 32);
 * ```
 */
export function signerPublicKey(signer: string | Uint8Array): Uint8Array {
  if (signer instanceof Uint8Array) {
    if (signer.length !== 32) {
      throw new ProtocolError(
        "bad_signer",
        `Cannot use a ${signer.length}-byte signer key: expected a 32-byte sr25519 public key`,
      );
    }
    return signer;
  }
  if (/^0[xX][0-9a-fA-F]{64}$/.test(signer)) return hexToBytes(signer);
  try {
    return ss58Decode(signer).publicKey;
  } catch (cause) {
    throw new ProtocolError(
      "bad_signer",
      `Cannot decode signer ${
        JSON.stringify(signer.slice(0, 64))
      }: expected an SS58 address, 0x-hex or 32 public key bytes`,
      { cause },
    );
  }
}

/**
 * Signs bytes with sr25519 (signing context `"substrate"`), as bittensor-wallet's
 * `Keypair.sign(bytes)`. Signatures are randomized.
 *
 * @param message The bytes to sign (as-is, not wrapped).
 * @param keypair The signer's key pair.
 * @returns A 64-byte signature.
 * @throws {RangeError} If the key pair has the wrong sizes.
 *
 * @example
 * ```ts
 * import { signSr25519, sr25519KeypairFromSeed, verifySr25519 } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(7));
 * const message = new TextEncoder().encode("hello");
 * ok(verifySr25519(message, signSr25519(message, pair), pair.publicKey));
 * ```
 */
export function signSr25519(message: Uint8Array, keypair: Sr25519Keypair): Uint8Array {
  if (keypair.publicKey.length !== 32 || keypair.secretKey.length !== 64) {
    throw new RangeError(
      `Cannot sign with a ${keypair.publicKey.length}/${keypair.secretKey.length}-byte key pair: expected 32-byte public and 64-byte secret keys`,
    );
  }
  return sr25519.sign(keypair.secretKey, message);
}

/**
 * Verifies an sr25519 signature the way bittensor-wallet does: over the message, and failing
 * that over `"<Bytes>" || message || "</Bytes>"` (polkadot-js wallets sign the wrapped form).
 * A signature that is not 64 bytes is simply invalid.
 *
 * @param message The signed bytes.
 * @param signature The signature (64 bytes).
 * @param signer SS58 address, hex public key, or 32 bytes.
 * @returns Whether either form verifies.
 * @throws {ProtocolError} Code `"bad_signer"` if `signer` cannot be decoded.
 *
 * @example
 * ```ts
 * import { signSr25519, sr25519KeypairFromSeed, verifySr25519 } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(7));
 * const message = new TextEncoder().encode("hello");
 * const wrapped = new TextEncoder().encode("<Bytes>hello</Bytes>");
 * ok(verifySr25519(message, signSr25519(wrapped, pair), pair.publicKey));
 * ```
 */
export function verifySr25519(
  message: Uint8Array,
  signature: Uint8Array,
  signer: string | Uint8Array,
): boolean {
  const publicKey = signerPublicKey(signer);
  if (signature.length !== 64) return false;
  if (verifyOnce(message, signature, publicKey)) return true;
  const wrapped = new Uint8Array(WRAP_PREFIX.length + message.length + WRAP_SUFFIX.length);
  wrapped.set(WRAP_PREFIX, 0);
  wrapped.set(message, WRAP_PREFIX.length);
  wrapped.set(WRAP_SUFFIX, WRAP_PREFIX.length + message.length);
  return verifyOnce(wrapped, signature, publicKey);
}

/**
 * Verifies a miner's sr25519 signature over a commit binding (see `commitBinding`).
 *
 * @param binding The 32-byte commit binding.
 * @param signature The 64-byte signature (`hexToBytes(commit.signature)`).
 * @param signer The miner hotkey being validated: SS58 address or public key.
 * @returns Whether the signature is valid (plain or `<Bytes>`-wrapped message).
 * @throws {ProtocolError} Code `"bad_signer"` if `signer` cannot be decoded.
 *
 * @example
 * ```ts
 * import { signSr25519, sr25519KeypairFromSeed, verifyBindingSignature } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(9));
 * const binding = new Uint8Array(32).fill(1);
 * ok(verifyBindingSignature(binding, signSr25519(binding, pair), pair.publicKey));
 * ```
 */
export function verifyBindingSignature(
  binding: Uint8Array,
  signature: Uint8Array,
  signer: string | Uint8Array,
): boolean {
  return verifySr25519(binding, signature, signer);
}

/**
 * The per-rollout challenge string a miner signs: `episodeSeed + "|" + blockHash + "|" + nonce`.
 * At the reference's HEAD the episode seed is absent, so it starts with `"|"`.
 *
 * @param blockHash The window block hash (`"0x"` + 64 hex).
 * @param nonce The rollout nonce.
 * @param episodeSeed Leading seed text; default `""` as at HEAD.
 * @returns The challenge string.
 * @throws {RangeError} If `nonce` is not a safe integer.
 *
 * @example
 * ```ts
 * import { rolloutChallenge } from "./signature.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(rolloutChallenge("0xabab", 37), "|0xabab|37");
 * ```
 */
export function rolloutChallenge(
  blockHash: string,
  nonce: number,
  episodeSeed: string = "",
): string {
  if (!Number.isSafeInteger(nonce)) {
    throw new RangeError(`Cannot build a challenge for nonce ${nonce}: expected an integer`);
  }
  return `${episodeSeed}|${blockHash}|${nonce}`;
}

/**
 * Signs a rollout's challenge string (UTF-8) and returns lowercase hex, as stored in the row's
 * `signature` field.
 *
 * @param challenge The challenge string (see {@linkcode rolloutChallenge}).
 * @param keypair The miner's key pair.
 * @returns 128 hex digits.
 *
 * @example
 * ```ts
 * import { signRolloutChallenge, sr25519KeypairFromSeed, verifyRolloutSignature, ss58Address } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(3));
 * const challenge = "|0xabab|0";
 * const signature = signRolloutChallenge(challenge, pair);
 * ok(verifyRolloutSignature({ challenge, signature, hotkey: ss58Address(pair.publicKey) }));
 * ```
 */
export function signRolloutChallenge(challenge: string, keypair: Sr25519Keypair): string {
  return bytesToHex(signSr25519(new TextEncoder().encode(challenge), keypair));
}

/**
 * Verifies a row's signature (spec §5.6 step 3): `row.signature` over UTF-8 `row.challenge` by
 * `row.hotkey`. All three must be non-empty. (The reference checks neither the challenge's
 * content nor that the hotkey is the miner's; callers wanting that compare them separately.)
 *
 * @param row The row's `challenge`, `hotkey` and hex `signature`.
 * @returns Whether the signature is valid; false for empty fields or malformed hex.
 * @throws {ProtocolError} Code `"bad_signer"` if the hotkey cannot be decoded.
 *
 * @example
 * ```ts
 * import { verifyRolloutSignature } from "./signature.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(verifyRolloutSignature({ challenge: "", hotkey: "", signature: "" }), false);
 * ```
 */
export function verifyRolloutSignature(
  row: { readonly challenge: string; readonly hotkey: string; readonly signature: string },
): boolean {
  if (!row.challenge || !row.hotkey || !row.signature) return false;
  if (!/^(0[xX])?([0-9a-fA-F]{2})+$/.test(row.signature)) return false;
  return verifySr25519(
    new TextEncoder().encode(row.challenge),
    hexToBytes(row.signature),
    row.hotkey,
  );
}

/** The parts of a rollout's `commit` the binding covers, plus its signature. */
export interface SignedCommit {
  /** Full token list. */
  readonly tokens: readonly number[];
  /** Commitments as received. */
  readonly commitments: readonly { sketch: number }[];
  /** Proof version; must be `"v4"` or `"v5"`. */
  readonly proof_version: string;
  /** Claimed model. */
  readonly model: { readonly name: string; readonly layer_index: number };
  /** Hex signature over the binding. */
  readonly signature: string;
  /** Beacon holding the randomness. */
  readonly beacon: { readonly randomness: string };
}

// The commit binding's inputs, as the reference passes them from a commit dict (spec §4.3).
function bindingOf(commit: Omit<SignedCommit, "signature">): Uint8Array {
  return commitBinding(
    commit.tokens,
    commit.beacon.randomness,
    commit.model.name,
    commit.model.layer_index,
    commit.commitments,
  );
}

/**
 * Signs a commit's binding and returns lowercase hex, as stored in `commit.signature`.
 *
 * @param commit The commit without its signature.
 * @param keypair The miner's key pair.
 * @returns 128 hex digits.
 * @throws {RangeError} If the layer index or a token is invalid.
 * @throws {ProtocolError} Code `"bad_hex"` if the beacon randomness is not hex.
 *
 * @example
 * ```ts
 * import { signCommit, sr25519KeypairFromSeed, verifyCommitSignature } from "./signature.ts";
 * import { ok } from "node:assert/strict";
 *
 * const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(5));
 * const commit = {
 *   tokens: [1, 2], commitments: [{ sketch: 3 }, { sketch: 4 }], proof_version: "v5",
 *   model: { name: "m", layer_index: -1 }, beacon: { randomness: "ab" },
 * };
 * const signature = signCommit(commit, pair);
 * ok(verifyCommitSignature({ ...commit, signature }, pair.publicKey));
 * ```
 */
export function signCommit(
  commit: Omit<SignedCommit, "signature">,
  keypair: Sr25519Keypair,
): string {
  const binding = bindingOf(commit);
  return bytesToHex(signSr25519(binding, keypair));
}

/**
 * The validator's commit-binding check (spec §4.3): the proof version must be `"v4"` or `"v5"`;
 * the binding is recomputed from the received commit and `commit.signature` verified against the
 * miner hotkey being validated (not the row's `hotkey`).
 *
 * @param commit The received commit.
 * @param minerHotkey The miner being validated: SS58 address or public key.
 * @returns Whether the commit is validly signed by that miner.
 * @throws {ProtocolError} `"bad_signer"` for an undecodable hotkey, `"bad_hex"` for non-hex randomness.
 *
 * @example
 * ```ts
 * import { verifyCommitSignature } from "./signature.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const commit = {
 *   tokens: [1], commitments: [{ sketch: 3 }], proof_version: "v3", signature: "00".repeat(64),
 *   model: { name: "m", layer_index: -1 }, beacon: { randomness: "ab" },
 * };
 * strictEqual(verifyCommitSignature(commit, "5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz"), false);
 * ```
 */
export function verifyCommitSignature(
  commit: SignedCommit,
  minerHotkey: string | Uint8Array,
): boolean {
  if (!ACCEPTED_PROOF_VERSIONS.includes(commit.proof_version)) return false;
  if (!/^(0[xX])?([0-9a-fA-F]{2})+$/.test(commit.signature)) return false;
  const binding = bindingOf(commit);
  return verifyBindingSignature(binding, hexToBytes(commit.signature), minerHotkey);
}
