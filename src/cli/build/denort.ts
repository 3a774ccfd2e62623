// Finds the `denort` base binary `deno compile` embeds, and the deno version, target and cache dir it depends on.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { BuildError } from "../errors.ts";

/** Where `deno compile` would take its base binary from. */
export interface DenortLookup {
  /** Whether a denort is available locally (no download needed). */
  found: boolean;
  /** `DENORT_BIN` or the cached zip, when found. */
  path: string | undefined;
  /** Where Deno caches the zip it downloads: `$DENO_DIR/dl/release/v<version>/denort-<target>.zip`. */
  cachePath: string;
  /** One sentence saying what was found or missing. */
  reason: string;
}

/** Version, host target and cache directory of a deno binary. */
export interface DenoInfo {
  /** `2.9.6`. */
  version: string;
  /** `x86_64-unknown-linux-gnu`. */
  target: string;
  /** `DENO_DIR`, else what `deno info --json` reports. */
  denoDir: string;
}

/**
 * Looks for the `denort` runtime `deno compile` embeds, without downloading:
 * `DENORT_BIN` (the documented override; Deno reads the file it names), then
 * Deno's download cache. Deno 2 downloads `denort-<target>.zip` from
 * dl.deno.land into `$DENO_DIR/dl/release/v<version>/` on first use.
 *
 * @example
 * ```ts
 * const denort = findDenort("deno");
 * if (!denort.found) console.log(denort.reason);
 * ```
 */
export function findDenort(
  deno: string,
  target?: string,
  env: Record<string, string | undefined> = process.env,
): DenortLookup {
  const info = denoInfo(deno);
  const zip = `denort-${target ?? info.target}.zip`;
  const cachePath = join(info.denoDir, "dl", "release", `v${info.version}`, zip);
  const fromEnv = env.DENORT_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    return existsSync(fromEnv)
      ? { found: true, path: fromEnv, cachePath, reason: `DENORT_BIN=${fromEnv}` }
      : {
        found: false,
        path: undefined,
        cachePath,
        reason: `DENORT_BIN=${fromEnv} does not exist`,
      };
  }
  if (existsSync(cachePath)) {
    return { found: true, path: cachePath, cachePath, reason: `cached ${cachePath}` };
  }
  return {
    found: false,
    path: undefined,
    cachePath,
    reason: `no denort here: DENORT_BIN is unset and ${cachePath} does not exist`,
  };
}

/**
 * Asks the `deno` binary for its version, target and cache directory, once per
 * binary and `DENO_DIR` in this process (a build asks several times, and each
 * asking spawns `deno` once or twice).
 *
 * @throws {BuildError} when `deno --version` does not print what is expected.
 */
export function denoInfo(deno: string): DenoInfo {
  const key = `${deno}\0${process.env.DENO_DIR ?? ""}`;
  let info = _denoInfos.get(key);
  if (info === undefined) {
    info = _askDeno(deno);
    _denoInfos.set(key, info);
  }
  return info;
}

const _denoInfos = new Map<string, DenoInfo>();

function _askDeno(deno: string): DenoInfo {
  const version = spawnSync(deno, ["--version"], { encoding: "utf8" }).stdout ?? "";
  // "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)"
  const match = /^deno (\S+) \(.*?(\S+)\)$/m.exec(version);
  if (match === null) {
    throw new BuildError(`Cannot read the version and target of ${deno}`, version);
  }
  let denoDir = process.env.DENO_DIR;
  if (denoDir === undefined || denoDir === "") {
    const json = spawnSync(deno, ["info", "--json"], { encoding: "utf8" }).stdout ?? "";
    denoDir = (JSON.parse(json) as { denoDir: string }).denoDir;
  }
  return { version: match[1]!, target: match[2]!, denoDir };
}
