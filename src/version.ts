// The runner's version, printed by `version` and kept equal to package.json and deno.json by a test.

/** Version of apisix-ts-plugin-runner. */
export const VERSION = "0.1.0";
