/**
 * Finds out whether a session's dev server listens beyond loopback, which would let clients
 * reach it around the gateway's access check (a command template without `--host 127.0.0.1`).
 * Linux only: reads the kernel's socket tables; elsewhere it finds nothing.
 *
 * @module
 */

/** IPv4 loopback (127.0.0.0/8) as the kernel's little-endian hex has it: the low byte is 7F. */
const LOOPBACK_V4 = /^[0-9A-F]{6}7F$/;
/** `::1` and `::ffff:127.x.y.z` in the kernel's word order. */
const LOOPBACK_V6 = /^(00000000000000000000000001000000|0000000000000000FFFF0000[0-9A-F]{6}7F)$/;
const LISTEN = "0A";

/**
 * The non-loopback addresses on which some socket listens on TCP `port`, as
 * `"0.0.0.0"`-style text for IPv4 and `"[hex]"` for IPv6 (`"[::]"` for every interface).
 *
 * @example
 * ```ts ignore
 * import { exposedListeners } from "./_exposure.ts";
 * exposedListeners(5173); // ["0.0.0.0"] for a dev server started with --host
 * ```
 */
export function exposedListeners(
  port: number,
  read: (path: string) => string = readOrEmpty,
): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const found: string[] = [];
  for (
    const [path, loopback] of [["/proc/net/tcp", LOOPBACK_V4], [
      "/proc/net/tcp6",
      LOOPBACK_V6,
    ]] as const
  ) {
    for (const line of read(path).split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== LISTEN || !local?.endsWith(`:${hexPort}`)) continue;
      const address = local.slice(0, -5);
      if (loopback.test(address)) continue;
      found.push(describe(address));
    }
  }
  return found;
}

function describe(address: string): string {
  if (address.length === 8) {
    const bytes = address.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
    return bytes.join(".");
  }
  return /^0+$/.test(address) ? "[::]" : `[${address}]`;
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}
