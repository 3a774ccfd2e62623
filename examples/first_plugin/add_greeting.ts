import { definePlugin, stop } from "apisix-ts-plugin-runner";

/** Conf: {"greeting": "hello", "block_agent": "curl"} */
export const addGreeting = definePlugin({
  name: "add-greeting",
  parseConf(raw) {
    const conf = JSON.parse(raw) as { greeting?: unknown; block_agent?: unknown };
    if (typeof conf.greeting !== "string") {
      throw new Error(`"greeting" must be a string, got ${JSON.stringify(conf.greeting)}`);
    }
    return { greeting: conf.greeting, blockAgent: String(conf.block_agent ?? "") };
  },
  async requestFilter(req, conf) {
    const agent = req.headers.get("user-agent") ?? "";
    if (conf.blockAgent !== "" && agent.includes(conf.blockAgent)) {
      return stop(403, { body: "agent not allowed\n" });
    }
    req.headers.set("x-greeting", conf.greeting);
    req.headers.set("x-client-addr", (await req.var("remote_addr")) ?? "unknown");
  },
});
