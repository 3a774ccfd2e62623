// Reads the JUnit reports of deno test and bun test into per-file counts of leaf tests.

/** One leaf test case of a report. */
export interface TestCase {
  /** The test file, relative to the run's root, without a leading `./`. */
  readonly file: string;
  /** The test name (Deno joins nested names with ` > `). */
  readonly name: string;
  readonly outcome: "passed" | "failed" | "skipped";
  /** The failure message (first lines), for failed cases. */
  readonly message: string;
}

/**
 * Leaf test cases of a JUnit report. Deno (`nestedNames`) lists each `describe()` block as a
 * case of its file, and the block's tests as "block > test" under the file
 * `ext:deno_node/testing.ts`: those get the file of their block, and the blocks themselves,
 * which are not leaves, are dropped unless they failed by themselves (a hook threw).
 */
export function parseJunit(xml: string, nestedNames: boolean): TestCase[] {
  const raw = [...xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: decodeXml(/\bname="([^"]*)"/.exec(m[1]!)?.[1] ?? "?"),
    // Bun names the file in `file` (its `classname` is empty), Deno in `classname`.
    file: normaliseFile(
      decodeXml(
        /\bfile="([^"]+)"/.exec(m[1]!)?.[1] ?? /\bclassname="([^"]*)"/.exec(m[1]!)?.[1] ?? "",
      ),
    ),
    body: m[3] ?? "",
  }));
  const prefixes = new Set<string>();
  if (nestedNames) {
    const blockFiles = new Map<string, string>();
    for (const c of raw) {
      if (!c.name.includes(" > ") && !c.file.startsWith("ext:")) blockFiles.set(c.name, c.file);
    }
    for (const c of raw) {
      const parts = c.name.split(" > ");
      if (parts.length === 1) continue;
      if (c.file.startsWith("ext:")) c.file = blockFiles.get(parts[0]!) ?? c.file;
      for (let i = 1; i < parts.length; i++) {
        prefixes.add(`${c.file}\0${parts.slice(0, i).join(" > ")}`);
      }
    }
  }
  const cases: TestCase[] = [];
  for (const c of raw) {
    const failure = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(c.body);
    // A block is no leaf: it counts only when it failed by itself (a hook that threw), not
    // because one of its tests failed ("1 test step failed", reported on that test).
    if (
      prefixes.has(`${c.file}\0${c.name}`) &&
      (failure === null || /^\d+ test steps? failed/.test(failure[3] ?? ""))
    ) continue;
    if (failure !== null) {
      const text = decodeXml(failure[3] ?? /\bmessage="([^"]*)"/.exec(failure[2]!)?.[1] ?? "");
      cases.push({ file: c.file, name: c.name, outcome: "failed", message: firstLines(text, 6) });
    } else if (/<skipped\b/.test(c.body)) {
      cases.push({ file: c.file, name: c.name, outcome: "skipped", message: "" });
    } else {
      cases.push({ file: c.file, name: c.name, outcome: "passed", message: "" });
    }
  }
  return cases;
}

/** `./a/b_test.ts` and `a/b_test.ts` name the same file. */
export function normaliseFile(file: string): string {
  return file.replace(/^\.\//, "");
}

/** The first `count` non-empty lines of `text`, joined with ` | `. */
export function firstLines(text: string, count: number): string {
  return stripAnsi(text).split("\n").map((line) => line.trim()).filter((line) => line !== "")
    .slice(0, count).join(" | ");
}

/** `text` without ANSI colour escapes. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function decodeXml(text: string): string {
  return text.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&#10;/g, "\n").replace(/&amp;/g, "&");
}
