// Request-target handling as nginx and APISIX do it: split, normalize ($uri) and escape paths.

const DECODER = new TextDecoder();
const ENCODER = new TextEncoder();
const HEX = "0123456789ABCDEF";

/** A request target split at the first `?`. */
export interface SplitTarget {
  /** Everything before `?`, not decoded. */
  readonly path: string;
  /** Everything after the first `?` (nginx `$args`); `undefined` when there is no `?`. */
  readonly query: string | undefined;
}

/**
 * Splits a request target into path and query at the first `?`.
 *
 * @example
 * ```ts
 * splitTarget("/a?b=1"); // { path: "/a", query: "b=1" }
 * splitTarget("/a"); // { path: "/a", query: undefined }
 * ```
 */
export function splitTarget(target: string): SplitTarget {
  const index = target.indexOf("?");
  return index === -1
    ? { path: target, query: undefined }
    : { path: target.slice(0, index), query: target.slice(index + 1) };
}

/**
 * Normalizes a raw request path into nginx's `$uri`, which APISIX sends as
 * HTTPReqCall `path`: percent-escapes decoded (`%2F` too), repeated slashes
 * merged, `.` and `..` segments resolved. Returns `undefined` where nginx
 * answers 400: a path not starting with `/`, a bad percent-escape, a `..`
 * above the root, or a decoded NUL byte.
 *
 * @example
 * ```ts
 * normalizeUri("/a%20b//c/./d/../e"); // "/a b/c/e"
 * normalizeUri("/../etc"); // undefined
 * ```
 */
export function normalizeUri(rawPath: string): string | undefined {
  if (!rawPath.startsWith("/")) return undefined;
  const decoded = _percentDecode(rawPath, false);
  if (decoded === undefined || decoded.includes("\0")) return undefined;
  const segments = decoded.split("/");
  const out: string[] = [];
  // segments[0] is "" (the leading slash); the last one decides on a trailing slash.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === "" || segment === ".") {
      if (last) out.push("");
      continue;
    }
    if (segment === "..") {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push("");
      continue;
    }
    out.push(segment);
  }
  return "/" + out.join("/");
}

/**
 * Escapes a path the way APISIX escapes a Rewrite `path` (and nginx the
 * `$uri` it re-sends): space, `#`, `%`, `?`, bytes 0x00–0x1F and 0x7F–0xFF of
 * the UTF-8 form become `%XX`; everything else is kept (docs/PROTOCOL.md §3.2).
 *
 * @example
 * ```ts
 * escapeUriPath("/p?a=2"); // "/p%3Fa=2"
 * escapeUriPath("/a b/é"); // "/a%20b/%C3%A9"
 * ```
 */
export function escapeUriPath(path: string): string {
  let plain = true;
  for (let i = 0; i < path.length; i++) {
    if (_mustEscape(path.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return path;
  let out = "";
  for (const byte of ENCODER.encode(path)) {
    out += _mustEscape(byte) ? "%" + HEX[byte >> 4] + HEX[byte & 15] : String.fromCharCode(byte);
  }
  return out;
}

/**
 * Decodes `%XX` escapes (and `+` as space when `plusIsSpace`) into UTF-8 text.
 * Invalid escapes are kept as they are, as `ngx.unescape_uri` does.
 *
 * @example
 * ```ts
 * percentDecode("a+b%21%zz", true); // "a b!%zz"
 * ```
 */
export function percentDecode(text: string, plusIsSpace: boolean): string {
  return _percentDecode(text, plusIsSpace, false)!;
}

function _percentDecode(text: string, plusIsSpace: boolean, strict = true): string | undefined {
  if (!text.includes("%") && !(plusIsSpace && text.includes("+"))) return text;
  const bytes = ENCODER.encode(text);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x25) {
      const high = _hexValue(bytes[i + 1]);
      const low = _hexValue(bytes[i + 2]);
      if (high !== -1 && low !== -1) {
        out[n++] = (high << 4) | low;
        i += 2;
        continue;
      }
      if (strict) return undefined;
    }
    out[n++] = plusIsSpace && byte === 0x2b ? 0x20 : byte;
  }
  return DECODER.decode(out.subarray(0, n));
}

function _hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function _mustEscape(code: number): boolean {
  return code <= 0x20 || code >= 0x7f || code === 0x23 || code === 0x25 || code === 0x3f;
}
