/**
 * Signals and inspects a process group that the supervisor started with `detached: true`
 * (a new session, so the group id equals the leader's pid).
 *
 * @module
 */

/**
 * Sends `signal` to every process of group `pgid`. Returns false when the group is empty.
 * Refuses a pgid below 2: `kill(-0)` would hit our own group and `kill(-1)` every process.
 */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  if (!Number.isInteger(pgid) || pgid < 2) throw new RangeError(`Refusing to signal group ${pgid}`);
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Pids of the live (non-zombie) processes in group `pgid`, read from `/proc` (Linux only).
 * A killed grandchild stays a zombie until init reaps it; it holds no resources, so it does
 * not count.
 */
export function livingGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited while we were scanning
    }
    // Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(Number(entry.name));
  }
  return members;
}

/**
 * Resolves once group `pgid` has no living member, or after `limitMs` with those left.
 * SIGKILL is delivered at once but a process takes a moment to die; this is that moment, so
 * a session reported stopped has nothing left running.
 */
export async function groupGone(pgid: number, limitMs: number): Promise<number[]> {
  const until = Date.now() + limitMs;
  for (;;) {
    let left: number[];
    try {
      left = livingGroupMembers(pgid);
    } catch {
      return []; // no /proc to look at
    }
    if (left.length === 0 || Date.now() >= until) return left;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
