// Client addresses as APISIX sends them (`src_ip`, nginx `$binary_remote_addr`): raw bytes and text.

/**
 * Formats 4 raw bytes as dotted IPv4 and 16 as RFC 5952 IPv6 (lower-case hex,
 * no leading zeros, the longest run of two or more zero groups as `::`, the
 * first one on a tie; IPv4-mapped addresses as `::ffff:a.b.c.d`). Other
 * lengths give the bytes as hex pairs joined with `:`.
 *
 * @example
 * ```ts
 * import { formatIp } from "./ip.ts";
 * formatIp(new Uint8Array([127, 0, 0, 1])); // "127.0.0.1"
 * formatIp(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])); // "2001:db8::1"
 * ```
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff
  ) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart === -1) return groups.map(hex).join(":");
  const head = groups.slice(0, bestStart).map(hex).join(":");
  const tail = groups.slice(bestStart + bestLength).map(hex).join(":");
  return `${head}::${tail}`;
}

/**
 * The raw bytes of an IP address in text form: 4 for IPv4, 16 for IPv6
 * (IPv4-mapped forms included, zone ids ignored); `undefined` when `text` is
 * not an address.
 *
 * @example
 * ```ts
 * import { ipToBytes } from "./ip.ts";
 * ipToBytes("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * ipToBytes("::1")?.length; // 16
 * ```
 */
export function ipToBytes(text: string): Uint8Array | undefined {
  if (!text.includes(":")) return _ipv4(text);
  const zone = text.indexOf("%");
  const address = zone === -1 ? text : text.slice(0, zone);
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = _groups(halves[0]!);
  const tail = halves.length === 2 ? _groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [
    ...head,
    ...new Array<number>(halves.length === 2 ? missing : 0).fill(0),
    ...tail,
  ];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function _ipv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

/** Hex groups of one side of `::`; a trailing dotted IPv4 counts as two groups. */
function _groups(side: string): number[] | undefined {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = _ipv4(part);
      if (v4 === undefined) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/**
 * {@linkcode ipToBytes} for a fake request: the raw bytes of an address, or a
 * `SyntaxError` naming the text when it is not one.
 *
 * @example
 * ```ts
 * import { parseIp } from "./ip.ts";
 * parseIp("::1").length; // 16
 * ```
 */
export function parseIp(text: string): Uint8Array {
  const bytes = ipToBytes(text);
  if (bytes === undefined) throw new SyntaxError(`Invalid IP address "${text}"`);
  return bytes;
}
