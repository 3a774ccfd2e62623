// Entry point `./runner`: the runner executable's main, for users who write their own entry.

/**
 * Runs the APISIX plugin runner with your plugins: what `ext-plugin.cmd`
 * starts. Compile a file calling it with `deno compile` or
 * `bun build --compile` (or let `apisix-ts-runner build` write and compile
 * one for you).
 *
 * @example Your own runner entry
 * ```ts
 * import { runRunner } from "apisix-ts-plugin-runner/runner";
 * import { hello } from "./plugins/hello.ts";
 *
 * await runRunner({ plugins: [hello] });
 * ```
 *
 * @module
 */

export { runRunner } from "./src/runner/run_runner.ts";
export type { RunRunnerOptions } from "./src/runner/run_runner.ts";
