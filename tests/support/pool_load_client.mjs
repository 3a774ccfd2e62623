// APISIX's side of a reload test, run by Node: workers calling through one keepalive pool until stdin ends.
//
// Node, because libuv reads sockets the way nginx does (epoll; a close that arrived with
// the data is reported in the same dispatch), so a connection the runner closes right
// behind its reply is seen closed before it is reused, as nginx's setkeepalive() sees it.
//
// Usage: node tests/support/pool_load_client.mjs <socket path> <workers>
// Prints "ready" after the first reply, then, once stdin closes, one JSON line:
// {"calls": n, "failures": ["..."]}.
import process from "node:process";
import { ApisixClient, formatPrepareConfKey } from "../../lib/src/dev/client/mod.js";
import { createNodeRuntime } from "../../lib/src/runtime/node.js";

const [socketPath, workerCount] = process.argv.slice(2);
const client = new ApisixClient({ runtime: createNodeRuntime(), socketPath });
const key = formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 1 });
const conf = [{ name: "say", value: '{"body":"reloaded"}' }];
const request = { srcIp: undefined, method: 0, path: "/", args: [], headers: [] };
const failures = [];
let calls = 0;
let running = true;
let announced = false;

async function worker() {
  while (running) {
    try {
      const outcome = await client.call({ type: "req", key, conf, request });
      if (outcome.kind === "reply" && outcome.response.action?.type === "stop") {
        calls++;
        if (!announced) {
          announced = true;
          process.stdout.write("ready\n");
        }
      } else {
        failures.push(`unexpected outcome ${JSON.stringify(outcome)}`);
      }
    } catch (error) {
      failures.push(`${new Date().toISOString()} ${String(error)}`);
    }
  }
}

const workers = Array.from({ length: Number(workerCount) }, worker);
process.stdin.resume();
process.stdin.on("end", async () => {
  running = false;
  await Promise.all(workers);
  await client.close();
  process.stdout.write(`${JSON.stringify({ calls, failures })}\n`);
  process.exit(0);
});
