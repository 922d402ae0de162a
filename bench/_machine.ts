/**
 * How busy the machine is, from /proc: the benchmark waits for a quiet
 * machine and reports how much CPU other work took while it measured.
 *
 * @module
 */

import { sleep } from "./_processes.ts";

/** Clock ticks per second of /proc CPU times (USER_HZ; 100 on Linux). */
const HZ = 100;

/** Busy and total CPU ticks of the whole machine since boot. */
export function machineTicks(): { busy: number; total: number } {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)
    .slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // Idle, I/O wait and softirq (loopback traffic the benchmark itself causes) are not "busy";
  // steal is: the hypervisor gave our cores to someone else.
  return { busy: total - fields[3] - fields[4] - fields[6], total };
}

/** CPU seconds (user + system) used so far by process `pid`, or 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return 0;
  }
}

/** Cores kept busy over `ms` by everything on the machine. */
export async function busyCores(ms = 1_000): Promise<number> {
  const a = machineTicks();
  await sleep(ms);
  const b = machineTicks();
  return (navigator.hardwareConcurrency * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

/**
 * Wait until fewer than `maxBusy` cores are busy (other work would skew the
 * figures), at most `timeoutMs`. Returns the last reading.
 */
export async function waitForQuiet(maxBusy = 0.3, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let busy = await busyCores();
  while (busy > maxBusy && Date.now() < deadline) {
    console.error(`  waiting for a quiet machine: ${busy.toFixed(2)} cores busy`);
    busy = await busyCores(2_000);
  }
  return busy;
}

/**
 * Milliseconds block device `name` (as named in /proc/diskstats, e.g. `vda`) has
 * spent doing I/O since boot, or NaN when there is no such device.
 */
export function diskBusyMs(name: string): number {
  for (const line of Deno.readTextFileSync("/proc/diskstats").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[2] === name) return Number(f[12]);
  }
  return NaN;
}
