// Bounds-checked FlatBuffer table reading shared by the decoders; every failure is a MalformedPayloadError.

import { MalformedPayloadError } from "./errors.ts";
import type { TextEntry } from "./types.ts";

// ignoreBOM keeps a leading U+FEFF in a header value instead of silently dropping it.
const _utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Throws a {@linkcode MalformedPayloadError} naming the schema table/field `what`. */
export function malformed(what: string, detail: string): never {
  throw new MalformedPayloadError(`Malformed ${what}: ${detail}`);
}

/** Little-endian u16 at `p` (caller checked bounds). */
export function u16(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}

/** Little-endian u32 at `p` (caller checked bounds). */
export function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/**
 * Validates the table at `t` (its soffset and its vtable lie inside the
 * payload) and returns the vtable position.
 */
export function checkTable(b: Uint8Array, t: number, what: string): number {
  const len = b.length;
  if (t + 4 > len) malformed(what, `table at ${t} is outside the payload of ${len} bytes`);
  const vt = t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24));
  if (vt < 0 || vt + 4 > len) {
    malformed(what, `vtable at ${vt} is outside the payload of ${len} bytes`);
  }
  const vtSize = u16(b, vt);
  if (vtSize < 4 || vt + vtSize > len) {
    malformed(what, `vtable of ${vtSize} bytes at ${vt} does not fit the payload of ${len} bytes`);
  }
  return vt;
}

/** Returns the root table position of the payload (validated). */
export function rootTable(b: Uint8Array, what: string): number {
  if (b.length < 8) malformed(what, `payload of ${b.length} bytes is too short for a FlatBuffer`);
  const t = u32(b, 0);
  checkTable(b, t, what);
  return t;
}

/**
 * Position of field `id` of the table at `t` whose vtable is at `vt`, or 0
 * when absent (including ids beyond a short vtable).
 */
export function field(b: Uint8Array, t: number, vt: number, id: number): number {
  const o = 4 + 2 * id;
  if (o + 2 > u16(b, vt)) return 0;
  const off = u16(b, vt + o);
  return off === 0 ? 0 : t + off;
}

/** Reads a u8 scalar field, default 0. */
export function readU8(b: Uint8Array, t: number, id: number, what: string): number {
  const p = field(b, t, t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24)), id);
  if (p === 0) return 0;
  if (p + 1 > b.length) {
    malformed(what, `field at ${p} is outside the payload of ${b.length} bytes`);
  }
  return b[p]!;
}

/** Reads a u16 scalar field, default 0. */
export function readU16(b: Uint8Array, t: number, id: number, what: string): number {
  const p = field(b, t, t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24)), id);
  if (p === 0) return 0;
  if (p + 2 > b.length) {
    malformed(what, `field at ${p} is outside the payload of ${b.length} bytes`);
  }
  return u16(b, p);
}

/** Reads a u32 scalar field, default 0. */
export function readU32(b: Uint8Array, t: number, id: number, what: string): number {
  const p = field(b, t, t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24)), id);
  if (p === 0) return 0;
  if (p + 4 > b.length) {
    malformed(what, `field at ${p} is outside the payload of ${b.length} bytes`);
  }
  return u32(b, p);
}

/**
 * Follows the offset field `id` (string, vector or sub-table) and returns the
 * target position, or 0 when the field is absent. The target's first 4 bytes
 * are in bounds.
 */
export function readOffset(b: Uint8Array, t: number, id: number, what: string): number {
  const p = field(b, t, t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24)), id);
  if (p === 0) return 0;
  return follow(b, p, what);
}

/** Follows the uoffset stored at `p`; the target's first 4 bytes are in bounds. */
export function follow(b: Uint8Array, p: number, what: string): number {
  const len = b.length;
  if (p + 4 > len) malformed(what, `offset at ${p} is outside the payload of ${len} bytes`);
  const target = p + u32(b, p);
  if (target + 4 > len) {
    malformed(what, `offset at ${p} points to ${target}, outside the payload of ${len} bytes`);
  }
  return target;
}

/** Validates a vector of `elemSize`-byte elements at `v` and returns its length. */
export function vectorLength(b: Uint8Array, v: number, elemSize: number, what: string): number {
  const n = u32(b, v);
  if (v + 4 + n * elemSize > b.length) {
    malformed(what, `vector of ${n} elements at ${v} exceeds the payload of ${b.length} bytes`);
  }
  return n;
}

/** Reads an optional byte-vector field as a view of the payload (no copy). */
export function readBytes(
  b: Uint8Array,
  t: number,
  id: number,
  what: string,
): Uint8Array | undefined {
  const v = readOffset(b, t, id, what);
  if (v === 0) return undefined;
  const n = vectorLength(b, v, 1, what);
  return b.subarray(v + 4, v + 4 + n);
}

