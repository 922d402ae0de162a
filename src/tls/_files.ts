/**
 * Private to src/tls: the few file operations the cert directory needs.
 *
 * @module
 */

import { join } from "node:path";
import { CertificateError } from "./certificate_error.ts";

/** Creates `dir` (mode 0700: it holds private keys) unless it exists; `ERR_CERT_DIR` otherwise. */
export async function ensureCertDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const detail = error instanceof Deno.errors.AlreadyExists
      ? "a file has that name"
      : reason(error);
    throw new CertificateError(
      "ERR_CERT_DIR",
      `Cannot create cert directory ${dir} (${detail}): choose a directory this user can write`,
      { cause: error },
    );
  }
}

/** The file's text, or `undefined` when it does not exist. Other errors propagate. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Writes `text` to `path` through a temporary file and a rename, so a reader never sees half a
 * file. `mode` is applied to the new file (0600 for private keys).
 */
export async function writeTextAtomic(path: string, text: string, mode: number): Promise<void> {
  const dir = join(path, "..");
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode, createNew: true });
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new CertificateError(
      "ERR_CERT_DIR",
      `Cannot write ${path} (${reason(error)}): make the cert directory ${dir} writable`,
      { cause: error },
    );
  }
}

/** A short human reason for a file-system error: Deno's message without the syscall detail. */
export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message.replace(/ \(os error \d+\)/, "").replace(/: .*$/s, "").toLowerCase();
}
