// Tests of the text-to-bytes conversion of client addresses (HTTPReqCall src_ip).

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIp, ipToBytes } from "./ip.ts";

test("ipToBytes() gives 4 bytes for IPv4 and 16 for IPv6", () => {
  assert.deepEqual(ipToBytes("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
  const v6 = ipToBytes("2001:db8::1")!;
  assert.equal(v6.length, 16);
  assert.equal(formatIp(v6), "2001:db8::1");
  assert.equal(formatIp(ipToBytes("::")!), "::");
  assert.equal(formatIp(ipToBytes("::ffff:10.0.0.1")!), "::ffff:10.0.0.1");
  assert.equal(formatIp(ipToBytes("fe80::1%eth0")!), "fe80::1");
  assert.equal(formatIp(ipToBytes("1:2:3:4:5:6:7:8")!), "1:2:3:4:5:6:7:8");
});

test("ipToBytes() returns undefined for text that is not an address", () => {
  for (const text of ["", "256.0.0.1", "1.2.3", "1::2::3", "1:2:3:4:5:6:7:8:9", "x::1", "1:2"]) {
    assert.equal(ipToBytes(text), undefined, text);
  }
});
