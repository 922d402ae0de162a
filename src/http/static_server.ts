/**
 * The file handler behind `switchyard dev [dir]`: serves a folder with
 * revalidation, byte ranges, directory listings, a 404 page, an optional SPA
 * fallback and a hook that rewrites every HTML body (to inject the live-reload
 * client). It never serves anything whose real path is outside the root.
 *
 * @module
 */

import { extname, join, resolve, sep as SEPARATOR } from "node:path";
import { escapeHtml, type ListingEntry, renderDirectoryListing } from "./_directory_listing.ts";

/** Options for {@linkcode createStaticServer}. */
export interface StaticServerOptions {
  /** The folder to serve. Its real path (symlinks resolved) is the boundary. */
  root: string;
  /**
   * Answer a GET or HEAD for a missing page-like path (no file extension, or an
   * `Accept` naming `text/html`) with `/index.html` and status 200.
   */
  spa?: boolean;
  /** Show an HTML listing for a folder without `index.html`; `false` answers 404. Default `true`. */
  listing?: boolean;
  /**
   * Rewrites every `text/html` body before it is sent: files, `404.html`, the SPA
   * index, listings and the built-in 404 page. `path` is the served file relative
   * to the root (`/about/index.html`), or the request path when no file backs the
   * page. Transformed bodies get an ETag hashed from the output and no
   * `Last-Modified`, so a change in the transform's output is never answered 304.
   */
  transformHtml?: (html: string, path: string) => string;
}

/** A request handler: every request gets a response, never `undefined`. */
export type StaticHandler = (req: Request) => Promise<Response>;

const ALLOW = "GET, HEAD";

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".htm": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".txt": "text/plain",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".cjs": "text/javascript",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".xml": "application/xml",
  ".pdf": "application/pdf",
  ".avif": "image/avif",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".ogg": "audio/ogg",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".webmanifest": "application/manifest+json",
};

/** The content type for a file name, with `charset=utf-8` on every `text/*` type. */
export function contentType(path: string): string {
  const type = TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
  return type.startsWith("text/") && !type.includes("charset") ? `${type}; charset=utf-8` : type;
}

/** A request path that passed every check: the decoded segments under the root. */
interface SafePath {
  ok: true;
  /** The path as sent (still percent-encoded), for redirects. */
  raw: string;
  /** The decoded path, for pages and the SPA check. */
  decoded: string;
  segments: string[];
  trailingSlash: boolean;
}

interface RefusedPath {
  ok: false;
  status: 400 | 403;
  reason: string;
}

/**
 * The path of a request URL exactly as the client sent it. `Deno.serve` puts the
 * request target into `req.url` unnormalised (`/a/../b` stays), whereas
 * `new URL()` would resolve dot segments before any check could see them.
 */
function rawTarget(url: string): { path: string; query: string } {
  const scheme = url.indexOf("://");
  const from = scheme < 0 ? 0 : scheme + 3;
  const start = url.slice(from).search(/[/?#]/);
  if (start < 0) return { path: "/", query: "" };
  const rest = url.slice(from + start);
  const hash = rest.indexOf("#");
  const noHash = hash < 0 ? rest : rest.slice(0, hash);
  const q = noHash.indexOf("?");
  const path = q < 0 ? noHash : noHash.slice(0, q);
  return { path: path.startsWith("/") ? path : "/", query: q < 0 ? "" : noHash.slice(q) };
}

/** Whether a path segment names a dotfile or dot-folder (`.well-known` is served). */
export function isHidden(segment: string): boolean {
  return segment.startsWith(".") && segment !== ".well-known";
}

/**
 * Checks a raw request path. Refuses (403) dot segments, empty segments, encoded or
 * raw separators other than `/`, backslashes, drive letters and stream names (`:`),
 * and anything that still looks percent-encoded after one decode (double encoding).
 * Malformed encoding, control characters and NUL bytes are 400.
 */
export function checkRequestPath(raw: string): SafePath | RefusedPath {
  const refuse = (status: 400 | 403, reason: string): RefusedPath => ({
    ok: false,
    status,
    reason,
  });
  if (!raw.startsWith("/")) return refuse(400, "Path must start with /");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return refuse(400, "Control character in path");
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return refuse(400, "Malformed percent-encoding");
  if (/%00/.test(raw)) return refuse(400, "NUL byte in path");
  if (raw.includes("\\")) return refuse(403, "Backslash in path");
  if (/%(2f|5c)/i.test(raw)) return refuse(403, "Encoded path separator");
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return refuse(400, "Malformed percent-encoding");
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded)) return refuse(400, "Control character in path");
  if (/%[0-9a-fA-F]{2}/.test(decoded)) return refuse(403, "Double percent-encoding");
  const parts = decoded.split("/").slice(1);
  const trailingSlash = parts[parts.length - 1] === "";
  const segments = trailingSlash ? parts.slice(0, -1) : parts;
  for (const segment of segments) {
    if (segment === "") return refuse(403, "Empty path segment");
    // Windows drops trailing dots and spaces, so `.. ` and `...` could name a parent there.
    if (/^[.\s]+$/.test(segment)) return refuse(403, "Dot segment in path");
    if (segment.includes(":")) return refuse(403, "Colon in path");
  }
  return { ok: true, raw, decoded, segments, trailingSlash };
}

