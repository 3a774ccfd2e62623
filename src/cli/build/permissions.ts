// Deno permission flags baked into the compiled runner: the socket, the APISIX env variables, the user's extras.

import { resolve } from "node:path";
import { BuildOptionError } from "../errors.ts";

/** The env variables the runner reads; everything else is stripped by nginx anyway. */
export const RUNNER_ENV_VARS: readonly string[] = [
  "APISIX_LISTEN_ADDRESS",
  "APISIX_CONF_EXPIRE_TIME",
  // The OpenTelemetry SDK reads many OTEL_* variables of its own: Deno 2.1+ takes a prefix.
  "OTEL_*",
];

/**
 * Deno permission flags of the compiled runner: read and write (the socket
 * file: create, stale-file check and removal, chmod), net (Deno checks unix
 * socket listens against `--allow-net`, and can scope it only to one exact
 * socket path, which APISIX makes from its master pid), the two APISIX env
 * variables and the `OTEL_*` ones (tracing), plus the user's `allow` entries merged in.
 *
 * @example
 * ```ts
 * denoPermissionFlags({ socketDir: "/usr/local/apisix/conf", allow: ["env=AUTH_KEY"] });
 * // ["--allow-read=/usr/local/apisix/conf", "--allow-write=/usr/local/apisix/conf",
 * //  "--allow-net", "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,OTEL_*,AUTH_KEY"]
 * ```
 */
export function denoPermissionFlags(
  options: { socketDir?: string | undefined; allow?: readonly string[] | undefined } = {},
): string[] {
  const scopes = new Map<string, Set<string> | "all">();
  const add = (kind: string, values: readonly string[] | "all") => {
    const current = scopes.get(kind);
    if (current === "all") return;
    if (values === "all") scopes.set(kind, "all");
    else scopes.set(kind, new Set([...(current ?? []), ...values]));
  };
  const socketScope = options.socketDir === undefined ? "all" : [resolve(options.socketDir)];
  add("read", socketScope);
  add("write", socketScope);
  add("net", "all");
  add("env", RUNNER_ENV_VARS);
  for (const spec of options.allow ?? []) {
    const match = /^(?:--allow-)?([a-z]+)(?:=(.*))?$/.exec(spec);
    if (match === null || !_PERMISSION_KINDS.includes(match[1]!)) {
      throw new BuildOptionError(
        `Unknown --allow ${JSON.stringify(spec)}: expected <kind>[=<list>] with kind one of ` +
          _PERMISSION_KINDS.join(", "),
      );
    }
    const list = match[2];
    add(match[1]!, list === undefined || list === "" ? "all" : list.split(","));
  }
  const flags: string[] = [];
  for (const [kind, scope] of scopes) {
    flags.push(scope === "all" ? `--allow-${kind}` : `--allow-${kind}=${[...scope].join(",")}`);
  }
  return flags;
}

const _PERMISSION_KINDS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"];
