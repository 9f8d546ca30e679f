// Golden values: the real sr25519 signatures in ../shared/fixtures/window/qwen3-tiny-window.json
// (made with bittensor-wallet by the hotkey 5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz),
// grail-vectors.json rollout_challenge_string, and cross-checks against polkadot-js
// (@polkadot/util-crypto), an independent sr25519 front end. Signatures are randomized, so
// round trips are checked by verification, never by bytes.
import { ok, strictEqual, throws } from "node:assert/strict";
import { sr25519Sign, sr25519Verify } from "@polkadot/util-crypto";
import {
  rolloutChallenge,
  signCommit,
  signerPublicKey,
  signRolloutChallenge,
  signSr25519,
  sr25519KeypairFromSeed,
  ss58Address,
  verifyBindingSignature,
  verifyCommitSignature,
  verifyRolloutSignature,
  verifySr25519,
} from "../../src/protocol/signature.ts";
import { commitBinding } from "../../src/protocol/binding.ts";
import { hexToBytes } from "../../src/protocol/hex.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import { parseRollout, type Rollout } from "../../src/protocol/rollout.ts";
import { readFixtureJson } from "./_fixtures.ts";

const FIXTURE_HOTKEY = "5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz";
const window = await readFixtureJson<{ wallet: string; inferences: unknown[] }>(
  "window/qwen3-tiny-window.json",
);
const rows: Rollout[] = window.inferences.map((r) => parseRollout(r));
const grail = await readFixtureJson<{
  rollout_challenge_string: { example: { block_hash: string; nonce: number; challenge: string } };
}>("grail-vectors.json");

const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(11));
const other = sr25519KeypairFromSeed(new Uint8Array(32).fill(12));
const binding = commitBinding([1, 2, 3], "ab", "m", -1, [{ sketch: 1 }, { sketch: 2 }, {
  sketch: 3,
}]);

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

