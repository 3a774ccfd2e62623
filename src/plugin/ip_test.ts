// Tests of formatIp(): IPv4 and RFC 5952 IPv6 text.

import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIp } from "./ip.ts";
import { parseIp } from "./ip.ts";

const cases: [string, string][] = [
  ["127.0.0.1", "127.0.0.1"],
  ["::", "::"],
  ["::1", "::1"],
  ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
  ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
  ["fe80:0:0:1:0:0:0:0", "fe80:0:0:1::"],
  ["fe80::0001:0:0:0", "fe80::1:0:0:0"],
  ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
  ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
];

for (const [input, expected] of cases) {
  test(`formatIp() formats ${input} as ${expected}`, () => {
    assert.equal(formatIp(parseIp(input)), expected);
  });
}

test("parseIp() rejects malformed addresses", () => {
  for (const bad of ["1.2.3", "256.0.0.1", "1::2::3", "1:2:3:4:5:6:7", "g::1"]) {
    assert.throws(() => parseIp(bad), SyntaxError, bad);
  }
});
