// Error classes of the runner executable: a command line or environment it cannot use.

/** A setting from the environment or the command line is missing or malformed. */
export class ConfigError extends Error {
  /** Creates the error with a message naming the setting and the value. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
