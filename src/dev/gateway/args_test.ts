// Tests of query args decoding, encoding and APISIX's Rewrite.args processing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { applyArgsRewrite, decodeArgs, encodeArgs } from "./args.ts";

test("decodeArgs() keeps valueless apart from empty and repeats one entry per value", () => {
  assert.deepEqual(decodeArgs("a=1&a=2&flag&empty=&q=x+y%26z"), [
    { name: "a", value: "1" },
    { name: "a", value: "2" },
    { name: "flag" },
    { name: "empty", value: "" },
    { name: "q", value: "x y&z" },
  ]);
});

test("decodeArgs() drops empty segments and empty names and decodes names", () => {
  assert.deepEqual(decodeArgs("&&=v&%6Eame=1&"), [{ name: "name", value: "1" }]);
  assert.deepEqual(decodeArgs(""), []);
  assert.deepEqual(decodeArgs(undefined), []);
});

test("encodeArgs() escapes URI components and writes valueless entries bare", () => {
  assert.equal(
    encodeArgs([{ name: "q", value: "a b&c=é" }, { name: "flag" }, { name: "e", value: "" }]),
    "q=a%20b%26c%3D%C3%A9&flag&e=",
  );
  assert.equal(encodeArgs([{ name: "safe", value: "A-z0_9.~" }]), "safe=A-z0_9.~");
});

test("applyArgsRewrite() replaces on the first value, appends later ones, deletes on no value", () => {
  const current = [
    { name: "a", value: "1" },
    { name: "a", value: "2" },
    { name: "b", value: "3" },
    { name: "keep" },
  ];
  assert.deepEqual(
    applyArgsRewrite(current, [
      { name: "a", value: "x" },
      { name: "a", value: "y" },
      { name: "b" },
      { name: "new", value: "n" },
    ]),
    [
      { name: "a", value: "x" },
      { name: "a", value: "y" },
      { name: "keep" },
      { name: "new", value: "n" },
    ],
  );
});

test("applyArgsRewrite() sets a name again after deleting it", () => {
  assert.deepEqual(
    applyArgsRewrite([{ name: "a", value: "1" }], [{ name: "a" }, { name: "a", value: "2" }]),
    [{ name: "a", value: "2" }],
  );
});
