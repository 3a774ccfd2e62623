// Small conf-validation helpers shared by the bundled plugins (messages name the field).

/** A parsed JSON conf object. */
export type ConfObject = Record<string, unknown>;

/** Parses `raw` as a JSON object, or throws saying why it is not one. */
export function parseConfObject(raw: string): ConfObject {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`conf is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`conf must be a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as ConfObject;
}

/** The string at `field`, `fallback` when absent; throws when of another type. */
export function optionalString(conf: ConfObject, field: string, fallback: string): string {
  const value = conf[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string") {
    throw new Error(`"${field}" must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The number at `field`, `undefined` when absent; throws when of another type. */
export function optionalNumber(conf: ConfObject, field: string): number | undefined {
  const value = conf[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`"${field}" must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The array of strings at `field`, `[]` when absent; throws otherwise. */
export function optionalStringArray(conf: ConfObject, field: string): string[] {
  const value = conf[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new Error(`"${field}" must be an array of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/** The `{name: string}` object at `field`, `{}` when absent; throws otherwise. */
export function optionalStringMap(conf: ConfObject, field: string): Record<string, string> {
  const value = conf[field];
  if (value === undefined || value === null) return {};
  if (
    typeof value !== "object" || Array.isArray(value) ||
    Object.values(value).some((item) => typeof item !== "string")
  ) {
    throw new Error(`"${field}" must be an object of string values, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, string>;
}

/** The object at `field`, `{}` when absent; throws otherwise. */
export function optionalObject(conf: ConfObject, field: string): ConfObject {
  const value = conf[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`"${field}" must be an object, got ${JSON.stringify(value)}`);
  }
  return value as ConfObject;
}

/** The boolean at `field`, `fallback` when absent; throws when of another type. */
export function optionalBoolean(conf: ConfObject, field: string, fallback: boolean): boolean {
  const value = conf[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") {
    throw new Error(`"${field}" must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A string, or an array of strings, at `field`; `undefined` when absent; throws otherwise. */
export function optionalStringOrList(
  conf: ConfObject,
  field: string,
): string | string[] | undefined {
  const value = conf[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  return optionalStringArray(conf, field);
}
