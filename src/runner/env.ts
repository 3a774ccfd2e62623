// Reads the APISIX environment variables the runner is configured by.

import { ConfigError } from "./errors.ts";

/** Name of the variable holding the socket address, `unix:<path>`. */
export const LISTEN_ADDRESS_VAR = "APISIX_LISTEN_ADDRESS";
/** Name of the variable holding APISIX's conf token lifetime in seconds. */
export const CONF_EXPIRE_TIME_VAR = "APISIX_CONF_EXPIRE_TIME";
/** APISIX's token lifetime when the variable is absent. */
export const DEFAULT_CONF_EXPIRE_SECONDS = 3600;
/** Our confs outlive APISIX's tokens by this factor, so APISIX never holds a token we forgot. */
export const CONF_TTL_FACTOR = 1.2;

/** Returns the socket path of `APISIX_LISTEN_ADDRESS` (`unix:<path>`); throws ConfigError otherwise. */
export function parseListenAddress(value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new ConfigError(
      `${LISTEN_ADDRESS_VAR} is not set: APISIX sets it to "unix:<socket path>"; set it yourself to run the runner by hand`,
    );
  }
  const path = value.startsWith("unix:") ? value.slice("unix:".length) : "";
  if (path === "" || path.includes("\0")) {
    throw new ConfigError(
      `${LISTEN_ADDRESS_VAR} must be "unix:<socket path>", got ${JSON.stringify(value)}`,
    );
  }
  return path;
}

/**
 * Returns how long confs live, in milliseconds: 1.2 × `APISIX_CONF_EXPIRE_TIME`
 * seconds (3600 when absent); throws ConfigError for anything but a positive integer.
 */
export function parseConfTtlMs(value: string | undefined): number {
  if (value === undefined || value === "") {
    return DEFAULT_CONF_EXPIRE_SECONDS * CONF_TTL_FACTOR * 1000;
  }
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new ConfigError(
      `${CONF_EXPIRE_TIME_VAR} must be a positive whole number of seconds, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return Math.round(seconds * CONF_TTL_FACTOR * 1000);
}
