// Case-insensitive, multi-value, ordered header list used by the request and response views.

import {
  stableTextEntry,
  textEntryHasValue,
  textEntryLowerName,
} from "../protocol/lazy_text_entries.ts";
import type { TextEntry } from "../protocol/types.ts";

/** Anything {@linkcode HeaderMap.from} accepts: a record, pairs, or another map. */
export type HeaderInit =
  | Record<string, string | readonly string[]>
  | Iterable<readonly [string, string]>;

/**
 * An ordered list of header entries with case-insensitive lookup. Unlike
 * `fetch`'s `Headers`, it keeps one entry per value and the name's case.
 * Reading never counts as a change.
 *
 * @example
 * ```ts
 * import { HeaderMap } from "./headers.ts";
 * const headers = HeaderMap.from({ "Set-Cookie": ["a=1", "b=2"] });
 * headers.getAll("set-cookie"); // ["a=1", "b=2"]
 * headers.get("SET-COOKIE"); // "a=1, b=2"
 * ```
 */
export class HeaderMap implements Iterable<[string, string]> {
  /** One entry per value (a value of the source entries is decoded when first read). */
  #entries: TextEntry[] = [];
  #lower: string[] = [];
  /** Lower-case names given to a mutator, in first-call order; `undefined` until the first. */
  #changed: string[] | undefined;

  /** Builds a map from text entries (entries without value are skipped). */
  static fromEntries(entries: readonly TextEntry[]): HeaderMap {
    const map = new HeaderMap();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (!textEntryHasValue(entry)) continue;
      map.#entries.push(stableTextEntry(entry));
      map.#lower.push(textEntryLowerName(entry));
    }
    return map;
  }

  /** Builds a map from a record (array values give several entries) or from pairs. */
  static from(init: HeaderInit | undefined): HeaderMap {
    const map = new HeaderMap();
    if (init === undefined) return map;
    if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        map.#push(name, value);
      }
      return map;
    }
    for (const [name, value] of Object.entries(init)) {
      if (typeof value === "string") map.#push(name, value);
      else for (const v of value) map.#push(name, v);
    }
    return map;
  }

  /** Whether any mutator was called (even one that ended up changing nothing). */
  get touched(): boolean {
    return this.#changed !== undefined;
  }

  /**
   * Lower-case names a mutator (`set`, `append`, `delete`) was called with, in
   * first-call order: only these can differ from the entries the map was built from.
   */
  changedNames(): readonly string[] {
    return this.#changed ?? [];
  }

  /** Number of entries (one per value). */
  get size(): number {
    return this.#entries.length;
  }

  /** All values of `name` joined with `", "`, or `undefined` when absent. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    let result: string | undefined;
    for (let i = 0; i < this.#lower.length; i++) {
      if (this.#lower[i] !== lower) continue;
      const value = this.#entries[i]!.value!;
      result = result === undefined ? value : `${result}, ${value}`;
    }
    return result;
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const result: string[] = [];
    for (let i = 0; i < this.#lower.length; i++) {
      if (this.#lower[i] === lower) result.push(this.#entries[i]!.value!);
    }
    return result;
  }

  /** Whether `name` has at least one value. */
  has(name: string): boolean {
    return this.#lower.indexOf(name.toLowerCase()) !== -1;
  }

  /** Replaces every value of `name` with `value`. */
  set(name: string, value: string): void {
    const lower = name.toLowerCase();
    this.#remove(lower);
    this.#push(name, value, lower);
    this.#touch(lower);
  }

  /** Adds one more value to `name`. */
  append(name: string, value: string): void {
    const lower = name.toLowerCase();
    this.#push(name, value, lower);
    this.#touch(lower);
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    const lower = name.toLowerCase();
    this.#remove(lower);
    this.#touch(lower);
  }

  #touch(lower: string): void {
    const changed = this.#changed ??= [];
    if (!changed.includes(lower)) changed.push(lower);
  }

  /** Entries as `[name, value]`, one per value, names in their stored case. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      yield [entry.name, entry.value!];
    }
  }

  /** Same as {@linkcode HeaderMap.entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Distinct lower-case names, in first-seen order. */
  names(): string[] {
    const lower = this.#lower;
    if (lower.length > 32) return [...new Set(lower)];
    const result: string[] = [];
    for (let i = 0; i < lower.length; i++) {
      if (!result.includes(lower[i]!)) result.push(lower[i]!);
    }
    return result;
  }

  /** The entries as protocol text entries, optionally without some lower-case names. */
  toTextEntries(exclude?: ReadonlySet<string>): TextEntry[] {
    const result: TextEntry[] = [];
    for (let i = 0; i < this.#entries.length; i++) {
      if (exclude !== undefined && exclude.has(this.#lower[i]!)) continue;
      const entry = this.#entries[i]!;
      result.push({ name: entry.name, value: entry.value! });
    }
    return result;
  }

  #push(name: string, value: string, lower: string = name.toLowerCase()): void {
    this.#entries.push({ name, value });
    this.#lower.push(lower);
  }

  #remove(lower: string): void {
    for (let i = this.#lower.length - 1; i >= 0; i--) {
      if (this.#lower[i] !== lower) continue;
      this.#entries.splice(i, 1);
      this.#lower.splice(i, 1);
    }
  }
}
