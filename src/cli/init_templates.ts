// The files `init` writes: a plugin, its test, dev routes, type-checking config and a README, per runtime.

import type { RuntimeName } from "../runtime/detect.ts";

/** How a project runs the CLI and its tests on each runtime. */
interface _RuntimeFlavour {
  /** Prefix of every CLI command in scripts. */
  readonly cli: string;
  /** The test command. */
  readonly test: string;
  /** devDependencies the scripts need. */
  readonly devDependencies: Readonly<Record<string, string>>;
  /** How the README says to run a script: `npm run`, `bun run`, `deno task`. */
  readonly runScript: string;
  /** How the README says to install. */
  readonly install: string;
}

const _FLAVOURS: Record<RuntimeName, _RuntimeFlavour> = {
  node: {
    cli: "apisix-ts-runner",
    test: "node --import tsx --test plugins/*_test.ts",
    devDependencies: { "@types/node": "^20.0.0", "tsx": "^4.20.0", "typescript": "^5.9.3" },
    runScript: "npm run",
    install: "npm install",
  },
  bun: {
    cli: "bun --bun apisix-ts-runner",
    test: "bun test plugins/",
    devDependencies: { "@types/bun": "^1.0.0", "typescript": "^5.9.3" },
    runScript: "bun run",
    install: "bun install",
  },
  deno: {
    cli: "deno run -A npm:apisix-ts-plugin-runner/apisix-ts-runner",
    test: "deno test -A plugins/",
    devDependencies: {},
    runScript: "deno task",
    install: "deno install",
  },
};

/** The scripts (package.json) or tasks (deno.json) of a starter on `runtime`. */
export function starterScripts(runtime: RuntimeName): Record<string, string> {
  const { cli, test } = _FLAVOURS[runtime];
  return {
    test,
    dev: `${cli} dev --plugins ./plugins --routes ./routes.json --watch`,
    build: `${cli} build --plugins ./plugins`,
    runner: `${cli} run --plugins ./plugins`,
    doctor: `${cli} doctor --plugins ./plugins`,
  };
}

/** The devDependencies the starter's scripts need on `runtime`. */
export function starterDevDependencies(runtime: RuntimeName): Record<string, string> {
  return { ..._FLAVOURS[runtime].devDependencies };
}

/** The starter plugin. */
export const HELLO_PLUGIN =
  `// The starter plugin: greets callers that pass ?name=, and tags other requests for the upstream.
import { definePlugin, stop } from "apisix-ts-plugin-runner";

/** Conf of "hello": \`{"greeting": "Hello"}\` (optional). */
export interface HelloConf {
  readonly greeting: string;
}

/** Answers \`?name=x\` itself (a Stop); sets \`x-greeting\` on every other request (a Rewrite). */
export const hello = definePlugin({
  name: "hello",
  parseConf(raw): HelloConf {
    const conf = JSON.parse(raw === "" ? "{}" : raw) as { greeting?: unknown };
    if (conf.greeting !== undefined && typeof conf.greeting !== "string") {
      throw new Error(\`"greeting" must be a string, got \${JSON.stringify(conf.greeting)}\`);
    }
    return { greeting: conf.greeting ?? "Hello" };
  },
  requestFilter(req, conf) {
    const name = req.args.get("name");
    if (name) {
      return stop(200, {
        body: \`\${conf.greeting}, \${name}!\\n\`,
        headers: { "content-type": "text/plain" },
      });
    }
    req.headers.set("x-greeting", conf.greeting);
  },
});
`;

/** The starter plugin's test, on the test kit (runs under node --test, bun test and deno test). */
export const HELLO_TEST =
  `// Tests of the hello plugin with the runner's test kit: no socket, no APISIX.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runRequestPlugin } from "apisix-ts-plugin-runner/testing";
import { hello } from "./hello.ts";

test("hello answers ?name= with its greeting", async () => {
  const result = await runRequestPlugin(hello, {
    conf: { greeting: "Hi" },
    request: { args: { name: "APISIX" } },
  });
  assert.equal(result.stop?.status, 200);
  assert.equal(result.bodyText, "Hi, APISIX!\\n");
});

test("hello sets x-greeting on other requests", async () => {
  const result = await runRequestPlugin(hello, { conf: {} });
  assert.equal(result.stop, undefined);
  assert.deepEqual(result.rewrite?.headers, [{ name: "x-greeting", value: "Hello" }]);
});

test("hello refuses a greeting that is not text", () => {
  assert.throws(() => hello.parseConf('{"greeting": 1}'), /"greeting" must be a string/);
});
`;

/** Routes for \`dev\`, APISIX-shaped. */
export const ROUTES = `${
  JSON.stringify(
    {
      routes: [{
        id: "hello",
        uri: "/hello",
        desc: "the hello plugin in ext-plugin-pre-req",
        plugins: {
          "ext-plugin-pre-req": {
            conf: [{ name: "hello", value: JSON.stringify({ greeting: "Hello" }) }],
          },
        },
        examples: [
          { path: "/hello?name=APISIX", shows: "200 Hello, APISIX! (the plugin answered)" },
          { path: "/hello", shows: "the echo upstream's JSON, with the x-greeting header" },
        ],
      }],
    },
    null,
    2,
  )
}\n`;

/** tsconfig.json: what tsc, editors and the build's type check use. */
export const TSCONFIG = `${
  JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        allowImportingTsExtensions: true,
        noEmit: true,
        strict: true,
        skipLibCheck: true,
        lib: ["ES2022", "DOM"],
      },
      include: ["plugins"],
    },
    null,
    2,
  )
}\n`;

/** The starter's README: its commands on `runtime`, and the APISIX configuration. */
export function starterReadme(name: string, runtime: RuntimeName): string {
  const { runScript, install } = _FLAVOURS[runtime];
  const buildNote = runtime === "node"
    ? "\n`build` compiles with Bun or Deno: add one first (`npm i -D bun`).\n"
    : "";
  return `# ${name}

APISIX plugins in TypeScript, served by
[apisix-ts-plugin-runner](https://www.npmjs.com/package/apisix-ts-plugin-runner).

\`\`\`sh
${install}                   # once
${runScript} test                 # the plugins' tests (plugins/*_test.ts), no APISIX needed
${runScript} dev                  # a local gateway on http://127.0.0.1:9080 with routes.json; reloads on change
curl 'http://127.0.0.1:9080/hello?name=APISIX'
${runScript} build                # type-check, then one executable: dist/apisix-ts-runner
${runScript} doctor               # check a deployment and print the config.yaml snippet
\`\`\`
${buildNote}
A plugin is a \`definePlugin({ name, parseConf, requestFilter, responseFilter })\` value
exported from a file in \`plugins/\`; routes name it in their \`ext-plugin-*\` conf.

## APISIX

Copy \`dist/apisix-ts-runner\` to the gateway host and name it in \`conf/config.yaml\`:

\`\`\`yaml
ext-plugin:
  cmd: ["/usr/local/bin/apisix-ts-runner", "run", "--log-file", "/usr/local/apisix/logs/ts-runner.log"]
\`\`\`

Then a route uses the plugin:

\`\`\`json
"plugins": {
  "ext-plugin-pre-req": { "conf": [{ "name": "hello", "value": "{\\"greeting\\":\\"Hello\\"}" }] }
}
\`\`\`

\`apisix-ts-runner doctor\` on the gateway host checks the socket path and permissions.
`;
}
