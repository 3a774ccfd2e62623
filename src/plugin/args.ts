// Query args of a request: multi-value, case-sensitive, valueless (`?flag`) kept apart from empty (`?flag=`).

import type { TextEntry } from "../protocol/types.ts";

/**
 * The query args of a request. A value is a string, or `null` for a valueless
 * arg (`?flag`), which is not the same as an empty one (`?flag=` → `""`).
 * Reading never counts as a change; only names whose value list really
 * changed are sent to APISIX.
 *
 * @example
 * ```ts
 * import { RequestArgs } from "./args.ts";
 * const args = RequestArgs.fromEntries([{ name: "flag" }, { name: "q", value: "" }]);
 * args.get("flag"); // null (present, no value)
 * args.get("q"); // ""
 * args.get("missing"); // undefined
 * ```
 */
export class RequestArgs implements Iterable<[string, string | null]> {
  #names: string[] = [];
  #values: (string | null)[] = [];
  #original: readonly TextEntry[] = [];
  #touched: Set<string> | undefined;

  /** Builds the args from protocol entries (absent value → `null`). */
  static fromEntries(entries: readonly TextEntry[]): RequestArgs {
    const args = new RequestArgs();
    args.#original = entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      args.#names.push(entry.name);
      args.#values.push(entry.value ?? null);
    }
    return args;
  }

  /** First value of `name`: a string, `null` when valueless, `undefined` when absent. */
  get(name: string): string | null | undefined {
    const i = this.#names.indexOf(name);
    return i === -1 ? undefined : this.#values[i]!;
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): (string | null)[] {
    const result: (string | null)[] = [];
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === name) result.push(this.#values[i]!);
    }
    return result;
  }

  /** Whether `name` is present (with or without value). */
  has(name: string): boolean {
    return this.#names.indexOf(name) !== -1;
  }

  /** Replaces every value of `name`; `null` makes it valueless. */
  set(name: string, value: string | null): void {
    this.#remove(name);
    this.#names.push(name);
    this.#values.push(value);
    this.#touch(name);
  }

  /** Adds one more value to `name`. */
  append(name: string, value: string | null): void {
    this.#names.push(name);
    this.#values.push(value);
    this.#touch(name);
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    this.#remove(name);
    this.#touch(name);
  }

  /** Entries as `[name, value]`, one per value. */
  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i]!, this.#values[i]!];
  }

  /** Same as {@linkcode RequestArgs.entries}. */
  [Symbol.iterator](): IterableIterator<[string, string | null]> {
    return this.entries();
  }

  /**
   * The Rewrite `args` entries for the names whose values changed, or
   * `undefined`. A removed name gives an entry without value; a changed name
   * gives one entry per value. A Rewrite cannot express a valueless arg, so a
   * `null` value that has to be re-sent goes out as `""` (`?flag=`).
   */
  toRewriteEntries(): TextEntry[] | undefined {
    if (this.#touched === undefined) return undefined;
    let result: TextEntry[] | undefined;
    for (const name of this.#touched) {
      const now = this.getAll(name);
      const before: (string | null)[] = [];
      for (const entry of this.#original) {
        if (entry.name === name) before.push(entry.value ?? null);
      }
      if (_sameValues(before, now)) continue;
      result ??= [];
      if (now.length === 0) result.push({ name });
      else for (const value of now) result.push({ name, value: value ?? "" });
    }
    return result;
  }

  #touch(name: string): void {
    (this.#touched ??= new Set()).add(name);
  }

  #remove(name: string): void {
    for (let i = this.#names.length - 1; i >= 0; i--) {
      if (this.#names[i] !== name) continue;
      this.#names.splice(i, 1);
      this.#values.splice(i, 1);
    }
  }
}

function _sameValues(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
