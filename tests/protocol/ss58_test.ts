// Golden values: polkadot-js (@polkadot/util-crypto encodeAddress/decodeAddress), an independent
// SS58 implementation, and the fixture hotkey. Exact.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeAddress, encodeAddress } from "@polkadot/util-crypto";
import { ss58Decode, ss58Encode } from "../../src/protocol/ss58.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";

const HOTKEY = "5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz";

Deno.test("ss58Decode() gives polkadot-js's public key for the fixture hotkey", () => {
  const decoded = ss58Decode(HOTKEY);
  deepStrictEqual(decoded.publicKey, decodeAddress(HOTKEY));
  strictEqual(decoded.prefix, 42);
});

Deno.test("ss58Encode() matches polkadot-js for one- and two-byte prefixes", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 255);
  for (const prefix of [0, 2, 42, 63, 64, 255, 1284, 16383]) {
    const address = ss58Encode(key, prefix);
    strictEqual(address, encodeAddress(key, prefix), `prefix ${prefix}`);
    deepStrictEqual(ss58Decode(address), { publicKey: key, prefix });
  }
});

Deno.test("ss58Decode() rejects a bad checksum", () => {
  const broken = HOTKEY.slice(0, -1) + (HOTKEY.endsWith("z") ? "y" : "z");
  throws(
    () => ss58Decode(broken),
    (e: unknown) => e instanceof ProtocolError && e.code === "bad_address",
  );
});

Deno.test("ss58Decode() rejects non-base58 text and wrong lengths", () => {
  throws(() => ss58Decode("0OIl"), ProtocolError);
  throws(() => ss58Decode("5Dabc"), ProtocolError);
});

Deno.test("ss58Encode() rejects a key that is not 32 bytes", () => {
  throws(() => ss58Encode(new Uint8Array(33)), RangeError);
});
