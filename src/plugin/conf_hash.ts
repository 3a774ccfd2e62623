// A short, stable fingerprint of a conf text: FNV-1a, 32 bits, as 8 hex digits.

/**
 * FNV-1a (32 bit) of `text` as 8 hex digits: equal texts give equal
 * fingerprints (a conf version, a counter namespace); not for secrets.
 *
 * @example
 * ```ts
 * confHash('{"count":10}').length; // 8
 * ```
 */
export function confHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
