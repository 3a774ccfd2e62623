// Tests of the conf cache: idempotency, TTL refresh, expiry freeing, token allocation.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Clock, ConfCache } from "./conf_cache.ts";

class ManualClock implements Clock {
  time = 1_000_000;
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

function makeCache(ttlMs = 1000, firstToken = 1) {
  const clock = new ManualClock();
  const cache = new ConfCache<string>({ ttlMs, clock, firstToken });
  return { clock, cache };
}

describe("ConfCache", () => {
  test("ConfCache.put() hands out increasing tokens starting at firstToken", () => {
    const { cache } = makeCache(1000, 7);
    assert.equal(cache.put("a", () => "A"), 7);
    assert.equal(cache.put("b", () => "B"), 8);
    assert.equal(cache.put(undefined, () => "C"), 9);
    assert.equal(cache.get(7), "A");
    assert.equal(cache.get(8), "B");
    assert.equal(cache.get(9), "C");
  });

  test("ConfCache.put() with the same key returns the same token without building again", () => {
    const { cache } = makeCache();
    let builds = 0;
    const first = cache.put("route#1#ext-plugin-pre-req#1", () => `v${++builds}`);
    const second = cache.put("route#1#ext-plugin-pre-req#1", () => `v${++builds}`);
    assert.equal(first, second);
    assert.equal(builds, 1);
    assert.equal(cache.get(first), "v1");
  });

  test("ConfCache.put() without a key always makes a new token", () => {
    const { cache } = makeCache();
    assert.notEqual(cache.put(undefined, () => "x"), cache.put(undefined, () => "x"));
  });

  test("ConfCache.put() stores nothing when build throws", () => {
    const { cache } = makeCache();
    assert.throws(() =>
      cache.put("k", () => {
        throw new Error("bad conf");
      }), /bad conf/);
    assert.equal(cache.size, 0);
    assert.equal(cache.put("k", () => "ok"), 1);
  });

  test("ConfCache.get() returns undefined for an unknown token", () => {
    const { cache } = makeCache();
    assert.equal(cache.get(12345), undefined);
  });

  test("ConfCache.get() returns undefined after the TTL", () => {
    const { clock, cache } = makeCache(1000);
    const token = cache.put("k", () => "v");
    clock.advance(1000);
    assert.equal(cache.get(token), undefined);
  });

  test("ConfCache.get() refreshes the TTL on use", () => {
    const { clock, cache } = makeCache(1000);
    const token = cache.put("k", () => "v");
    for (let i = 0; i < 5; i++) {
      clock.advance(900);
      assert.equal(cache.get(token), "v");
    }
  });

  test("ConfCache.put() with a key whose token expired makes a new token", () => {
    const { clock, cache } = makeCache(1000);
    const old = cache.put("k", () => "old");
    clock.advance(1001);
    const fresh = cache.put("k", () => "new");
    assert.notEqual(fresh, old);
    assert.equal(cache.get(fresh), "new");
    assert.equal(cache.get(old), undefined);
  });

  test("ConfCache frees expired entries even when they are never asked for again", () => {
    const { clock, cache } = makeCache(1000);
    for (let i = 0; i < 1000; i++) cache.put(`key${i}`, () => "v");
    assert.equal(cache.size, 1000);
    clock.advance(1200);
    const live = cache.put("live", () => "v");
    assert.equal(cache.size, 1);
    assert.equal(cache.get(live), "v");
  });

  test("ConfCache token allocation wraps within uint32 and skips 0", () => {
    const { cache } = makeCache(1000, 0xFFFFFFFF);
    assert.equal(cache.put(undefined, () => "last"), 0xFFFFFFFF);
    assert.equal(cache.put(undefined, () => "wrapped"), 1);
  });

  test("ConfCache without firstToken starts from a random token", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      seen.add(new ConfCache<string>({ ttlMs: 1000 }).put(undefined, () => "v"));
    }
    assert.ok(seen.size > 1, `five caches all started at ${[...seen]}`);
    for (const token of seen) assert.ok(token >= 1 && token <= 0xFFFFFFFF);
  });

  test("new ConfCache() rejects a non-positive TTL", () => {
    assert.throws(() => new ConfCache({ ttlMs: 0 }), /ttlMs must be positive, got 0/);
  });
});
