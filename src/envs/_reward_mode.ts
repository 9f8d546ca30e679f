/**
 * The reward modes every text environment shares (see `EvaluateOptions.rewardMode`).
 *
 * @module
 */

import { EnvError, type EvaluateOptions } from "./environment.ts";

/**
 * Removes one trailing EOS marker for `rewardMode: "strip_eos"`; returns the text unchanged
 * in `"compat"` mode.
 *
 * @param text The decoded completion.
 * @param options The reward mode and EOS markers.
 * @returns The text to judge.
 * @throws {EnvError} `invalid_option` for an unknown mode, or `strip_eos` without markers.
 *
 * @example
 * ```ts
 * import { applyRewardMode } from "./_reward_mode.ts";
 * const out = applyRewardMode("1<|im_end|>", { rewardMode: "strip_eos", eosMarkers: ["<|im_end|>"] });
 * if (out !== "1") throw new Error(out);
 * ```
 */
export function applyRewardMode(text: string, options: EvaluateOptions | undefined): string {
  const mode = options?.rewardMode ?? "compat";
  if (mode === "compat") return text;
  if (mode !== "strip_eos") {
    throw new EnvError(
      "invalid_option",
      `Unknown rewardMode ${JSON.stringify(String(mode))}: expected "compat" or "strip_eos"`,
    );
  }
  const markers = options?.eosMarkers ?? [];
  if (markers.length === 0) {
    throw new EnvError(
      "invalid_option",
      'rewardMode "strip_eos" needs eosMarkers (the EOS tokens\' text, e.g. "<|im_end|>")',
    );
  }
  for (const marker of markers) {
    if (marker.length > 0 && text.endsWith(marker)) return text.slice(0, -marker.length);
  }
  return text;
}
