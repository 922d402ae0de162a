/**
 * The browser client as one ES module, bundled from `client/mod.ts` with
 * `deno bundle` the first time it is asked for, then kept in memory.
 *
 * `deno compile` cannot run here, so there is no prebuilt file to ship; the
 * bundle takes ~0.1–1 s once per process.
 *
 * @module
 */

const ENTRY = new URL("../../client/mod.ts", import.meta.url);

/** A lazily built bundle of a browser module (default: the client SDK). */
export class ClientBundle {
  #code: Promise<string> | undefined;
  #entry: URL;

  constructor(entry: URL = ENTRY) {
    this.#entry = entry;
  }

  /** Start building now (so the first page load does not wait). */
  warm(): void {
    this.#code ??= build(this.#entry);
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
}

async function build(entry: URL): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-client-" });
  const out = `${dir}/switchyard.js`;
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", out, entry.pathname],
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
