// Runs plugins through the real chain code against fake calls and reports what happened.

import type {
  Action,
  ExtraInfoRequest,
  HttpRespCallResponse,
  RewriteAction,
  StopAction,
  TextEntry,
} from "../protocol/types.ts";
import { runRequestFilters, runResponseFilters } from "../plugin/phase.ts";
import { prepareConfs } from "../plugin/prepare.ts";
import { pluginLogger, PluginRegistry } from "../plugin/registry.ts";
import type { AnyPlugin, Plugin } from "../plugin/types.ts";
import {
  FakeExtraInfoChannel,
  fakeHttpReqCall,
  fakeHttpRespCall,
  type FakeRequestInit,
  type FakeResponseInit,
} from "./fake.ts";

const DECODER = new TextDecoder();

/** A conf as raw text (given to `parseConf` as is) or as a value (JSON-encoded first). */
export type ConfInput = string | Record<string, unknown> | readonly unknown[];

/** One plugin of a chain with its conf. */
export interface ChainStep {
  /** The plugin to run. */
  readonly plugin: AnyPlugin;
  /** Default `"{}"`. */
  readonly conf?: ConfInput | undefined;
  /**
   * The plugin's state (what its `setup()` returns). When omitted and the plugin
   * has a `setup()`, the kit runs it before the run and `dispose()` after.
   */
  readonly state?: unknown;
}

/** What the extra-info questions of a run were. */
export interface AskedInfo {
  /** Every ExtraInfo question, in order. */
  readonly asked: readonly ExtraInfoRequest[];
  /** Names of the vars asked for, in order. */
  readonly varsAsked: readonly string[];
  /** Whether the body (request or response, per phase) was asked for. */
  readonly bodyAsked: boolean;
}

/** Result of running the request phase. */
export interface RequestRunResult extends AskedInfo {
  /** The action the runner would send; `undefined` is "no action". */
  readonly action: Action | undefined;
  /** The action when it is a Stop. */
  readonly stop: StopAction | undefined;
  /** The action when it is a Rewrite. */
  readonly rewrite: RewriteAction | undefined;
  /** The Stop or Rewrite body as UTF-8 text, `undefined` when there is none. */
  readonly bodyText: string | undefined;
}

/** Result of running the response phase. */
export interface ResponseRunResult extends AskedInfo {
  /** The HttpRespCall reply fields the runner would send (empty: no change). */
  readonly result: Omit<HttpRespCallResponse, "id">;
  /** Status to send (`undefined`: keep upstream). */
  readonly status: number | undefined;
  /** Headers to send (`undefined`: keep upstream). */
  readonly headers: readonly TextEntry[] | undefined;
  /** Replacement body as UTF-8 text, `undefined` when the upstream body is kept. */
  readonly bodyText: string | undefined;
}

