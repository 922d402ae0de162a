/**
 * Serves files from a directory: GET and HEAD only, never outside the root,
 * `index.html` for directories.
 *
 * @module
 */

import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/** The content type for a file name. */
export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/**
 * A handler serving `root`; `undefined` from it means "not found here".
 *
 * @example
 * ```ts
 * import { staticFiles } from "./static_files.ts";
 * const serve = staticFiles("./public");
 * const res = await serve(new Request("http://localhost/index.html"));
 * ```
 */
export function staticFiles(root: string): (req: Request) => Promise<Response | undefined> {
  const base = resolve(root);
  return async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") return undefined;
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return new Response("Bad path encoding", { status: 400 });
    }
    if (path.includes("\0")) return new Response("Bad path", { status: 400 });
    const full = resolve(base, "." + normalize("/" + path));
    if (full !== base && !full.startsWith(base + sep)) {
      return new Response("Forbidden", { status: 403 });
    }
    let file = full;
    try {
      const stat = await Deno.stat(file);
      if (stat.isDirectory) file = join(file, "index.html");
      const body = await Deno.readFile(file);
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { "content-type": contentType(file), "cache-control": "no-cache" },
      });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw err;
    }
  };
}
