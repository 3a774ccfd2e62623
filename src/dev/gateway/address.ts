// Client addresses as APISIX sends them in HTTPReqCall `src_ip` (nginx `$binary_remote_addr`).

/**
 * The raw bytes of an IP address in text form: 4 for IPv4, 16 for IPv6
 * (IPv4-mapped forms included, zone ids ignored); `undefined` when `text` is
 * not an address.
 *
 * @example
 * ```ts
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
