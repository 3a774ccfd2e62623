// Bundled plugin "jwt-auth": verifies a JWT (secret, public key or JWKS) with jose; 401 with a JSON reason otherwise.

import {
  createRemoteJWKSet,
  importSPKI,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import type { Plugin, PluginRequest } from "../src/plugin/types.ts";
import type { PreparedStop } from "../src/protocol/types.ts";
import {
  type ConfObject,
  optionalBoolean,
  optionalNumber,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  optionalStringOrList,
  parseConfObject,
} from "./_conf.ts";

const SECRET_ALGORITHMS = ["HS256", "HS384", "HS512"];
const PUBLIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

/** Finds the key a token's protected header names (jose's `JWTVerifyGetKey` underneath). */
export type JwtKeyResolver = (
  header: { readonly alg?: string; readonly kid?: string },
  token: unknown,
) => Promise<unknown>;

/** Parsed conf of `jwt-auth`. */
export interface JwtAuthConf {
  /** Algorithms a token may be signed with. */
  readonly algorithms: readonly string[];
  /** Required `iss`, if any (one of them, for a list). */
  readonly issuer: string | string[] | undefined;
  /** Required `aud`, if any (one of them, for a list). */
  readonly audience: string | string[] | undefined;
  /** Request header holding `Bearer <token>` (default `authorization`). */
  readonly header: string;
  /** Query argument holding the token (default `jwt`). */
  readonly query: string;
  /** Cookie holding the token (default `jwt`). */
  readonly cookie: string;
  /** Seconds of clock difference tolerated on `exp` and `nbf` (default 0). */
  readonly clockSkew: number;
  /** Remove the token from the request before it goes upstream (default false). */
  readonly hideCredentials: boolean;
  /** Claim name → request header that receives its value. */
  readonly forwardClaims: Readonly<Record<string, string>>;
  /** The verification key: the secret's bytes, or a resolver of the key a token names. */
  readonly key: Uint8Array | JwtKeyResolver;
  /** jose's verify options, made once from `algorithms`, `issuer`, `audience` and `clockSkew`. */
  readonly verifyOptions: {
    readonly algorithms: string[];
    readonly issuer: string | string[] | undefined;
    readonly audience: string | string[] | undefined;
    readonly clockTolerance: number;
  };
}

/**
 * `jwt-auth` — lets a request through only with a valid JWT, taken from the
 * `header` (`Bearer <token>`), else the `query` argument, else the `cookie`.
 * Exactly one key source: `secret` (HS256/384/512; `base64_secret` when it is
 * base64), `public_key` (PEM SPKI: RS*, PS*, ES*, EdDSA) or `jwks_uri` (fetched
 * and cached; an unknown `kid` refreshes the set, at most every `jwks_cooldown`
 * seconds, 30 by default). A missing, malformed,
 * expired or badly signed token, or a wrong `iss`/`aud`, gets 401 with
 * `{"message": "..."}` saying which. `forward_claims` copies claims into
 * request headers; `hide_credentials` removes the token before the upstream.
 *
 * @example Route conf
 * ```json
 * {"name": "jwt-auth", "value": "{\"secret\": \"s3cr3t\", \"audience\": \"orders\", \"forward_claims\": {\"sub\": \"x-user\"}}"}
 * ```
 */
export const jwtAuth: Plugin<JwtAuthConf, undefined> = definePlugin<JwtAuthConf>({
  name: "jwt-auth",
  parseConf: parseJwtAuthConf,
  requestFilter(req, conf) {
    const found = _token(req, conf);
    // No token costs no promise.
    if (found === undefined) return _MISSING;
    return _verify(req, conf, found);
  },
});

async function _verify(
  req: PluginRequest,
  conf: JwtAuthConf,
  found: _Found,
): Promise<PreparedStop | undefined> {
  let payload: JWTPayload;
  try {
    payload = (typeof conf.key === "function"
      ? await jwtVerify(found.token, conf.key as JWTVerifyGetKey, conf.verifyOptions)
      : await jwtVerify(found.token, conf.key, conf.verifyOptions)).payload;
  } catch (error) {
    return _rejection(error);
  }
  if (conf.hideCredentials) found.hide();
  for (const [claim, header] of Object.entries(conf.forwardClaims)) {
    const value = payload[claim];
    if (value === undefined) continue;
    req.headers.set(header, typeof value === "string" ? value : JSON.stringify(value));
  }
  return undefined;
}

/** Parses a `jwt-auth` conf; throws naming the field. */
export function parseJwtAuthConf(raw: string): JwtAuthConf {
  const conf = parseConfObject(raw);
  const sources = ["secret", "public_key", "jwks_uri"].filter((field) =>
    conf[field] !== undefined && conf[field] !== null
  );
  if (sources.length !== 1) {
    throw new Error(
      `exactly one of "secret", "public_key" or "jwks_uri" is needed, got ${
        sources.length === 0 ? "none" : sources.map((s) => `"${s}"`).join(" and ")
      }`,
    );
  }
  const source = sources[0]!;
  const allowed = source === "secret" ? SECRET_ALGORITHMS : PUBLIC_ALGORITHMS;
  const algorithms = optionalStringArray(conf, "algorithms");
  if (algorithms.length === 0) algorithms.push(source === "secret" ? "HS256" : "RS256");
  for (const algorithm of algorithms) {
    if (!allowed.includes(algorithm)) {
      throw new Error(
        `"algorithms": ${JSON.stringify(algorithm)} does not go with "${source}" (use ${
          allowed.join(", ")
        })`,
      );
    }
  }
  const clockSkew = optionalNumber(conf, "clock_skew") ?? 0;
  if (clockSkew < 0) throw new Error(`"clock_skew" must be 0 or more seconds, got ${clockSkew}`);
  const issuer = optionalStringOrList(conf, "issuer");
  const audience = optionalStringOrList(conf, "audience");
  return {
    algorithms,
    issuer,
    audience,
    header: optionalString(conf, "header", "authorization").toLowerCase(),
    query: optionalString(conf, "query", "jwt"),
    cookie: optionalString(conf, "cookie", "jwt"),
    clockSkew,
    hideCredentials: optionalBoolean(conf, "hide_credentials", false),
    forwardClaims: optionalStringMap(conf, "forward_claims"),
    key: _key(conf, source),
    verifyOptions: { algorithms: [...algorithms], issuer, audience, clockTolerance: clockSkew },
  };
}

function _key(conf: ConfObject, source: string): Uint8Array | JwtKeyResolver {
  if (source === "secret") {
    const secret = optionalString(conf, "secret", "");
    if (secret === "") throw new Error(`"secret" must not be empty`);
    if (!optionalBoolean(conf, "base64_secret", false)) return new TextEncoder().encode(secret);
    try {
      return Uint8Array.from(atob(secret), (char) => char.charCodeAt(0));
    } catch {
      throw new Error(`"secret" is not base64 although "base64_secret" is true`);
    }
  }
  if (source === "public_key") {
    const pem = optionalString(conf, "public_key", "");
    if (!pem.includes("-----BEGIN PUBLIC KEY-----")) {
      throw new Error(`"public_key" must be a PEM public key (-----BEGIN PUBLIC KEY-----)`);
    }
    // jose imports a PEM key for one algorithm: one import per algorithm a token names, once.
    const imported = new Map<string, Promise<CryptoKey>>();
    return (header) => {
      const alg = header.alg ?? "";
      let key = imported.get(alg);
      if (key === undefined) {
        key = importSPKI(pem, alg);
        imported.set(alg, key);
      }
      return key;
    };
  }
  const uri = optionalString(conf, "jwks_uri", "");
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`"jwks_uri" must be a URL, got ${JSON.stringify(uri)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`"jwks_uri" must be an http(s) URL, got ${JSON.stringify(uri)}`);
  }
  const cooldown = optionalNumber(conf, "jwks_cooldown") ?? 30;
  if (cooldown < 0) throw new Error(`"jwks_cooldown" must be 0 or more seconds, got ${cooldown}`);
  // Fetched on first use and cached 10 min; a token with an unknown kid refetches, at most
  // once per `jwks_cooldown` seconds (a key rotation is picked up at once).
  return createRemoteJWKSet(url, {
    cooldownDuration: cooldown * 1000,
    cacheMaxAge: 600_000,
  }) as JwtKeyResolver;
}

interface _Found {
  readonly token: string;
  hide(): void;
}

function _token(req: PluginRequest, conf: JwtAuthConf): _Found | undefined {
  const header = req.headers.get(conf.header);
  if (header !== undefined && header.trim() !== "") {
    const token = header.replace(/^\s*bearer\s+/i, "").trim();
    return { token, hide: () => req.headers.delete(conf.header) };
  }
  const query = req.args.get(conf.query);
  if (typeof query === "string" && query !== "") {
    return { token: query, hide: () => req.args.delete(conf.query) };
  }
  const cookies = req.headers.get("cookie");
  if (cookies !== undefined) {
    const parts = cookies.split(";").map((part) => part.trim());
    const prefix = `${conf.cookie}=`;
    const found = parts.find((part) => part.startsWith(prefix));
    if (found !== undefined && found.length > prefix.length) {
      return {
        token: found.slice(prefix.length),
        hide: () => {
          const rest = parts.filter((part) => part !== found);
          if (rest.length === 0) req.headers.delete("cookie");
          else req.headers.set("cookie", rest.join("; "));
        },
      };
    }
  }
  return undefined;
}

const _REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: "JWT token expired",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "JWT token signature invalid",
  ERR_JOSE_ALG_NOT_ALLOWED: "JWT token algorithm not allowed",
  ERR_JWKS_NO_MATCHING_KEY: "JWT token signed by an unknown key",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "JWT token signed by an unknown key",
  ERR_JWS_INVALID: "JWT token malformed",
  ERR_JWT_INVALID: "JWT token malformed",
  ERR_JOSE_NOT_SUPPORTED: "JWT token algorithm not supported",
};

const _CLAIMS: Record<string, string> = {
  aud: "JWT token audience invalid",
  iss: "JWT token issuer invalid",
  nbf: "JWT token not valid yet",
  iat: "JWT token issued in the future",
  exp: "JWT token expired",
};

/** The stops whose message never changes, made once (a reply of a reused stop is a memoised frame). */
const _MISSING = _reject("Missing JWT token in request");
const _INVALID = _reject("JWT token invalid");
const _KEY_SET_UNAVAILABLE = stop(503, _json("JWT key set unavailable"));
const _REASON_STOPS = new Map(Object.entries(_REASONS).map(([code, why]) => [code, _reject(why)]));
const _CLAIM_STOPS = new Map(Object.entries(_CLAIMS).map(([claim, why]) => [claim, _reject(why)]));

function _rejection(error: unknown): PreparedStop {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
    const claim = String((error as { claim?: unknown }).claim);
    return _CLAIM_STOPS.get(claim) ?? _reject(`JWT token claim ${claim} invalid`);
  }
  if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID" || error instanceof TypeError) {
    // The key set could not be fetched: not the client's fault.
    return _KEY_SET_UNAVAILABLE;
  }
  return (typeof code === "string" ? _REASON_STOPS.get(code) : undefined) ?? _INVALID;
}

function _reject(message: string): PreparedStop {
  return stop(401, _json(message));
}

function _json(message: string) {
  return {
    headers: { "content-type": "application/json" },
    body: `${JSON.stringify({ message })}\n`,
  };
}
