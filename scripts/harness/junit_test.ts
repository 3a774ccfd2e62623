// Tests of the JUnit reading: Deno's describe blocks, their tests' files, a block's own failure.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseJunit } from "./junit.ts";

/** Deno 2.9's report of a file with two describe blocks: one with a failing test, one whose after() hook throws. */
const DENO_REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="5" failures="3" errors="0" time="0.017">
    <testsuite name="./a_test.ts" tests="2" disabled="0" errors="0" failures="2">
        <testcase name="blockA" classname="./a_test.ts" time="0.007" line="3" col="1">
            <failure message="1 test step failed">1 test step failed.</failure>
        </testcase>
        <testcase name="blockB" classname="./a_test.ts" time="0.001" line="7" col="1">
            <failure message="Uncaught Error: after hook boom">Error: after hook boom
  after(() =&gt; { throw new Error(&quot;after hook boom&quot;); });
                      ^
    at file:///work/a_test.ts:8:23</failure>
        </testcase>
    </testsuite>
    <testsuite name="ext:deno_node/testing.ts" tests="3" disabled="0" errors="0" failures="1">
        <testcase name="blockA &gt; child fails" classname="ext:deno_node/testing.ts" time="0.003" line="1" col="23191">
            <failure message="Uncaught AssertionError: Expected values to be strictly equal:

1 !== 2
">AssertionError: Expected values to be strictly equal:

1 !== 2

  test(&quot;child fails&quot;, () =&gt; assert.equal(1, 2));
                                   ^
    at NodeTestContext.&lt;anonymous&gt; (file:///work/a_test.ts:4:36)</failure>
        </testcase>
        <testcase name="blockA &gt; child ok" classname="ext:deno_node/testing.ts" time="0.001" line="1" col="21231">
        </testcase>
        <testcase name="blockB &gt; b ok" classname="ext:deno_node/testing.ts" time="0.001" line="1" col="23191">
        </testcase>
    </testsuite>
</testsuites>
`;

test("parseJunit() gives Deno's block tests their file, and counts a block only when it failed by itself", () => {
  const cases = parseJunit(DENO_REPORT, true).map((c) => [c.file, c.name, c.outcome]);
  assert.deepEqual(cases, [
    ["a_test.ts", "blockB", "failed"],
    ["a_test.ts", "blockA > child fails", "failed"],
    ["a_test.ts", "blockA > child ok", "passed"],
    ["a_test.ts", "blockB > b ok", "passed"],
  ]);
  const hook = parseJunit(DENO_REPORT, true).find((c) => c.name === "blockB")!;
  assert.match(hook.message, /after hook boom/);
});
