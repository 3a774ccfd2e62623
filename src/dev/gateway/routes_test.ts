// Tests of the routes file parser and APISIX-like route matching.

import assert from "node:assert/strict";
import { test } from "node:test";
import demoRoutes from "../../../plugins/demo_routes.json" with { type: "json" };
import { bundledPlugins } from "../../../plugins/mod.ts";
import { matchRoute, parseRoutes, parseRoutesJson, type Route, RoutesError } from "./routes.ts";

function route(init: Record<string, unknown>): Record<string, unknown> {
  return { uri: "/x", ...init };
}

test("parseRoutes() reads phases, confs, degradation and builds APISIX keys", () => {
  const [r] = parseRoutes({
    routes: [route({
      id: 7,
      plugins: {
        "ext-plugin-pre-req": { conf: [{ name: "say", value: "{}" }] },
        "ext-plugin-post-resp": { allow_degradation: true },
      },
    })],
  }, "test");
  const pre = r!.plugins["ext-plugin-pre-req"]!;
  assert.equal(r!.id, "7");
  assert.deepEqual(pre.conf, [{ name: "say", value: "{}" }]);
  assert.equal(pre.allowDegradation, false);
  assert.match(pre.key, /^route#7#ext-plugin-pre-req#[0-9a-f]{8}$/);
  const post = r!.plugins["ext-plugin-post-resp"]!;
  assert.equal(post.conf, undefined);
  assert.equal(post.allowDegradation, true);
  assert.equal(r!.upstream, undefined);
});

test("parseRoutes() changes the key version when the route changes", () => {
  const key = (value: string) =>
    parseRoutes({
      routes: [route({ plugins: { "ext-plugin-pre-req": { conf: [{ name: "say", value }] } } })],
    }, "t")[0]!.plugins["ext-plugin-pre-req"]!.key;
  assert.equal(key("{}"), key("{}"));
  assert.notEqual(key("{}"), key('{"body":"x"}'));
});

test("parseRoutes() reads URL and APISIX node upstreams", () => {
  const [a, b, c] = parseRoutes({
    routes: [
      route({ id: "a", upstream: "http://127.0.0.1:8080" }),
      route({
        id: "b",
        upstream: { scheme: "https", nodes: { "[::1]:8443": 1 }, pass_host: "node" },
      }),
      route({
        id: "c",
        upstream: {
          nodes: [{ host: "up.example", port: 81, weight: 1 }],
          pass_host: "rewrite",
          upstream_host: "h.example",
        },
      }),
    ],
  }, "t");
  assert.deepEqual(a!.upstream, {
    scheme: "http",
    hostname: "127.0.0.1",
    port: 8080,
    passHost: "pass",
    upstreamHost: undefined,
  });
  assert.deepEqual(b!.upstream, {
    scheme: "https",
    hostname: "::1",
    port: 8443,
    passHost: "node",
    upstreamHost: undefined,
  });
  assert.equal(c!.upstream?.hostname, "up.example");
  assert.equal(c!.upstream?.upstreamHost, "h.example");
});

test("parseRoutes() errors name the route and field", () => {
  const cases: [unknown, RegExp][] = [
    [{}, /expected an object \{"routes": \[\.\.\.\]\}/],
    [{ routes: [{ uri: "x" }] }, /routes\[0\]\.uri must be a string starting with "\/"/],
    [{ routes: [route({ plugins: { "proxy-rewrite": {} } })] }, /only runs ext-plugin-pre-req/],
    [
      {
        routes: [
          route({ plugins: { "ext-plugin-pre-req": { conf: [{ name: "say", value: {} }] } } }),
        ],
      },
      /routes\[0\]\.plugins\["ext-plugin-pre-req"\]\.conf\[0\]\.value must be a string/,
    ],
    [
      { routes: [route({ plugins: { "ext-plugin-post-req": { conf: [] } } })] },
      /\.conf must be a non-empty array/,
    ],
    [
      { routes: [route({ plugins: { "ext-plugin-post-req": { allow_degradation: "yes" } } })] },
      /allow_degradation must be a boolean, got "yes"/,
    ],
    [{ routes: [route({ upstream: "http://h/path" })] }, /must not have a path/],
    [{ routes: [route({ upstream: { nodes: {} } })] }, /\.nodes must be/],
    [{ routes: [route({ id: "a" }), route({ id: "a" })] }, /routes\[1\]: duplicate id "a"/],
    [{ routes: [route({ examples: [{ path: "x" }] })] }, /examples\[0\]\.path must be a string/],
  ];
  for (const [document, message] of cases) {
    assert.throws(() => parseRoutes(document, "file.json"), (error: unknown) => {
      assert.ok(error instanceof RoutesError);
      assert.match(error.message, /^Invalid routes in file\.json: /);
      assert.match(error.message, message);
      return true;
    });
  }
});

test("parseRoutesJson() reports JSON syntax errors with the source", () => {
  assert.throws(() => parseRoutesJson("{", "r.json"), /Invalid routes in r\.json: not valid JSON/);
});

test("matchRoute() prefers an exact uri, then the longest prefix, and honours methods", () => {
  const routes: Route[] = parseRoutes({
    routes: [
      route({ id: "all", uri: "/*" }),
      route({ id: "api", uri: "/api/*" }),
      route({ id: "exact", uri: "/api/v1" }),
      route({ id: "post", uri: "/form", methods: ["post"] }),
    ],
  }, "t");
  assert.equal(matchRoute(routes, { uri: "/api/v1", method: "GET" })?.id, "exact");
  assert.equal(matchRoute(routes, { uri: "/api/v2", method: "GET" })?.id, "api");
  assert.equal(matchRoute(routes, { uri: "/other", method: "GET" })?.id, "all");
  assert.equal(matchRoute(routes, { uri: "/form", method: "POST" })?.id, "post");
  assert.equal(matchRoute(routes, { uri: "/form", method: "GET" })?.id, "all");
  assert.equal(matchRoute(routes.slice(1), { uri: "/nothing", method: "GET" }), undefined);
});

test("the demo routes parse and only name bundled plugins", () => {
  const routes = parseRoutes(demoRoutes, "plugins/demo_routes.json");
  const names = new Set(bundledPlugins.map((plugin) => plugin.name));
  assert.ok(routes.length >= 5);
  for (const r of routes) {
    for (const conf of Object.values(r.plugins)) {
      for (const entry of conf.conf ?? []) {
        assert.ok(names.has(entry.name), `${r.id}: ${entry.name} is not bundled`);
        const plugin = bundledPlugins.find((p) => p.name === entry.name)!;
        plugin.parseConf(entry.value!);
      }
    }
  }
});
