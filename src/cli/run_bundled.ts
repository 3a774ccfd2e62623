// Entry of the runner with the bundled example plugins (the `runner:*` scripts and the demo).
import demoRoutes from "../../plugins/demo_routes.json" with { type: "json" };
import { bundledPlugins } from "../../plugins/mod.ts";
import { runRunner } from "./main.ts";

await runRunner({ plugins: bundledPlugins, devRoutes: demoRoutes });
