/**
 * grail for Deno — the GRAIL v5 verification library: everything needed to check a rollout's
 * proof without a GPU or any permission. Protocol constants, the PRF, the CPython-compatible RNG,
 * challenge indices, sketch coefficients and sketches, tolerance and verification, hashes, the
 * commit binding, sr25519 signatures, seeds, and the rollout record with its parser.
 *
 * @example Commit to hidden states and verify the commitment
 * ```ts
 * import {
 *   challengeIndicesInRange, sketchCoefficients, sketches, verifyCommitmentsAt,
 * } from "./mod.ts";
 * import { ok } from "node:assert/strict";
 *
 * const hiddenDim = 64, lenTokens = 48, promptLength = 8;
 * const hidden = Float32Array.from({ length: lenTokens * hiddenDim }, (_, i) => Math.sin(i) * 40);
 * const tokens = Array.from({ length: lenTokens }, (_, i) => 100 + i);
 * const coeffs = sketchCoefficients("feedbeef");
 * const commitments = Array.from(sketches(hidden, hiddenDim, coeffs), (sketch) => ({ sketch }));
 * const indices = challengeIndicesInRange(tokens, "c0ffee", promptLength, lenTokens, 32);
 * ok(verifyCommitmentsAt(hidden, hiddenDim, commitments, indices, coeffs).ok);
 * ```
 *
 * @module
 */

export * from "./src/protocol/constants.ts";
export { ProtocolError } from "./src/protocol/protocol_error.ts";
export {
  bytesToHex,
  hexToBytes,
  normalizeRandomnessHex,
  randomnessBytes,
} from "./src/protocol/hex.ts";
export { prf, PRF_MAX_OUT_BYTES } from "./src/protocol/prf.ts";
export { MAX_GETRANDBITS, PythonRandom, pythonSeedKeyWords } from "./src/protocol/python_random.ts";
export { hashTokens, tokensBytes } from "./src/protocol/tokens.ts";
export { coefficientFromInt16, sketchCoefficients } from "./src/protocol/coefficients.ts";
export { challengeIndices, challengeIndicesInRange } from "./src/protocol/challenge.ts";
export { logMagnitudeBucket } from "./src/protocol/bucket.ts";
export { sketches, sketchOf, sketchTopkIndices } from "./src/protocol/sketch.ts";
export {
  type CommitmentsCheck,
  modularDistance,
  type SketchCheck,
  sketchTolerance,
  verifyCommitmentsAt,
  verifySketch,
} from "./src/protocol/verify.ts";
export {
  canonicalJson,
  PythonFloat,
  pythonFloatRepr,
  pythonJsonDumps,
  pythonJsonLoads,
  type PythonJsonLoadsOptions,
  type PythonJsonOptions,
  pythonJsonString,
  type PythonJsonValue,
  sortCodePoints,
} from "./src/protocol/python_json.ts";
export { commitBinding, hashCommitments } from "./src/protocol/binding.ts";
export { SS58_PREFIX, ss58Decode, type Ss58Decoded, ss58Encode } from "./src/protocol/ss58.ts";
export {
  rolloutChallenge,
  signCommit,
  type SignedCommit,
  signerPublicKey,
  signRolloutChallenge,
  signSr25519,
  type Sr25519Keypair,
  sr25519KeypairFromSeed,
  ss58Address,
  verifyBindingSignature,
  verifyCommitSignature,
  verifyRolloutSignature,
  verifySr25519,
} from "./src/protocol/signature.ts";
export { deriveEnvSeed, minerCombinedRandomness } from "./src/protocol/seeds.ts";
export {
  type Commitment,
  MAX_ROLLOUT_LEN_TOKENS,
  MAX_ROLLOUT_STRING_LENGTH,
  parseRollout,
  type ParseRolloutOptions,
  type Rollout,
  type RolloutBeacon,
  type RolloutCommit,
  type RolloutEpisode,
  RolloutError,
  type RolloutErrorCode,
  type RolloutModel,
} from "./src/protocol/rollout.ts";
