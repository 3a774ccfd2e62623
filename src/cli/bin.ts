// Entry of the `apisix-ts-runner` command from source (`deno run -A src/cli/bin.ts`, `bun src/cli/bin.ts`).
import { runCli } from "./main.ts";

await runCli();
