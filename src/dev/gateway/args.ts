// Query args as OpenResty handles them: decode_args, encode_args and ext-plugin's Rewrite.args rules.

import type { TextEntry } from "../../protocol/types.ts";
import { percentDecode } from "./uri.ts";

const ENCODER = new TextEncoder();
const HEX = "0123456789ABCDEF";

/**
 * Decodes a raw query string into HTTPReqCall `args` as `ngx.req.get_uri_args()`
 * does: one entry per value, names and values percent-decoded (`+` is a
 * space), `a` without `=` → entry without value, `a=` → value `""`, empty
 * segments and empty names dropped.
 *
 * @example
 * ```ts
 * decodeArgs("a=1&a=2&flag&empty=&q=x+y");
 * // [{name:"a",value:"1"}, {name:"a",value:"2"}, {name:"flag"}, {name:"empty",value:""}, {name:"q",value:"x y"}]
 * ```
 */
export function decodeArgs(query: string | undefined): TextEntry[] {
  const entries: TextEntry[] = [];
  if (query === undefined || query === "") return entries;
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = percentDecode(eq === -1 ? part : part.slice(0, eq), true);
    if (name === "") continue;
    entries.push(eq === -1 ? { name } : { name, value: percentDecode(part.slice(eq + 1), true) });
  }
  return entries;
}

/**
 * Encodes args into a query string as `ngx.encode_args()` does: names and
 * values escaped as URI components (all but `A-Z a-z 0-9 - . _ ~`), an entry
 * without value as the bare name, one `name=value` per value.
 *
 * @example
 * ```ts
 * encodeArgs([{ name: "q", value: "a b&c" }, { name: "flag" }]); // "q=a%20b%26c&flag"
 * ```
 */
export function encodeArgs(entries: readonly TextEntry[]): string {
  let out = "";
  for (let i = 0; i < entries.length; i++) {
    const { name, value } = entries[i]!;
    if (i > 0) out += "&";
    out += _escapeComponent(name);
    if (value !== undefined) out += "=" + _escapeComponent(value);
  }
  return out;
}

/**
 * Applies Rewrite `args` to the current args with APISIX's rules, in order:
 * an entry without value deletes the arg; the first valued entry of a name
 * replaces all its values, later valued entries of that name append. Args
 * not mentioned are kept; names keep their position, new names go last.
 *
 * @example
 * ```ts
 * applyArgsRewrite(
 *   [{ name: "a", value: "1" }, { name: "b", value: "2" }],
 *   [{ name: "a", value: "x" }, { name: "a", value: "y" }, { name: "b" }],
 * ); // [{name:"a",value:"x"}, {name:"a",value:"y"}]
 * ```
 */
export function applyArgsRewrite(
  current: readonly TextEntry[],
  rewrite: readonly TextEntry[],
): TextEntry[] {
  const byName = new Map<string, (string | undefined)[]>();
  for (const { name, value } of current) {
    const values = byName.get(name);
    if (values === undefined) byName.set(name, [value]);
    else values.push(value);
  }
  const changed = new Set<string>();
  for (const { name, value } of rewrite) {
    if (value === undefined) {
      byName.delete(name);
      continue;
    }
    const values = byName.get(name);
    if (changed.has(name) && values !== undefined) values.push(value);
    else byName.set(name, [value]);
    changed.add(name);
  }
  const result: TextEntry[] = [];
  for (const [name, values] of byName) {
    for (const value of values) result.push(value === undefined ? { name } : { name, value });
  }
  return result;
}

function _escapeComponent(text: string): string {
  if (/^[A-Za-z0-9\-._~]*$/.test(text)) return text;
  let out = "";
  for (const byte of ENCODER.encode(text)) {
    out += _unreserved(byte) ? String.fromCharCode(byte) : "%" + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

function _unreserved(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x2e || byte === 0x5f ||
    byte === 0x7e;
}
