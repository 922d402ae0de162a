/**
 * The browser client as one ES module, bundled from `client/mod.ts` with
 * `deno bundle` and kept in memory.
 *
 * `deno compile` cannot run here, so there is no prebuilt file to ship. A
 * bundle costs a `deno bundle` child process (0.3–1 s of CPU), so each one is
 * also kept on disk, named by a hash of the Deno version and every source file
 * it is built from: a later start with unchanged sources reads the file
 * instead, and an edited source gives a new name, so a stale bundle is never
 * served.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = new URL("../../client/mod.ts", import.meta.url);

/** Where bundles are cached: `$XDG_CACHE_HOME/switchyard/bundles`, else `~/.cache/…`. */
export function defaultBundleCacheDir(): string | undefined {
  try {
    const base = Deno.env.get("XDG_CACHE_HOME") ??
      (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : undefined);
    return base ? join(base, "switchyard", "bundles") : undefined;
  } catch {
    return undefined; // no env permission: build every time
  }
}

/** Options of {@linkcode ClientBundle}. */
export interface ClientBundleOptions {
  /** Folder for cached bundles; `null` turns the cache off. Default {@linkcode defaultBundleCacheDir}. */
  cacheDir?: string | null;
}

/** A lazily built bundle of a browser module (default: the client SDK). */
export class ClientBundle {
  #code: Promise<string> | undefined;
  #entry: URL;
  #cacheDir: string | undefined;
  #builds = 0;

  constructor(entry: URL = ENTRY, options: ClientBundleOptions = {}) {
    this.#entry = entry;
    this.#cacheDir = options.cacheDir === null
      ? undefined
      : options.cacheDir ?? defaultBundleCacheDir();
  }

  /** How many times this bundle ran `deno bundle` (0 when it came from the cache). */
  get builds(): number {
    return this.#builds;
  }

  /** Start building now (so the first page load does not wait). */
  warm(): void {
    this.#code ??= this.#load();
    this.#code.catch(() => this.#code = undefined);
  }

  /** The bundled module's source. Rejects with the bundler's message when it fails. */
  code(): Promise<string> {
    this.warm();
    return this.#code!;
  }

  /** An HTTP response serving the bundle. */
  async response(): Promise<Response> {
    try {
      return new Response(await this.code(), {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "no-cache",
          "access-control-allow-origin": "*",
        },
      });
    } catch (err) {
      return new Response(`Cannot bundle the client: ${(err as Error).message}`, {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  }

  async #load(): Promise<string> {
    const key = this.#cacheDir ? await sourceHash(this.#entry) : undefined;
    const name = this.#entry.pathname.split("/").pop()!.replace(/\.[jt]s$/, "");
    const cached = key ? join(this.#cacheDir!, `${name}-${key}.js`) : undefined;
    if (cached) {
      try {
        return await Deno.readTextFile(cached);
      } catch { /* not built yet */ }
    }
    this.#builds++;
    const code = await build(this.#entry);
    if (cached) await store(cached, code, `${name}-`);
    return code;
  }
}

/**
 * SHA-256 (hex, 24 digits) of the Deno version and every local module reachable from `entry`
 * through relative imports, and of the nearest `deno.json` when a module imports a bare
 * specifier (its import map pins the version); `undefined` for a remote or `npm:` specifier, or
 * a bare one with no `deno.json` above, which this scan cannot follow. The scan is textual and errs towards hashing more
 * (a specifier in a comment adds a file), never less.
 */
export async function sourceHash(entry: URL): Promise<string | undefined> {
  const seen = new Set<string>();
  const queue = [entry.href];
  const parts: string[] = [Deno.version.deno];
  while (queue.length > 0) {
    const href = queue.pop()!;
    if (seen.has(href)) continue;
    seen.add(href);
    let text: string;
    try {
      text = await Deno.readTextFile(new URL(href));
    } catch {
      return undefined;
    }
    parts.push(href, text);
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"'\s]+)["']/g)) {
      if (spec.startsWith("./") || spec.startsWith("../")) queue.push(new URL(spec, href).href);
      else if (/^[a-z]+:/i.test(spec)) return undefined; // npm:, http:…: not followed
      else if (/^@?[\w.-]+(\/|$)/.test(spec)) {
        // A bare specifier: deno.json's import map pins its version, so its text stands in.
        const map = await importMapText(entry);
        if (map === undefined) return undefined;
        parts.push(map);
      }
      // else not a specifier at all (text such as `from "${x}"` in a message)
    }
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(parts.join("\0")),
  );
  return new Uint8Array(digest).toHex().slice(0, 24);
}

/** The text of the `deno.json` above `entry` (its import map pins bare specifiers), if any. */
async function importMapText(entry: URL): Promise<string | undefined> {
  for (let dir = new URL("./", entry);; dir = new URL("../", dir)) {
    try {
      return await Deno.readTextFile(new URL("deno.json", dir));
    } catch { /* keep looking up */ }
    if (dir.pathname === "/") return undefined;
  }
}

/** Write `code` to `path` atomically and remove older bundles of the same entry; errors are ignored. */
async function store(path: string, code: string, prefix: string): Promise<void> {
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
    const temp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(temp, code);
    await Deno.rename(temp, path);
    for await (const entry of Deno.readDir(dir)) {
      const file = join(dir, entry.name);
      if (entry.name.startsWith(prefix) && file !== path && entry.name.endsWith(".js")) {
        await Deno.remove(file).catch(() => {});
      }
    }
  } catch { /* a read-only home: the next start builds again */ }
}

async function build(entry: URL): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-client-" });
  const out = `${dir}/switchyard.js`;
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "-o",
        out,
        fileURLToPath(entry),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const detail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3);
      throw new Error(`deno bundle failed: ${detail.join(" ")}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
