// The line that names this runner's version and the runtime it runs on (version, doctor, the CLI).

import { detectRuntimeName, type RuntimeName, runtimeVersion } from "../runtime/detect.ts";
import { VERSION } from "../version.ts";

/**
 * `apisix-ts-plugin-runner <version>[ <command>] (<runtime> <runtime version>)`.
 *
 * @example
 * ```ts
 * versionLine("deno", "doctor"); // "apisix-ts-plugin-runner 0.3.0 doctor (deno 2.9.5)"
 * ```
 */
export function versionLine(runtime: RuntimeName = detectRuntimeName(), command?: string): string {
  const what = command === undefined ? VERSION : `${VERSION} ${command}`;
  return `apisix-ts-plugin-runner ${what} (${runtime} ${runtimeVersion(runtime)})`;
}