/** Reads an optional string field, decoding UTF-8 (invalid sequences become U+FFFD). */
export function readString(b: Uint8Array, t: number, id: number, what: string): string | undefined {
  const s = readOffset(b, t, id, what);
  if (s === 0) return undefined;
  const n = vectorLength(b, s, 1, what);
  return decodeUtf8(b, s + 4, s + 4 + n);
}

/** Decodes UTF-8 bytes `b[start..end)`; never throws. Short ASCII avoids TextDecoder's call cost. */
export function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  if (end - start > 24) return _utf8.decode(b.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return _utf8.decode(b.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Validates a `[TextEntry]` vector at `v` (every element table and string in
 * bounds) so that {@linkcode decodeTextEntries} cannot fail later. Bounds the
 * total string bytes so that shared strings cannot amplify a small payload.
 * Runs on every call for the request headers: the reads are inlined.
 */
export function checkTextEntries(b: Uint8Array, v: number, what: string): void {
  const len = b.length;
  const n = vectorLength(b, v, 4, what);
  const budget = 4 * len + 4096;
  let total = 0;
  for (let i = 0, slot = v + 4; i < n; i++, slot += 4) {
    const t = slot +
      ((b[slot]! | (b[slot + 1]! << 8) | (b[slot + 2]! << 16) | (b[slot + 3]! << 24)) >>> 0);
    if (t + 4 > len) malformed(what, `table at ${t} is outside the payload of ${len} bytes`);
    const vt = t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24));
    if (vt < 0 || vt + 4 > len) {
      malformed(what, `vtable at ${vt} is outside the payload of ${len} bytes`);
    }
    const vtSize = b[vt]! | (b[vt + 1]! << 8);
    if (vtSize < 4 || vt + vtSize > len) {
      malformed(
        what,
        `vtable of ${vtSize} bytes at ${vt} does not fit the payload of ${len} bytes`,
      );
    }
    // TextEntry.name (id 0) and TextEntry.value (id 1): vtable slots at 4 and 6.
    if (vtSize >= 6) {
      const off = b[vt + 4]! | (b[vt + 5]! << 8);
      if (off !== 0) total += _stringLength(b, t + off, what);
    }
    if (vtSize >= 8) {
      const off = b[vt + 6]! | (b[vt + 7]! << 8);
      if (off !== 0) total += _stringLength(b, t + off, what);
    }
    if (total > budget) {
      malformed(what, `strings total more than ${budget} bytes in a payload of ${len}`);
    }
  }
}

/** Follows the string offset stored at `p` and returns the string's validated byte length. */
function _stringLength(b: Uint8Array, p: number, what: string): number {
  const len = b.length;
  if (p + 4 > len) malformed(what, `offset at ${p} is outside the payload of ${len} bytes`);
  const s = p + ((b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0);
  if (s + 4 > len) {
    malformed(what, `offset at ${p} points to ${s}, outside the payload of ${len} bytes`);
  }
  const n = (b[s]! | (b[s + 1]! << 8) | (b[s + 2]! << 16) | (b[s + 3]! << 24)) >>> 0;
  if (s + 4 + n > len) {
    malformed(what, `vector of ${n} elements at ${s} exceeds the payload of ${len} bytes`);
  }
  return n;
}

/**
 * Position of the string (its u32 length) that field `id` of element `i` of a
 * `[TextEntry]` vector at `v` points to, or 0 when the field is absent. Only for
 * vectors already validated by {@linkcode checkTextEntries}.
 */
export function textEntryStringAt(b: Uint8Array, v: number, i: number, id: number): number {
  const slot = v + 4 + 4 * i;
  const t = slot + u32(b, slot);
  const vt = t - (b[t]! | (b[t + 1]! << 8) | (b[t + 2]! << 16) | (b[t + 3]! << 24));
  const p = field(b, t, vt, id);
  return p === 0 ? 0 : p + u32(b, p);
}

/** Decodes the validated string whose u32 length stands at `s`. */
export function decodeStringAt(b: Uint8Array, s: number): string {
  return decodeUtf8(b, s + 4, s + 4 + u32(b, s));
}

/** Decodes a `[TextEntry]` vector already validated by {@linkcode checkTextEntries}. */
export function decodeTextEntries(b: Uint8Array, v: number): TextEntry[] {
  const n = u32(b, v);
  const out: TextEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = textEntryStringAt(b, v, i, 0);
    const value = textEntryStringAt(b, v, i, 1);
    out[i] = {
      name: name === 0 ? "" : decodeStringAt(b, name),
      value: value === 0 ? undefined : decodeStringAt(b, value),
    };
  }
  return out;
}

/** Reads an optional `[TextEntry]` field eagerly; `undefined` when absent. */
export function readTextEntries(
  b: Uint8Array,
  t: number,
  id: number,
  what: string,
): TextEntry[] | undefined {
  const v = readOffset(b, t, id, what);
  if (v === 0) return undefined;
  checkTextEntries(b, v, what);
  return decodeTextEntries(b, v);
}
