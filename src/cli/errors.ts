// Error classes of the CLI: bad plugin modules, bad options, type errors, missing tools, failed compiles.

/** A plugin module or folder cannot be used. */
export class PluginDiscoveryError extends Error {
  /** `message` names the path and what is wrong with it. */
  constructor(message: string) {
    super(message);
    this.name = "PluginDiscoveryError";
  }
}

/** A build option has a value the build cannot use. */
export class BuildOptionError extends Error {
  /** `message` names the option and its value. */
  constructor(message: string) {
    super(message);
    this.name = "BuildOptionError";
  }
}

/** Two compiled-in plugins have the same name. */
export class DuplicatePluginNameError extends Error {
  /** The name used twice. */
  readonly pluginName: string;
  /** `first` and `second` describe where each plugin comes from. */
  constructor(pluginName: string, first: string, second: string) {
    super(`Two plugins are named "${pluginName}": ${first} and ${second}`);
    this.name = "DuplicatePluginNameError";
    this.pluginName = pluginName;
  }
}

/** `deno compile` cannot get its `denort` base binary (no DENORT_BIN, not cached, download failed). */
export class DenortUnavailableError extends Error {
  /** What is missing and why the download failed, in one sentence. */
  readonly reason: string;
  /** `reason` says what is missing; `hint` how to provide a denort. */
  constructor(reason: string, hint: string) {
    super(`${reason}. ${hint}`);
    this.name = "DenortUnavailableError";
    this.reason = reason;
  }
}

/** The compiler failed, or the executable it wrote does not run the runner. */
export class BuildError extends Error {
  /** The compiler's or executable's output. */
  readonly output: string;
  /** `reason` says what failed; `output` is appended to the message. */
  constructor(reason: string, output: string) {
    super(output === "" ? reason : `${reason}\n--- output ---\n${output.trimEnd()}\n--- end ---`);
    this.name = "BuildError";
    this.output = output;
  }
}

/** A plugin module does not type-check: the build stops before compiling. */
export class TypeCheckError extends Error {
  /** One `file:line:column: TSnnnn message` line per type error. */
  readonly errors: readonly string[];
  /** `checker` names the type checker; `errors` are its findings. */
  constructor(checker: string, errors: readonly string[]) {
    super(
      `Type errors in your plugins (${checker}); the build stops here:\n${errors.join("\n")}`,
    );
    this.name = "TypeCheckError";
    this.errors = errors;
  }
}

/** A command line the CLI cannot use. */
export class UsageError extends Error {
  /** `message` names the argument and its value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
