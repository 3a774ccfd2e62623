// Entry of the runner with the bundled example plugins (the `runner:*` scripts and the demo).
import { bundledPlugins } from "../../plugins/mod.ts";
import { runRunner } from "./main.ts";

await runRunner({ plugins: bundledPlugins });
