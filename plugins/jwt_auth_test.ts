// Tests of jwt-auth through the test kit, with tokens made by jose: HS256, RS256, ES256, JWKS with a key rotation.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { runRequestPlugin } from "../src/testing/mod.ts";
import { jwtAuth, parseJwtAuthConf } from "./jwt_auth.ts";

const SECRET = "a-secret-of-at-least-32-bytes-ok!";
const KEY = new TextEncoder().encode(SECRET);

function sign(
  claims: Record<string, unknown>,
  options: { exp?: string | number; alg?: string } = {},
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? "HS256" })
    .setIssuedAt();
  if (options.exp !== undefined) jwt.setExpirationTime(options.exp);
  return jwt;
}

async function run(conf: Record<string, unknown>, headers: Record<string, string>, args = {}) {
  return await runRequestPlugin(jwtAuth, { conf, request: { headers, args } });
}

describe("jwt-auth", () => {
  test("a valid HS256 bearer token passes; claims are forwarded and the credentials hidden", async () => {
    const token = await sign({ sub: "alice", roles: ["admin"], aud: "orders" }, { exp: "5m" })
      .sign(KEY);
    const result = await run(
      {
        secret: SECRET,
        audience: "orders",
        hide_credentials: true,
        forward_claims: { sub: "x-user", roles: "x-roles" },
      },
      { authorization: `Bearer ${token}` },
    );
    assert.equal(result.stop, undefined);
    const headers = Object.fromEntries(result.rewrite!.headers!.map((h) => [h.name, h.value]));
    assert.equal(headers["x-user"], "alice");
    assert.equal(headers["x-roles"], '["admin"]');
    assert.ok("authorization" in headers && headers["authorization"] === undefined, "removed");
  });

  test("the token is also taken from the query argument, then the cookie", async () => {
    const token = await sign({ sub: "bob" }).sign(KEY);
    const fromQuery = await run({ secret: SECRET, hide_credentials: true }, {}, { jwt: token });
    assert.equal(fromQuery.stop, undefined);
    assert.deepEqual(fromQuery.rewrite?.args, [{ name: "jwt" }]);
    const fromCookie = await run({ secret: SECRET }, { cookie: `theme=dark; jwt=${token}` });
    assert.equal(fromCookie.stop, undefined);
  });

  for (
    const [what, makeToken, message] of [
      ["missing", () => Promise.resolve(undefined), "Missing JWT token in request"],
      ["malformed", () => Promise.resolve("not.a.jwt"), "JWT token malformed"],
      [
        "expired",
        () => sign({ aud: "orders" }, { exp: Math.floor(Date.now() / 1000) - 60 }).sign(KEY),
        "JWT token expired",
      ],
      [
        "badly signed",
        () => sign({}).sign(new TextEncoder().encode("x".repeat(32))),
        "JWT token signature invalid",
      ],
      [
        "for another audience",
        () => sign({ aud: "billing" }).sign(KEY),
        "JWT token audience invalid",
      ],
      [
        "signed with a refused algorithm",
        () => sign({}, { alg: "HS512" }).sign(KEY),
        "JWT token algorithm not allowed",
      ],
    ] as const
  ) {
    test(`a ${what} token gets 401 with a JSON reason`, async () => {
      const token = await makeToken();
      const result = await run(
        { secret: SECRET, audience: "orders" },
        token === undefined ? {} : { authorization: `Bearer ${token}` },
      );
      assert.equal(result.stop?.status, 401);
      assert.deepEqual(JSON.parse(result.bodyText!), { message });
    });
  }

  test("RS256 and ES256 tokens verify with a PEM public key; clock_skew tolerates a late clock", async () => {
    for (const alg of ["RS256", "ES256"]) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const pem = await exportSPKI(publicKey);
      const token = await sign({}, { alg, exp: Math.floor(Date.now() / 1000) - 5 }).sign(
        privateKey,
      );
      const strict = await run({ public_key: pem, algorithms: [alg] }, { authorization: token });
      assert.equal(strict.stop?.status, 401, alg);
      const lenient = await run(
        { public_key: pem, algorithms: [alg], clock_skew: 30 },
        { authorization: token },
      );
      assert.equal(lenient.stop, undefined, alg);
    }
  });

  test("a JWKS is fetched, cached, and fetched again for a rotated key's unknown kid", async () => {
    const first = await generateKeyPair("RS256", { extractable: true });
    const second = await generateKeyPair("RS256", { extractable: true });
    const keys = [{ ...(await exportJWK(first.publicKey)), kid: "k1", alg: "RS256" }];
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      // One conf, as one PrepareConf holds it across calls.
      const conf = parseJwtAuthConf(JSON.stringify({ jwks_uri: uri, jwks_cooldown: 0 }));
      const call = async (token: string) =>
        await runRequestPlugin({ ...jwtAuth, parseConf: () => conf }, {
          request: { headers: { authorization: token } },
        });
      const t1 = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" })
        .sign(first.privateKey);
      assert.equal((await call(t1)).stop, undefined);
      assert.equal((await call(t1)).stop, undefined);
      assert.equal(fetches, 1, "the key set is cached");
      // Rotation: the server now publishes k2; a token naming k2 makes the runner fetch again.
      keys.splice(0, 1, { ...(await exportJWK(second.publicKey)), kid: "k2", alg: "RS256" });
      const t2 = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k2" })
        .sign(second.privateKey);
      assert.equal((await call(t2)).stop, undefined);
      assert.equal(fetches, 2);
      const forged = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k9" })
        .sign(second.privateKey);
      assert.equal((await call(forged)).stop?.status, 401);
    } finally {
      server.close();
    }
  });

  test("a bad conf is refused naming the field", () => {
    for (
      const [conf, message] of [
        [{}, /exactly one of "secret", "public_key" or "jwks_uri"/],
        [{ secret: "s", public_key: "p" }, /got "secret" and "public_key"/],
        [{ secret: "s", algorithms: ["RS256"] }, /"algorithms": "RS256" does not go with "secret"/],
        [{ public_key: "not pem" }, /"public_key" must be a PEM public key/],
        [{ jwks_uri: "ftp://x" }, /"jwks_uri" must be an http\(s\) URL/],
        [{ secret: "s", clock_skew: -1 }, /"clock_skew"/],
        [{ secret: "s", forward_claims: { sub: 1 } }, /"forward_claims"/],
      ] as const
    ) {
      assert.throws(() => parseJwtAuthConf(JSON.stringify(conf)), message, JSON.stringify(conf));
    }
  });
});