function isMissing(err: unknown): boolean {
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return true;
  if (err instanceof Deno.errors.FilesystemLoop || err instanceof Deno.errors.IsADirectory) {
    return true;
  }
  const code = (err as { code?: string } | null)?.code;
  return code === "ENAMETOOLONG" || code === "ENOTDIR" || code === "ELOOP";
}

/** A body to send: its size and a way to produce any byte window of it. */
interface Entity {
  type: string;
  size: number;
  etag?: string;
  lastModified?: Date;
  slice(start: number, length: number): BodyInit;
  release(): void;
}

function bytesEntity(type: string, bytes: Uint8Array<ArrayBuffer>, etag?: string): Entity {
  return {
    type,
    size: bytes.byteLength,
    etag,
    slice: (start, length) => bytes.slice(start, start + length),
    release() {},
  };
}

function fileEntity(type: string, file: Deno.FsFile, info: Deno.FileInfo): Entity {
  const mtime = info.mtime ?? new Date(0);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    file.close();
  };
  return {
    type,
    size: info.size,
    etag: `W/"${info.size.toString(16)}-${mtime.getTime().toString(16)}"`,
    lastModified: mtime,
    release,
    slice(start, length) {
      let left = length;
      let positioned = false;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            if (!positioned) {
              await file.seek(start, Deno.SeekMode.Start);
              positioned = true;
            }
            const buf = new Uint8Array(Math.min(left, 64 * 1024));
            const n = left === 0 ? null : await file.read(buf);
            if (n === null) {
              release();
              controller.close();
              return;
            }
            left -= n;
            controller.enqueue(buf.subarray(0, n));
          } catch (err) {
            release();
            controller.error(err);
          }
        },
        cancel: release,
      });
    },
  };
}

async function hashTag(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  return `W/"h-${hex}"`;
}

function etagMatches(header: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const mine = opaque(etag);
  return header.split(",").some((t) => t.trim() === "*" || opaque(t) === mine);
}

