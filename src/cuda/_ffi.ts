/** C strings across the FFI boundary (internal to src/cuda). */

/**
 * Reads a NUL-terminated C string.
 *
 * @param ptr The string's address (null gives "").
 * @returns The string.
 */
export function cString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : new Deno.UnsafePointerView(ptr).getCString();
}

/**
 * A NUL-terminated UTF-8 copy of a string, for `buffer` parameters.
 *
 * @param s The string.
 * @returns Its bytes and a trailing 0.
 */
export function cBytes(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}
