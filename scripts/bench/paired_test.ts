// Tests of the A/B pairing: ratios taken within a round, noisy rounds left out, quartiles.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { quartiles, type RoundFigures, summarisePairs } from "./paired.ts";

const round = (cps: number, cpuUs: number, otherCores = 0): RoundFigures => ({
  cps,
  cpuUs,
  otherCores,
});

describe("summarisePairs", () => {
  test("compares each round's new figure with the same round's old one", () => {
    // The machine got twice as slow between rounds; new is 10 % cheaper within each round.
    const summary = summarisePairs(
      [round(100, 10), round(50, 20), round(100, 10)],
      [round(110, 9), round(55, 18), round(110, 9)],
    );
    assert.equal(summary.pairs, 3);
    assert.equal(summary.noisy, 0);
    assert.ok(Math.abs(summary.cpuUs.median - 0.9) < 1e-9);
    assert.ok(Math.abs(summary.cps.median - 1.1) < 1e-9);
  });

  test("leaves out pairs during which a neighbour used the CPU", () => {
    const summary = summarisePairs(
      [round(100, 10), round(100, 10, 1.2)],
      [round(100, 10), round(40, 30)],
    );
    assert.equal(summary.pairs, 1);
    assert.equal(summary.noisy, 1);
    assert.equal(summary.cpuUs.median, 1);
  });

  test("keeps every pair when all of them were noisy, rather than reporting nothing", () => {
    const summary = summarisePairs([round(100, 10, 1)], [round(100, 12, 1)]);
    assert.equal(summary.pairs, 1);
    assert.equal(summary.noisy, 0);
    assert.ok(Math.abs(summary.cpuUs.median - 1.2) < 1e-9);
  });

  test("pairs only as many rounds as both trees have", () => {
    const summary = summarisePairs([round(1, 1), round(1, 1)], [round(2, 2)]);
    assert.equal(summary.pairs, 1);
  });
});

describe("quartiles", () => {
  test("interpolates between the middle values", () => {
    assert.deepEqual(quartiles([4, 1, 3, 2]), { median: 2.5, q1: 1.75, q3: 3.25 });
    assert.deepEqual(quartiles([5]), { median: 5, q1: 5, q3: 5 });
  });

  test("is NaN for no values", () => {
    assert.ok(Number.isNaN(quartiles([]).median));
  });
});
