// The runner the benchmark measures: runRunner() with the bundled plugins, as a built executable has it.
import { bundledPlugins } from "../../plugins/mod.ts";
import { runRunner } from "../../runner.ts";

await runRunner({ plugins: bundledPlugins });
