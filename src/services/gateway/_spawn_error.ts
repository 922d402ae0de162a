/**
 * Turns a failure to start a session's command (looking the program up on its PATH, or
 * `Deno.Command#spawn`) into a {@linkcode GatewayError} that names the fix.
 *
 * @module
 */
import { GatewayError } from "./_gateway_error.ts";

/** What was being spawned, for the message. */
export interface SpawnContext {
  id: string;
  program: string;
  cwd?: string;
  path?: string;
}

/**
 * Deno reports both a missing program and a missing working directory as `NotFound`; the
 * directory is checked to tell them apart.
 */
export function describeSpawnError(context: SpawnContext, cause: unknown): GatewayError {
  const { id, program, cwd, path } = context;
  if (cause instanceof Deno.errors.NotFound && cwd !== undefined && !isDirectory(cwd)) {
    return new GatewayError(
      "ERR_SPAWN_FAILED",
      `Cannot start session "${id}": working directory "${cwd}" does not exist`,
      { cause },
    );
  }
  if (cause instanceof Deno.errors.NotFound) {
    return new GatewayError(
      "ERR_COMMAND_NOT_FOUND",
      `Cannot start session "${id}": command "${program}" was not found. Check that it is ` +
        `installed and on PATH (${path ?? "unset"}), and check the command template`,
      { cause },
    );
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError("ERR_SPAWN_FAILED", `Cannot start session "${id}": ${message}`, {
    cause,
  });
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
