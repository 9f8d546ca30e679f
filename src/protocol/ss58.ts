/**
 * SS58 addresses of 32-byte public keys (Substrate's address format; Bittensor uses prefix 42).
 * Implemented here on `@scure/base` and BLAKE2b so the verification library needs no
 * permissions (polkadot-js probes environment variables when imported).
 *
 * @module
 */

import { base58 } from "@scure/base";
import { blake2b } from "@noble/hashes/blake2.js";
import { ProtocolError } from "./protocol_error.ts";

/** SS58 network prefix of Bittensor addresses. */
export const SS58_PREFIX = 42;

const SS58PRE = new TextEncoder().encode("SS58PRE");

function checksum(body: Uint8Array): Uint8Array {
  const input = new Uint8Array(SS58PRE.length + body.length);
  input.set(SS58PRE, 0);
  input.set(body, SS58PRE.length);
  return blake2b(input, { dkLen: 64 }).subarray(0, 2);
}

function prefixBytes(prefix: number): Uint8Array {
  if (prefix < 64) return Uint8Array.of(prefix);
  return Uint8Array.of(
    ((prefix & 0b1111_1100) >> 2) | 0b0100_0000,
    (prefix >> 8) | ((prefix & 0b11) << 6),
  );
}

/**
 * Encodes a 32-byte public key as an SS58 address.
 *
 * @param publicKey 32-byte public key.
 * @param prefix Network prefix in `[0, 16383]`; default 42 (Bittensor / generic Substrate).
 * @returns The address.
 * @throws {RangeError} If the key is not 32 bytes or the prefix is out of range.
 *
 * @example
 * ```ts
 * import { ss58Encode } from "./ss58.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * // //Alice's public key
 * const alice = Uint8Array.from(
 *   "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d".match(/../g)!,
 *   (h) => parseInt(h, 16),
 * );
 * strictEqual(ss58Encode(alice), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
 * ```
 */
export function ss58Encode(publicKey: Uint8Array, prefix: number = SS58_PREFIX): string {
  if (publicKey.length !== 32) {
    throw new RangeError(`Cannot encode a ${publicKey.length}-byte public key: expected 32`);
  }
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 16383) {
    throw new RangeError(
      `Cannot encode with SS58 prefix ${prefix}: expected an integer in [0, 16383]`,
    );
  }
  const head = prefixBytes(prefix);
  const body = new Uint8Array(head.length + 32);
  body.set(head, 0);
  body.set(publicKey, head.length);
  const full = new Uint8Array(body.length + 2);
  full.set(body, 0);
  full.set(checksum(body), body.length);
  return base58.encode(full);
}

/** A decoded SS58 address. */
export interface Ss58Decoded {
  /** The 32-byte public key. */
  publicKey: Uint8Array;
  /** The network prefix. */
  prefix: number;
}

/**
 * Decodes an SS58 address of a 32-byte key, verifying its checksum.
 *
 * @param address The address.
 * @returns The public key and network prefix.
 * @throws {ProtocolError} Code `"bad_address"` for bad base58, a wrong length or checksum.
 *
 * @example
 * ```ts
 * import { ss58Decode } from "./ss58.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const { publicKey, prefix } = ss58Decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
 * strictEqual(prefix, 42);
 * strictEqual(publicKey[0], 0xd4);
 * ```
 */
export function ss58Decode(address: string): Ss58Decoded {
  const shown = JSON.stringify(address.length > 64 ? `${address.slice(0, 64)}…` : address);
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(address);
  } catch (cause) {
    throw new ProtocolError(
      "bad_address",
      `Cannot decode SS58 address ${shown}: not base58; expected an address such as 5F3sa2…`,
      { cause },
    );
  }
  const headLength = bytes.length > 0 && (bytes[0] & 0b0100_0000) ? 2 : 1;
  if (bytes.length !== headLength + 32 + 2 || bytes[0] >= 128) {
    throw new ProtocolError(
      "bad_address",
      `Cannot decode SS58 address ${shown}: ${bytes.length} bytes do not hold a 32-byte key`,
    );
  }
  const body = bytes.subarray(0, headLength + 32);
  const expected = checksum(body);
  if (bytes[headLength + 32] !== expected[0] || bytes[headLength + 33] !== expected[1]) {
    throw new ProtocolError(
      "bad_address",
      `Cannot decode SS58 address ${shown}: checksum mismatch`,
    );
  }
  const prefix = headLength === 1
    ? bytes[0]
    : ((bytes[0] & 0b0011_1111) << 2) | (bytes[1] >> 6) | ((bytes[1] & 0b0011_1111) << 8);
  return { publicKey: bytes.slice(headLength, headLength + 32), prefix };
}