/** Options of {@linkcode runRequestPlugin}. */
export interface RunRequestOptions {
  /** The plugin conf; default `"{}"`. */
  readonly conf?: ConfInput | undefined;
  /** The plugin's state; see {@linkcode ChainStep.state}. */
  readonly state?: unknown;
  /** The fake request, its vars and body. */
  readonly request?: FakeRequestInit | undefined;
  /** Call signal; default never aborts. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@linkcode runResponsePlugin}. */
export interface RunResponseOptions {
  /** The plugin conf; default `"{}"`. */
  readonly conf?: ConfInput | undefined;
  /** The plugin's state; see {@linkcode ChainStep.state}. */
  readonly state?: unknown;
  /** The fake upstream response, its vars and body. */
  readonly response?: FakeResponseInit | undefined;
  /** Call signal; default never aborts. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs one plugin's request filter with a conf against a fake request.
 * Parses the conf with `parseConf` and drives the same chain code as the
 * server, with vars and body answered by a recording fake ExtraInfo channel.
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../../testing.ts";
 * import { say } from "../../plugins/say.ts";
 * const { stop, bodyText } = await runRequestPlugin(say, { conf: { body: "hi" } });
 * stop?.status; // 200
 * bodyText; // "hi"
 * ```
 */
export function runRequestPlugin<C>(
  plugin: Plugin<C>,
  options: RunRequestOptions = {},
): Promise<RequestRunResult> {
  return runRequestChain([{ plugin, conf: options.conf, state: options.state }], options);
}

/**
 * Runs several plugins' request filters in order, as one route conf would.
 *
 * @example
 * ```ts
 * import { runRequestChain } from "../../testing.ts";
 * import { say } from "../../plugins/say.ts";
 * const { action } = await runRequestChain([{ plugin: say, conf: { body: "" } }]);
 * action; // undefined
 * ```
 */
export async function runRequestChain(
  steps: readonly ChainStep[],
  options: Omit<RunRequestOptions, "conf"> = {},
): Promise<RequestRunResult> {
  const { chain, dispose } = await _prepare(steps);
  const channel = new FakeExtraInfoChannel(options.request, "reqBody");
  let action;
  try {
    action = await runRequestFilters(chain, fakeHttpReqCall(options.request), {
      extraInfo: channel,
      signal: options.signal ?? new AbortController().signal,
    });
  } finally {
    await dispose();
  }
  const body = action?.body;
  return {
    action,
    stop: action?.type === "stop" ? action : undefined,
    rewrite: action?.type === "rewrite" ? action : undefined,
    bodyText: body === undefined ? undefined : DECODER.decode(body),
    ..._asked(channel, "reqBody"),
  };
}

/**
 * Runs one plugin's response filter with a conf against a fake upstream response.
 *
 * @example
 * ```ts
 * import { runResponsePlugin } from "../../testing.ts";
 * import { responseRewrite } from "../../plugins/response_rewrite.ts";
 * const { status } = await runResponsePlugin(responseRewrite, {
 *   conf: { status: 418 },
 *   response: { status: 200 },
 * });
 * status; // 418
 * ```
 */
export function runResponsePlugin<C>(
  plugin: Plugin<C>,
  options: RunResponseOptions = {},
): Promise<ResponseRunResult> {
  return runResponseChain([{ plugin, conf: options.conf, state: options.state }], options);
}

/**
 * Runs several plugins' response filters in order, as one route conf would.
 *
 * @example
 * ```ts
 * import { runResponseChain } from "../../testing.ts";
 * const { result } = await runResponseChain([]);
 * result; // {}
 * ```
 */
export async function runResponseChain(
  steps: readonly ChainStep[],
  options: Omit<RunResponseOptions, "conf"> = {},
): Promise<ResponseRunResult> {
  const { chain, dispose } = await _prepare(steps);
  const channel = new FakeExtraInfoChannel(options.response, "respBody");
  let result;
  try {
    result = await runResponseFilters(chain, fakeHttpRespCall(options.response), {
      extraInfo: channel,
      signal: options.signal ?? new AbortController().signal,
    });
  } finally {
    await dispose();
  }
  return {
    result,
    status: result.status,
    headers: result.headers,
    bodyText: result.body === undefined ? undefined : DECODER.decode(result.body),
    ..._asked(channel, "respBody"),
  };
}

/**
 * Runs `plugin`'s `setup()` as the runner would (a logger under its name, a
 * signal that fires on `dispose()`), for tests that reuse one state across many
 * runs: pass `state` to the run functions, and call `dispose()` at the end.
 *
 * @example
 * ```ts
 * const { state, dispose } = await setupPlugin(limitCount);
 * await runRequestPlugin(limitCount, { conf, state });
 * await dispose();
 * ```
 */
export async function setupPlugin<C, S>(
  plugin: Plugin<C, S>,
): Promise<{ readonly state: S | undefined; dispose(): Promise<void> }> {
  if (plugin.setup === undefined) return { state: undefined, dispose: () => Promise.resolve() };
  const stopping = new AbortController();
  const state = await plugin.setup({
    logger: pluginLogger(plugin.name),
    signal: stopping.signal,
  });
  return {
    state,
    async dispose() {
      stopping.abort(new Error("disposed"));
      await plugin.dispose?.(state);
    },
  };
}

async function _prepare(steps: readonly ChainStep[]) {
  const registry = new PluginRegistry([...new Set(steps.map((step) => step.plugin))]);
  const states = new Map<AnyPlugin, unknown>();
  const disposers: (() => Promise<void>)[] = [];
  const dispose = async () => {
    for (const disposer of disposers.splice(0).reverse()) await disposer();
  };
  try {
    for (const step of steps) {
      if (states.has(step.plugin)) continue;
      if (step.state !== undefined || step.plugin.setup === undefined) {
        states.set(step.plugin, step.state);
        continue;
      }
      const set = await setupPlugin(step.plugin);
      states.set(step.plugin, set.state);
      disposers.push(set.dispose);
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const entries = steps.map((step) => ({
    name: step.plugin.name,
    value: step.conf === undefined
      ? "{}"
      : typeof step.conf === "string"
      ? step.conf
      : JSON.stringify(step.conf),
  }));
  let chain;
  try {
    chain = prepareConfs(registry, entries, { skipInvalid: false })
      .map((prepared) => ({ ...prepared, state: states.get(prepared.plugin) }));
  } catch (error) {
    await dispose();
    throw error;
  }
  return { chain, dispose };
}

function _asked(channel: FakeExtraInfoChannel, bodyType: "reqBody" | "respBody"): AskedInfo {
  const asked = channel.asked;
  const varsAsked: string[] = [];
  for (const question of asked) if (question.type === "var") varsAsked.push(question.name);
  return { asked, varsAsked, bodyAsked: asked.some((question) => question.type === bodyType) };
}
