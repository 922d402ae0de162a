/**
 * The small HTML pages a browser sees while its session starts or after it failed.
 *
 * @module
 */

import type { LogLine } from "./_log_lines.ts";

/** Lines of output shown on the pages. */
export const PAGE_LOG_LINES = 20;

/** True for a top-level page load: GET, accepts HTML, not a WebSocket upgrade. */
export function isBrowserNavigation(req: Request): boolean {
  return req.method === "GET" &&
    (req.headers.get("accept") ?? "").includes("text/html") &&
    req.headers.get("upgrade") === null;
}

/** Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 503 that reloads itself every second until the session is ready. */
export function startingPage(id: string, logs: readonly LogLine[]): Response {
  const tail = logs.slice(-PAGE_LOG_LINES).map((l) => l.text).join("\n");
  return page(503, `Starting session ${id}…`, tail || "(no output yet)", {
    "refresh": "1",
    "retry-after": "1",
  });
}

/** The session could not start (or crashed for good); `message` holds its last log lines. */
export function failurePage(status: number, id: string, message: string): Response {
  return page(status, `Session ${id} failed`, message, {});
}

function page(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string>,
): Response {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}` +
    `</title></head><body><h1>${escapeHtml(title)}</h1><pre>${escapeHtml(detail)}</pre>` +
    "</body></html>";
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}
