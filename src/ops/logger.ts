/**
 * Structured logs: one JSON object per line (or a readable line with
 * `log_format = "pretty"`), filtered by level.
 *
 * @module
 */

import type { Logger } from "../core/hub.ts";

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  format: "json" | "pretty";
  /** Where lines go; default: standard error. */
  write?: (line: string) => void;
  /** Fields added to every line. */
  base?: Record<string, unknown>;
}

/**
 * Create a logger.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const log = createLogger({ level: "info", format: "json" });
 * log.info("Listening", { url: "https://localhost:4433" });
 * // {"time":"2026-11-22T10:00:00.000Z","level":"info","msg":"Listening","url":"https://localhost:4433"}
 * ```
 */
export function createLogger(
  options: LoggerOptions,
): Logger & { child(fields: Record<string, unknown>): Logger } {
  const min = RANK[options.level];
  const encoder = new TextEncoder();
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    const time = new Date().toISOString();
    const all = { ...options.base, ...fields };
    if (options.format === "json") {
      write(JSON.stringify({ time, level, msg, ...all }));
    } else {
      const extra = Object.entries(all).map(([k, v]) =>
        `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
      );
      write([time.slice(11, 19), level.toUpperCase().padEnd(5), msg, ...extra].join(" "));
    }
  };
  return {
    debug: (msg, f) => emit("debug", msg, f),
    info: (msg, f) => emit("info", msg, f),
    warn: (msg, f) => emit("warn", msg, f),
    error: (msg, f) => emit("error", msg, f),
    child: (fields) => createLogger({ ...options, write, base: { ...options.base, ...fields } }),
  };
}
