// TextEntry vectors whose values are decoded from the payload only when read (request/response headers).

import { decodeStringAt, decodeUtf8, textEntryStringAt, u32 } from "./table_reader.ts";
import type { DecodedTextEntry, TextEntry } from "./types.ts";

/**
 * A TextEntry of a validated payload: the name is decoded at once, the value
 * on first read (and cached). `hasValue` tells whether a value is present
 * without decoding it.
 */
class _LazyTextEntry implements DecodedTextEntry {
  readonly name: string;
  /** `name.toLowerCase()`. */
  readonly lower: string;
  /** Whether the entry has a value on the wire. */
  readonly hasValue: boolean;
  #b: Uint8Array | undefined;
  #at: number;
  #value: string | undefined;

  constructor(name: string, lower: string, b: Uint8Array, at: number) {
    this.name = name;
    this.lower = lower;
    this.hasValue = at !== 0;
    this.#b = at === 0 ? undefined : b;
    this.#at = at;
  }

  get value(): string | undefined {
    const b = this.#b;
    if (b === undefined) return this.#value;
    this.#b = undefined;
    return this.#value = decodeStringAt(b, this.#at);
  }

  /** The plain `{ name, value }` form (a getter is not serialised). */
  toJSON(): TextEntry {
    return { name: this.name, value: this.value };
  }
}

/**
 * Whether `entry` has a value, without decoding a lazy one.
 *
 * @example
 * ```ts
 * textEntryHasValue({ name: "flag" }); // false
 * ```
 */
export function textEntryHasValue(entry: TextEntry): boolean {
  const hasValue = (entry as Partial<DecodedTextEntry>).hasValue;
  return hasValue ?? entry.value !== undefined;
}

/**
 * `entry.name.toLowerCase()`, computed once per distinct name for decoded entries.
 *
 * @example
 * ```ts
 * textEntryLowerName({ name: "Host", value: "a" }); // "host"
 * ```
 */
export function textEntryLowerName(entry: TextEntry): string {
  return (entry as Partial<DecodedTextEntry>).lower ?? entry.name.toLowerCase();
}

/**
 * `entry` itself when it cannot change (a decoded one), else a copy of its
 * name and value, so that a later change to the caller's object is not seen.
 *
 * @example
 * ```ts
 * const kept = stableTextEntry({ name: "a", value: "1" }); // a copy
 * ```
 */
export function stableTextEntry(entry: TextEntry): TextEntry {
  return (entry as Partial<DecodedTextEntry>).lower !== undefined
    ? entry
    : { name: entry.name, value: entry.value };
}

/**
 * Decodes a `[TextEntry]` vector already validated by `checkTextEntries`,
 * names at once (through `names` when given) and values on first read. The
 * payload must not change afterwards.
 *
 * @example
 * ```ts
 * const headers = decodeLazyTextEntries(payload, headersAt, names);
 * ```
 */
export function decodeLazyTextEntries(
  b: Uint8Array,
  v: number,
  names?: NameCache,
): TextEntry[] {
  const n = u32(b, v);
  const out: TextEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = textEntryStringAt(b, v, i, 0);
    let name = "";
    let lower = "";
    if (s !== 0) {
      const start = s + 4;
      const end = start + u32(b, s);
      const slot = names === undefined ? -1 : names.slot(b, start, end);
      if (slot >= 0) {
        name = names!.name(slot);
        lower = names!.lower(slot);
      } else {
        name = decodeUtf8(b, start, end);
        lower = name.toLowerCase();
      }
    }
    out[i] = new _LazyTextEntry(name, lower, b, textEntryStringAt(b, v, i, 1));
  }
  return out;
}

/** Slots of a {@linkcode NameCache}. */
const _SLOTS = 512;

/**
 * Recently decoded short ASCII names (header names), by hash: they repeat from
 * call to call, so most are found here and compared in place instead of being
 * built again. One per server, handed to the decoder.
 *
 * @example
 * ```ts
 * const names = new NameCache();
 * decodeHttpReqCallRequest(payload, names).lazyHeaders;
 * ```
 */
export class NameCache {
  #names: (string | undefined)[] = new Array(_SLOTS);
  /** `#names[i].toLowerCase()`. */
  #lower: (string | undefined)[] = new Array(_SLOTS);

  /**
   * Finds or puts the name `b[start..end)` and returns its slot, or -1 when it
   * is not cached (empty, longer than 32 bytes or not ASCII).
   */
  slot(b: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n > 32 || n === 0) return -1;
    // Length, first, middle and last byte: no loop; the comparison below checks every byte.
    const slot = (Math.imul(n, 97) + Math.imul(b[start]!, 31) +
      Math.imul(b[start + (n >> 1)]!, 7) + b[end - 1]!) & (_SLOTS - 1);
    const cached = this.#names[slot];
    if (cached !== undefined && cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === b[start + i]) i++;
      if (i === n) return slot;
    }
    for (let i = start; i < end; i++) if (b[i]! >= 0x80) return -1;
    const name = decodeUtf8(b, start, end);
    this.#names[slot] = name;
    this.#lower[slot] = name.toLowerCase();
    return slot;
  }

  /** The name in `slot`. */
  name(slot: number): string {
    return this.#names[slot]!;
  }

  /** The lower-case name in `slot`. */
  lower(slot: number): string {
    return this.#lower[slot]!;
  }
}
