/**
 * The checkpoint `weights_hash` (infra spec §4.6): XXH3-128 over the raw little-endian bytes of
 * every tensor in code-point order of names, hex in canonical big-endian form (32 characters,
 * as python-xxhash's `xxh3_128().hexdigest()` prints). hash-wasm's `xxhash128` is XXH3_128bits
 * (checked against xxHash's own sanity vectors in the tests).
 *
 * @module
 */

import { createXXHash128 } from "hash-wasm";
import { sortCodePoints } from "../../protocol/python_json.ts";
import type { StateDict } from "./state_dict.ts";

/**
 * Computes the reference's weights hash of a state dict.
 *
 * @param weights Tensors by name (order does not matter; names are sorted).
 * @returns 32 lowercase hex characters.
 *
 * @example The hash of no weights is XXH3-128 of nothing
 * ```ts
 * import { computeWeightsHash } from "./weights_hash.ts";
 * if (await computeWeightsHash(new Map()) !== "99aa06d3014798d86001c324468d497f") throw new Error();
 * ```
 */
export async function computeWeightsHash(weights: StateDict): Promise<string> {
  const hasher = await createXXHash128();
  hasher.init();
  for (const name of sortCodePoints(weights.keys())) hasher.update(weights.get(name)!.data);
  return hasher.digest("hex");
}
