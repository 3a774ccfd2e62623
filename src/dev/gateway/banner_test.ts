// Tests of the dev banner: route lines, curl commands and shell quoting.

import assert from "node:assert/strict";
import { test } from "node:test";
import { curlCommand, renderBanner, shellQuote } from "./banner.ts";
import { parseRoutes, type RouteExample } from "./routes.ts";

function example(init: Partial<RouteExample>): RouteExample {
  return { method: undefined, path: "/", headers: {}, body: undefined, shows: "", ...init };
}

test("shellQuote() leaves safe words alone and single-quotes the rest", () => {
  assert.equal(shellQuote("http://127.0.0.1:9080/say"), "http://127.0.0.1:9080/say");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("/q?a=1&b=2"), "'/q?a=1&b=2'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
});

test("curlCommand() adds -X only when curl would not infer the method", () => {
  const base = "http://127.0.0.1:9080";
  assert.equal(curlCommand(base, example({ path: "/say" })), "curl -i http://127.0.0.1:9080/say");
  assert.equal(
    curlCommand(
      base,
      example({ path: "/v", headers: { "content-type": "a/b" }, body: '{"a": 1}' }),
    ),
    `curl -i -H 'content-type: a/b' -d '{"a": 1}' http://127.0.0.1:9080/v`,
  );
  assert.equal(
    curlCommand(base, example({ method: "put", path: "/v", body: "x" })),
    "curl -i -X PUT -d x http://127.0.0.1:9080/v",
  );
  assert.equal(
    curlCommand(base, example({ method: "DELETE", path: "/v?a=1&b" })),
    "curl -i -X DELETE 'http://127.0.0.1:9080/v?a=1&b'",
  );
});

test("renderBanner() lists the routes with their phases and a curl per example", () => {
  const routes = parseRoutes({
    routes: [
      {
        id: "say",
        uri: "/say",
        plugins: {
          "ext-plugin-pre-req": { conf: [{ name: "say", value: "{}" }] },
          "ext-plugin-post-resp": { allow_degradation: true },
        },
        examples: [{ path: "/say", shows: "a stop" }],
      },
      { id: "up", uri: "/up*", upstream: "http://10.0.0.1:8080" },
    ],
  }, "t");
  const banner = renderBanner({
    gatewayUrl: "http://127.0.0.1:1",
    echoUrl: "http://127.0.0.1:2",
    runner: "in-process",
    routes,
  });
  assert.match(
    banner,
    /listening on http:\/\/127\.0\.0\.1:1 \(echo upstream: http:\/\/127\.0\.0\.1:2\)/,
  );
  assert.match(banner, /Runner: in-process/);
  const lines = banner.split("\n");
  assert.ok(
    lines.includes("  /say  pre-req: say; post-resp: (no conf), allow_degradation -> echo"),
    banner,
  );
  assert.ok(lines.includes("  /up*  (no ext-plugin) -> http://10.0.0.1:8080"), banner);
  assert.ok(
    banner.includes("Try:\n  curl -i http://127.0.0.1:1/say\n    # a stop\n"),
    banner,
  );
  assert.match(banner, /Ctrl-C stops the gateway and the runner\.$/);
});
