// Reads CPU time and memory of a process from Linux /proc (the bench runs on Linux only).

import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = 100;

/** User + system CPU seconds used so far by every thread of `pid`. */
export function cpuSeconds(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces: the fields we want follow its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the file, 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds all CPUs of the machine spent busy so far (everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  let busy = 0;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  for (let i = 0; i < Math.min(ticks.length, 8); i++) if (i !== 3 && i !== 4) busy += ticks[i]!;
  return busy / CLOCK_TICKS;
}

/** Memory figures of a process, in KiB. */
export interface MemoryInfo {
  /** Resident set size now (VmRSS). */
  rssKiB: number;
  /** Peak resident set size (VmHWM). */
  peakKiB: number;
}

/** Current and peak resident memory of `pid`. */
export function memoryInfo(pid: number): MemoryInfo {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rssKiB: _kib(status, "VmRSS"), peakKiB: _kib(status, "VmHWM") };
}

function _kib(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? 0 : Number(match[1]);
}