Deno.test("verifyCommitSignature() accepts all 3 real commit-binding signatures of the window fixture", () => {
  strictEqual(window.wallet, FIXTURE_HOTKEY);
  let matched = 0;
  for (const row of rows) {
    ok(verifyCommitSignature(row.commit, FIXTURE_HOTKEY), `nonce ${row.nonce}`);
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("verifyRolloutSignature() accepts all 3 real row signatures over the challenge", () => {
  let matched = 0;
  for (const row of rows) {
    strictEqual(row.hotkey, FIXTURE_HOTKEY);
    strictEqual(row.challenge, rolloutChallenge(row.block_hash, row.nonce));
    ok(verifyRolloutSignature(row), `nonce ${row.nonce}`);
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("verifyCommitSignature() rejects a real signature once one sketch is changed", () => {
  const row = structuredClone(rows[1]);
  row.commit.commitments[10] = { sketch: row.commit.commitments[10].sketch ^ 1 };
  strictEqual(verifyCommitSignature(row.commit, FIXTURE_HOTKEY), false);
});

Deno.test("verifyCommitSignature() rejects a real signature checked against another hotkey", () => {
  strictEqual(verifyCommitSignature(rows[0].commit, ss58Address(other.publicKey)), false);
});

Deno.test("verifyCommitSignature() rejects proof versions other than v4 and v5", () => {
  const commit = { ...rows[0].commit, proof_version: "v3" };
  strictEqual(verifyCommitSignature(commit, FIXTURE_HOTKEY), false);
});

Deno.test("verifyRolloutSignature() rejects a real signature over another challenge", () => {
  strictEqual(verifyRolloutSignature({ ...rows[0], challenge: rows[1].challenge }), false);
});

Deno.test("rolloutChallenge() matches the grail-vectors challenge string", () => {
  const v = grail.rollout_challenge_string.example;
  strictEqual(rolloutChallenge(v.block_hash, v.nonce), v.challenge);
});

Deno.test("verifyBindingSignature() accepts a fresh signature by the signer's address and key", () => {
  const signature = signSr25519(binding, pair);
  strictEqual(signature.length, 64);
  ok(verifyBindingSignature(binding, signature, ss58Address(pair.publicKey)));
  ok(verifyBindingSignature(binding, signature, pair.publicKey));
});

Deno.test("verifyBindingSignature() rejects a wrong key", () => {
  strictEqual(verifyBindingSignature(binding, signSr25519(binding, pair), other.publicKey), false);
});

Deno.test("verifyBindingSignature() rejects a signature with one bit flipped", () => {
  const signature = signSr25519(binding, pair);
  for (const bit of [0, 255, 511]) {
    strictEqual(verifyBindingSignature(binding, flipBit(signature, bit), pair.publicKey), false);
  }
});

Deno.test("verifyBindingSignature() rejects a binding with one bit flipped", () => {
  const signature = signSr25519(binding, pair);
  strictEqual(verifyBindingSignature(flipBit(binding, 77), signature, pair.publicKey), false);
});

Deno.test("verifySr25519() accepts a signature over the <Bytes>-wrapped message", () => {
  const message = new TextEncoder().encode("|0xabab|3");
  const wrapped = new TextEncoder().encode("<Bytes>|0xabab|3</Bytes>");
  ok(verifySr25519(message, signSr25519(wrapped, pair), pair.publicKey));
});

Deno.test("verifySr25519() does not accept a plain signature for the wrapped message", () => {
  // bittensor-wallet wraps the message being verified, never unwraps it.
  const message = new TextEncoder().encode("abc");
  const wrapped = new TextEncoder().encode("<Bytes>abc</Bytes>");
  strictEqual(verifySr25519(wrapped, signSr25519(message, pair), pair.publicKey), false);
});

Deno.test("verifySr25519() treats a signature of the wrong length as invalid", () => {
  strictEqual(verifySr25519(binding, new Uint8Array(63), pair.publicKey), false);
});

Deno.test("verifySr25519() agrees with polkadot-js in both directions", () => {
  const ours = signSr25519(binding, pair);
  ok(sr25519Verify(binding, ours, pair.publicKey));
  const theirs = sr25519Sign(binding, pair);
  ok(verifySr25519(binding, theirs, pair.publicKey));
});

Deno.test("signCommit() and signRolloutChallenge() produce hex that the verifiers accept", () => {
  const commit = {
    tokens: [5, 6],
    commitments: [{ sketch: 9 }, { sketch: 10 }],
    proof_version: "v5",
    model: { name: "m", layer_index: -1 },
    beacon: { randomness: "0xab" },
  };
  const signature = signCommit(commit, pair);
  ok(/^[0-9a-f]{128}$/.test(signature));
  ok(verifyCommitSignature({ ...commit, signature }, ss58Address(pair.publicKey)));
  const challenge = rolloutChallenge("0x" + "12".repeat(32), 17);
  ok(
    verifyRolloutSignature({
      challenge,
      hotkey: ss58Address(pair.publicKey),
      signature: signRolloutChallenge(challenge, pair),
    }),
  );
});

Deno.test("verifyRolloutSignature() rejects empty fields and non-hex signatures", () => {
  strictEqual(verifyRolloutSignature({ ...rows[0], signature: "" }), false);
  strictEqual(verifyRolloutSignature({ ...rows[0], signature: "zz" }), false);
});

Deno.test("signerPublicKey() decodes SS58 and 0x-hex and rejects garbage with bad_signer", () => {
  const key = signerPublicKey(FIXTURE_HOTKEY);
  strictEqual(
    signerPublicKey("0x" + Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("")).length,
    32,
  );
  throws(
    () => signerPublicKey("not-an-address"),
    (e: unknown) => e instanceof ProtocolError && e.code === "bad_signer",
  );
  throws(() => signerPublicKey(new Uint8Array(31)), ProtocolError);
});

Deno.test("hexToBytes() of a fixture signature gives 64 bytes", () => {
  strictEqual(hexToBytes(rows[0].signature).length, 64);
});