/** `true` when the client's copy is current (RFC 9110 §13.2.2: If-None-Match wins). */
function notModified(req: Request, entity: Entity): boolean {
  const inm = req.headers.get("if-none-match");
  if (inm !== null) return entity.etag !== undefined && etagMatches(inm, entity.etag);
  const ims = req.headers.get("if-modified-since");
  if (ims === null || entity.lastModified === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) &&
    Math.floor(entity.lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}

type RangeResult = { start: number; end: number } | "unsatisfiable" | undefined;

/** One `bytes=` range; `undefined` means "send the whole body" (none, invalid or several). */
function parseRange(header: string | null, size: number): RangeResult {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Number(m[2]);
  if (m[2] !== "" && end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

/** If-Range: only a date can match, since every ETag here is weak. */
function ifRangeAllows(req: Request, entity: Entity): boolean {
  const value = req.headers.get("if-range");
  if (value === null) return true;
  if (value.trim().startsWith('"') || value.trim().startsWith("W/")) return false;
  const date = Date.parse(value);
  return entity.lastModified !== undefined && !Number.isNaN(date) &&
    Math.floor(entity.lastModified.getTime() / 1000) === Math.floor(date / 1000);
}

function send(req: Request, entity: Entity, status = 200): Response {
  const headers = new Headers({
    "content-type": entity.type,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (status === 200) {
    headers.set("accept-ranges", "bytes");
    if (entity.etag) headers.set("etag", entity.etag);
    if (entity.lastModified) headers.set("last-modified", entity.lastModified.toUTCString());
    if (notModified(req, entity)) {
      entity.release();
      headers.delete("content-type");
      return new Response(null, { status: 304, headers });
    }
    const range = ifRangeAllows(req, entity)
      ? parseRange(req.headers.get("range"), entity.size)
      : undefined;
    if (range === "unsatisfiable") {
      entity.release();
      headers.set("content-range", `bytes */${entity.size}`);
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(req.method === "HEAD" ? null : "Range not satisfiable", {
        status: 416,
        headers,
      });
    }
    if (range) {
      const length = range.end - range.start + 1;
      headers.set("content-range", `bytes ${range.start}-${range.end}/${entity.size}`);
      headers.set("content-length", String(length));
      return body(req, entity, 206, headers, range.start, length);
    }
  }
  headers.set("content-length", String(entity.size));
  return body(req, entity, status, headers, 0, entity.size);
}

function body(
  req: Request,
  entity: Entity,
  status: number,
  headers: Headers,
  start: number,
  length: number,
): Response {
  if (req.method === "HEAD") {
    entity.release();
    return new Response(null, { status, headers });
  }
  return new Response(entity.slice(start, length), { status, headers });
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache", ...extra },
  });
}

function defaultNotFoundPage(path: string): string {
  const shown = escapeHtml(path);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>404 Not Found</title></head>
<body style="font: 14px/1.5 system-ui, sans-serif; margin: 2rem">
<h1>404 Not Found</h1>
<p>Nothing is served at <code>${shown}</code>.</p>
</body>
</html>
`;
}

/**
 * Creates the dev server's file handler for `options.root`.
 * Answers GET and HEAD (other methods: 405 with `Allow`), with `Cache-Control:
 * no-cache`, a weak ETag and `Last-Modified` (304 on a match), single byte ranges
 * (206, or 416 with `Content-Range: bytes *\/size`), `index.html` or a listing for
 * folders (a folder without its trailing slash is redirected, 301), and `404.html`
 * from the root or a built-in page for anything missing. A path that tries to leave
 * the root gets 403 (400 when malformed), and so does a symlink whose real path is
 * outside the real root.
 *
 * @example
 * ```ts ignore
 * import { createStaticServer } from "./static_server.ts";
 * const handler = createStaticServer({ root: "./public", spa: true });
 * const server = Deno.serve({ port: 0 }, handler);
 * await server.shutdown();
 * ```
 */
export function createStaticServer(options: StaticServerOptions): StaticHandler {
  const listing = options.listing ?? true;
  const transform = options.transformHtml;
  let rootPromise: Promise<string> | undefined;
  const realRoot = () => rootPromise ??= Deno.realPath(resolve(options.root));

  /** The real path of `path` if it exists inside the root; `"outside"` if it escapes. */
  async function locate(root: string, path: string): Promise<string | "outside" | undefined> {
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const prefix = root.endsWith(SEPARATOR) ? root : root + SEPARATOR;
    return real === root || real.startsWith(prefix) ? real : "outside";
  }

  function relative(root: string, real: string): string {
    return "/" + real.slice(root.length).split(SEPARATOR).filter(Boolean).join("/");
  }

  async function htmlEntity(html: string, path: string, tagged: boolean): Promise<Entity> {
    const bytes = new TextEncoder().encode(transform ? transform(html, path) : html);
    return bytesEntity(
      "text/html; charset=utf-8",
      bytes,
      tagged ? await hashTag(bytes) : undefined,
    );
  }

  /** Opens a located file; transformed HTML is read whole, everything else streamed. */
  async function fileToEntity(root: string, real: string): Promise<Entity | undefined> {
    const type = contentType(real);
    if (transform && type.startsWith("text/html")) {
      const html = await Deno.readTextFile(real);
      return htmlEntity(html, relative(root, real), true);
    }
    const file = await Deno.open(real, { read: true });
    try {
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        return undefined;
      }
      return fileEntity(type, file, info);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  async function listDirectory(root: string, dir: string): Promise<ListingEntry[]> {
    const names: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(dir)) if (!isHidden(entry.name)) names.push(entry);
    const entries = await Promise.all(names.map(async (entry): Promise<ListingEntry | null> => {
      const full = join(dir, entry.name);
      try {
        if (entry.isSymlink) {
          const real = await locate(root, full);
          if (real === undefined) return { name: entry.name, isDirectory: false };
          if (real === "outside") return null;
        }
        const info = await Deno.stat(full);
        return {
          name: entry.name,
          isDirectory: info.isDirectory,
          size: info.isDirectory ? undefined : info.size,
          modified: info.mtime ?? undefined,
        };
      } catch {
        return { name: entry.name, isDirectory: entry.isDirectory };
      }
    }));
    return entries.filter((e): e is ListingEntry => e !== null);
  }

  async function notFound(req: Request, root: string, path: string): Promise<Response> {
    const page = await locate(root, join(root, "404.html"));
    let entity: Entity;
    if (typeof page === "string" && page !== "outside") {
      entity = await htmlEntity(await Deno.readTextFile(page), "/404.html", false);
    } else {
      entity = await htmlEntity(defaultNotFoundPage(path), path, false);
    }
    return send(req, entity, 404);
  }

  function looksLikePage(req: Request, path: SafePath): boolean {
    const last = path.segments[path.segments.length - 1] ?? "";
    return path.trailingSlash || extname(last) === "" ||
      (req.headers.get("accept") ?? "").includes("text/html");
  }

  async function missing(req: Request, root: string, path: SafePath): Promise<Response> {
    if (options.spa && looksLikePage(req, path)) {
      const index = await locate(root, join(root, "index.html"));
      if (typeof index === "string" && index !== "outside") {
        const entity = await fileToEntity(root, index);
        if (entity) return send(req, entity);
      }
    }
    return notFound(req, root, path.decoded);
  }

  async function handle(req: Request): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return plain(405, "Method not allowed: use GET or HEAD", { allow: ALLOW });
    }
    const target = rawTarget(req.url);
    const path = checkRequestPath(target.path);
    if (!path.ok) return plain(path.status, `${path.reason}\n`);
    if (path.segments.some(isHidden)) {
      // Dotfiles (.env, .git/config, …) hold secrets more often than pages: never served.
      return plain(
        404,
        "Not found: files and folders whose name starts with a dot are not served\n",
      );
    }
    const root = await realRoot();
    const full = join(root, ...path.segments);
    const prefix = root.endsWith(SEPARATOR) ? root : root + SEPARATOR;
    if (full !== root && !full.startsWith(prefix)) return plain(403, "Outside the root\n");

    const real = await locate(root, full);
    if (real === "outside") return plain(403, "Link leads outside the root\n");
    if (real === undefined) return missing(req, root, path);
    const info = await Deno.stat(real);

    if (info.isDirectory) {
      if (!path.trailingSlash) {
        return new Response(null, {
          status: 301,
          headers: { location: `${path.raw}/${target.query}`, "cache-control": "no-cache" },
        });
      }
      const index = await locate(root, join(real, "index.html"));
      if (index === "outside") return plain(403, "Link leads outside the root\n");
      if (index !== undefined) {
        const entity = await fileToEntity(root, index);
        if (entity) return send(req, entity);
      }
      if (!listing) return missing(req, root, path);
      const html = renderDirectoryListing(path.decoded, await listDirectory(root, real));
      return send(req, await htmlEntity(html, path.decoded, true));
    }
    if (path.trailingSlash) return missing(req, root, path);
    const entity = await fileToEntity(root, real);
    return entity ? send(req, entity) : missing(req, root, path);
  }

  return async (req) => {
    try {
      return await handle(req);
    } catch (err) {
      if (isMissing(err)) return plain(404, "Not found\n");
      if (err instanceof Deno.errors.PermissionDenied) return plain(403, "Permission denied\n");
      return plain(500, "Internal error while serving the file\n");
    }
  };
}
