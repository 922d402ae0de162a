import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { checkRequestPath, createStaticServer, type StaticHandler } from "./static_server.ts";
import { concatBytes } from "../core/bytes.ts";

function assertNot(value: boolean, message?: string): void {
  assert.equal(value, false, message);
}

function assertIncludes(text: string, part: string): void {
  assert.ok(text.includes(part), `expected ${JSON.stringify(part)} in:\n${text}`);
}

const SECRET = "SWITCHYARD-SECRET-7f3a91";
const OUTSIDE_MARKER = "outside-only-marker";
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

interface Tree {
  base: string;
  root: string;
  spaRoot: string;
}

/**
 * base/
 *   secret.txt, outside-only-marker.txt, root_sibling/secret.txt   (never served)
 *   root/        index.html, style.css, app.js, data.json, notes.txt, image.png,
 *                <script>.txt, sub/page.html, sub/deeper/, empty/,
 *                escape -> ../secret.txt, outdir -> .., inlink -> notes.txt, indir -> sub
 *   spa_root/    index.html, 404.html, about.html
 */
async function makeTree(): Promise<Tree> {
  const base = await Deno.makeTempDir({ prefix: "switchyard_static_" });
  const root = join(base, "root");
  const spaRoot = join(base, "spa_root");
  await Deno.writeTextFile(join(base, "secret.txt"), SECRET);
  await Deno.writeTextFile(join(base, `${OUTSIDE_MARKER}.txt`), SECRET);
  await Deno.mkdir(join(base, "root_sibling"));
  await Deno.writeTextFile(join(base, "root_sibling", "secret.txt"), SECRET);

  await Deno.mkdir(join(root, "sub", "deeper"), { recursive: true });
  await Deno.mkdir(join(root, "empty"));
  await Deno.writeTextFile(join(root, "index.html"), "<html><body>home</body></html>");
  await Deno.writeTextFile(join(root, "style.css"), "body { color: red }");
  await Deno.writeTextFile(join(root, "app.js"), "console.log(1);");
  await Deno.writeTextFile(join(root, "data.json"), '{"a":1}');
  await Deno.writeTextFile(join(root, "notes.txt"), "0123456789abcdefghij");
  await Deno.writeFile(join(root, "image.png"), PNG);
  await Deno.writeTextFile(join(root, "<script>.txt"), "x");
  await Deno.writeTextFile(join(root, "sub", "page.html"), "<p>page</p>");
  await Deno.symlink("../secret.txt", join(root, "escape"));
  await Deno.symlink("..", join(root, "outdir"));
  await Deno.symlink("notes.txt", join(root, "inlink"));
  await Deno.symlink("sub", join(root, "indir"));

  await Deno.mkdir(spaRoot);
  await Deno.writeTextFile(join(spaRoot, "index.html"), "<html><body>spa shell</body></html>");
  await Deno.writeTextFile(join(spaRoot, "404.html"), "<html><body>custom missing</body></html>");
  await Deno.writeTextFile(join(spaRoot, "about.html"), "<p>about</p>");
  return { base, root, spaRoot };
}

async function withTree(fn: (tree: Tree) => Promise<void>): Promise<void> {
  const tree = await makeTree();
  try {
    await fn(tree);
  } finally {
    await Deno.remove(tree.base, { recursive: true });
  }
}

function get(handler: StaticHandler, path: string, init: RequestInit = {}): Promise<Response> {
  return handler(new Request(`http://localhost${path}`, init));
}

/**
 * What `Deno.serve` hands the handler: `req.url` keeps the request target as sent,
 * which `new Request()` would normalise.
 */
function rawRequest(path: string, method = "GET"): Request {
  return { method, url: `http://localhost${path}`, headers: new Headers() } as Request;
}

async function readCorpus(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("./testdata/traversal_corpus.txt", import.meta.url));
  return text.split("\n").filter((line) => line !== "");
}

function assertNoLeak(status: number, body: string, label: string): void {
  assert.ok([400, 403, 404].includes(status), `${label}: status ${status}`);
  assertNot(body.includes(SECRET), `${label}: leaked the secret`);
  assertNot(body.includes(OUTSIDE_MARKER), `${label}: listed a folder outside the root`);
  assertNot(body.includes("root:x:0:"), `${label}: leaked /etc/passwd`);
}

/** Sends `raw` bytes to a real `Deno.serve` and returns status, headers text and body. */
async function rawHttp(
  port: number,
  request: string,
): Promise<{ status: number; head: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const deadline = AbortSignal.timeout(5000);
    const chunks: Uint8Array[] = [];
    const reader = conn.readable.getReader();
    deadline.addEventListener("abort", () => reader.cancel().catch(() => {}));
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    assertNot(deadline.aborted, "server did not close the connection in time");
    const text = new TextDecoder().decode(concatBytes(chunks));
    const split = text.indexOf("\r\n\r\n");
    const head = text.slice(0, split);
    return { status: Number(head.split(" ")[1]), head, body: text.slice(split + 4) };
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by the cancelled reader
    }
  }
}

Deno.test("createStaticServer() sends content types with charset for text", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const cases: [string, string][] = [
      ["/index.html", "text/html; charset=utf-8"],
      ["/style.css", "text/css; charset=utf-8"],
      ["/app.js", "text/javascript; charset=utf-8"],
      ["/data.json", "application/json"],
      ["/notes.txt", "text/plain; charset=utf-8"],
      ["/image.png", "image/png"],
    ];
    for (const [path, type] of cases) {
      const res = await get(h, path);
      assert.deepEqual(res.status, 200, path);
      assert.deepEqual(res.headers.get("content-type"), type, path);
      assert.deepEqual(res.headers.get("cache-control"), "no-cache");
      await res.body?.cancel();
    }
    const png = await get(h, "/image.png");
    assert.deepEqual(new Uint8Array(await png.arrayBuffer()), PNG);
  });
});

Deno.test("createStaticServer() serves index.html for / and redirects a folder to its slash", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const home = await get(h, "/");
    assert.deepEqual(home.status, 200);
    assert.deepEqual(await home.text(), "<html><body>home</body></html>");

    const redirect = await get(h, "/sub?x=1");
    assert.deepEqual(redirect.status, 301);
    assert.deepEqual(redirect.headers.get("location"), "/sub/?x=1");
    const file = await get(h, "/sub/page.html");
    assert.deepEqual(await file.text(), "<p>page</p>");
    const notFolder = await get(h, "/notes.txt/");
    assert.deepEqual(notFolder.status, 404);
    await notFolder.body?.cancel();
  });
});

Deno.test("createStaticServer() answers other methods with 405 and Allow", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const res = await get(h, "/index.html", { method });
      assert.deepEqual(res.status, 405);
      assert.deepEqual(res.headers.get("allow"), "GET, HEAD");
      await res.body?.cancel();
    }
  });
});

Deno.test("createStaticServer() revalidates with ETag and If-Modified-Since", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const first = await get(h, "/notes.txt");
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    await first.body?.cancel();
    assert.match(etag, /^W\/".+"$/);
    assert.ok(lastModified);

    const byTag = await get(h, "/notes.txt", { headers: { "if-none-match": `"x", ${etag}` } });
    assert.deepEqual(byTag.status, 304);
    assert.deepEqual(byTag.body, null);
    assert.deepEqual(byTag.headers.get("etag"), etag);

    const byDate = await get(h, "/notes.txt", { headers: { "if-modified-since": lastModified } });
    assert.deepEqual(byDate.status, 304);

    const older = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    const stale = await get(h, "/notes.txt", { headers: { "if-modified-since": older } });
    assert.deepEqual(stale.status, 200);
    await stale.body?.cancel();

    const otherTag = await get(h, "/notes.txt", {
      headers: { "if-none-match": 'W/"other"', "if-modified-since": lastModified },
    });
    assert.deepEqual(otherTag.status, 200, "If-None-Match takes precedence over If-Modified-Since");
    await otherTag.body?.cancel();

    await Deno.writeTextFile(join(root, "notes.txt"), "changed!");
    await Deno.utime(join(root, "notes.txt"), new Date(), new Date(Date.now() + 5_000));
    const changed = await get(h, "/notes.txt", { headers: { "if-none-match": etag } });
    assert.deepEqual(changed.status, 200);
    assert.deepEqual(await changed.text(), "changed!");
  });
});

Deno.test("createStaticServer() answers single byte ranges with 206 and bad ones with 416", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const range = async (value: string) => {
      const res = await get(h, "/notes.txt", { headers: { range: value } });
      return {
        status: res.status,
        range: res.headers.get("content-range"),
        length: res.headers.get("content-length"),
        body: await res.text(),
      };
    };
    assert.deepEqual(await range("bytes=2-5"), {
      status: 206,
      range: "bytes 2-5/20",
      length: "4",
      body: "2345",
    });
    assert.deepEqual(await range("bytes=15-"), {
      status: 206,
      range: "bytes 15-19/20",
      length: "5",
      body: "fghij",
    });
    assert.deepEqual(await range("bytes=-3"), {
      status: 206,
      range: "bytes 17-19/20",
      length: "3",
      body: "hij",
    });
    assert.deepEqual((await range("bytes=18-100")).body, "ij");
    assert.deepEqual((await range("bytes=-100")).body, "0123456789abcdefghij");
    const beyond = await range("bytes=20-");
    assert.deepEqual([beyond.status, beyond.range], [416, "bytes */20"]);
    assert.deepEqual((await range("bytes=-0")).status, 416);
    const multi = await range("bytes=0-1,4-5");
    assert.deepEqual([multi.status, multi.body], [200, "0123456789abcdefghij"]);
    assert.deepEqual((await range("bytes=5-2")).status, 200, "an invalid range is ignored");
  });
});

Deno.test("createStaticServer() answers HEAD with headers and the length but no body", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const res = await get(h, "/notes.txt", { method: "HEAD" });
    assert.deepEqual(res.status, 200);
    assert.deepEqual(res.body, null);
    assert.deepEqual(res.headers.get("content-length"), "20");
    assert.deepEqual(res.headers.get("content-type"), "text/plain; charset=utf-8");
    const ranged = await get(h, "/notes.txt", { method: "HEAD", headers: { range: "bytes=0-3" } });
    assert.deepEqual([ranged.status, ranged.headers.get("content-length"), ranged.body], [
      206,
      "4",
      null,
    ]);
  });
});

Deno.test("createStaticServer() lists a folder with escaped names, folders first", async () => {
  await withTree(async ({ root }) => {
    await Deno.remove(join(root, "index.html"));
    const h = createStaticServer({ root });
    const res = await get(h, "/");
    assert.deepEqual(res.status, 200);
    assert.deepEqual(res.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await res.text();
    assertNot(html.includes("<script>"), "a file name must not become markup");
    assertIncludes(html, "&#60;script&#62;.txt");
    assertIncludes(html, 'href="%3Cscript%3E.txt"');
    assert.ok(html.indexOf('href="sub/"') < html.indexOf('href="app.js"'), "folders come first");
    assertIncludes(html, "20 B");
    assertNot(html.includes('href="escape"'), "a link out of the root is not listed");
    assertNot(html.includes('href="../"'), "no parent link at the root");

    const sub = await (await get(h, "/sub/")).text();
    assertIncludes(sub, 'href="../"');
    assertIncludes(sub, 'href="deeper/"');
    assertIncludes(sub, 'href="page.html"');
  });
});

Deno.test("createStaticServer() answers 404 for a folder without index when listing is off", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root, listing: false });
    const res = await get(h, "/empty/");
    assert.deepEqual(res.status, 404);
    await res.body?.cancel();
  });
});

Deno.test("createStaticServer() sends 404.html, or a page naming the escaped path", async () => {
  await withTree(async ({ root, spaRoot }) => {
    const custom = await get(createStaticServer({ root: spaRoot }), "/nope.js");
    assert.deepEqual(custom.status, 404);
    assert.deepEqual(await custom.text(), "<html><body>custom missing</body></html>");

    const builtIn = await get(createStaticServer({ root }), "/%3Cb%3Emissing%3C/b%3E.txt");
    assert.deepEqual(builtIn.status, 404);
    assert.deepEqual(builtIn.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await builtIn.text();
    assertIncludes(html, "&#60;b&#62;missing&#60;/b&#62;.txt");
    assertNot(html.includes("<b>"));
  });
});

Deno.test("createStaticServer() with spa serves index.html for missing pages only", async () => {
  await withTree(async ({ spaRoot }) => {
    const h = createStaticServer({ root: spaRoot, spa: true });
    const page = await get(h, "/users/42");
    assert.deepEqual(page.status, 200);
    assert.deepEqual(await page.text(), "<html><body>spa shell</body></html>");

    const navigation = await get(h, "/users/42.details", { headers: { accept: "text/html,*/*" } });
    assert.deepEqual(navigation.status, 200);
    await navigation.body?.cancel();

    const script = await get(h, "/missing.js");
    assert.deepEqual(script.status, 404);
    assert.deepEqual(await script.text(), "<html><body>custom missing</body></html>");

    const real = await get(h, "/about.html");
    assert.deepEqual(await real.text(), "<p>about</p>");
  });
});

Deno.test("createStaticServer() applies transformHtml to every HTML body with a matching length", async () => {
  await withTree(async ({ root, spaRoot }) => {
    let marker = "v1";
    const seen: string[] = [];
    const transformHtml = (html: string, path: string) => {
      seen.push(path);
      return html.replace("</body>", `<script src="/__reload.js?${marker}"></script></body>`);
    };
    const h = createStaticServer({ root, transformHtml });
    const res = await get(h, "/");
    const body = await res.text();
    assertIncludes(body, '<script src="/__reload.js?v1"></script></body>');
    assert.deepEqual(
      res.headers.get("content-length"),
      String(new TextEncoder().encode(body).length),
    );
    assert.deepEqual(res.headers.get("last-modified"), null);
    const etag = res.headers.get("etag")!;
    assert.deepEqual(seen, ["/index.html"]);

    const same = await get(h, "/", { headers: { "if-none-match": etag } });
    assert.deepEqual(same.status, 304);
    marker = "v2";
    const changed = await get(h, "/", { headers: { "if-none-match": etag } });
    assert.deepEqual(changed.status, 200, "a new transform output must not be answered 304");
    assertIncludes(await changed.text(), "v2");

    const css = await get(h, "/style.css");
    assert.deepEqual(await css.text(), "body { color: red }");

    const spa = createStaticServer({ root: spaRoot, spa: true, transformHtml });
    const shell = await get(spa, "/deep/link");
    assertIncludes(await shell.text(), "spa shell<script");
    const missing = await get(spa, "/x.js");
    assert.deepEqual(missing.status, 404);
    const missingBody = await missing.text();
    assertIncludes(missingBody, "custom missing<script");
    assert.deepEqual(
      missing.headers.get("content-length"),
      String(new TextEncoder().encode(missingBody).length),
    );
  });
});

Deno.test("createStaticServer() refuses symlinks out of the root and follows those inside", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    for (const path of ["/escape", "/outdir/secret.txt", "/outdir/"]) {
      const res = await get(h, path);
      assert.deepEqual(res.status, 403, path);
      assertNoLeak(res.status, await res.text(), path);
    }
    const inside = await get(h, "/inlink");
    assert.deepEqual(await inside.text(), "0123456789abcdefghij");
    const folder = await get(h, "/indir/page.html");
    assert.deepEqual(await folder.text(), "<p>page</p>");
  });
});

Deno.test("createStaticServer() never serves the traversal corpus (handler called directly)", async () => {
  await withTree(async ({ root }) => {
    const corpus = await readCorpus();
    assert.ok(corpus.length >= 30);
    const h = createStaticServer({ root });
    for (const path of corpus) {
      const raw = await h(rawRequest(path));
      assertNoLeak(raw.status, await raw.text(), `raw ${path}`);
      let normalised: Request;
      try {
        normalised = new Request(`http://localhost${path}`);
      } catch {
        continue;
      }
      const res = await h(normalised);
      assertNoLeak(res.status, await res.text(), `URL-normalised ${path}`);
    }
  });
});

Deno.test("createStaticServer() never serves the traversal corpus over raw HTTP", async () => {
  await withTree(async ({ root }) => {
    const corpus = await readCorpus();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      createStaticServer({ root }),
    );
    try {
      const { port } = server.addr;
      const control = await rawHttp(
        port,
        "GET /sub/page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.deepEqual(control.status, 200, "the raw client must reach real files");
      assertIncludes(control.body, "<p>page</p>");

      for (const path of corpus) {
        const res = await rawHttp(
          port,
          `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assertNoLeak(res.status, res.body, `HTTP ${path}`);
      }
      const absolute = await rawHttp(
        port,
        `GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertNoLeak(absolute.status, absolute.body, "absolute-form target");

      const head = await rawHttp(
        port,
        "HEAD /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.deepEqual(head.status, 200);
      assert.match(head.head, /content-length: 20/i);
      assert.deepEqual(head.body, "");
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("createStaticServer() never serves the secret for generated paths", async () => {
  await withTree(async ({ root }) => {
    const h = createStaticServer({ root });
    const token = fc.constantFrom(
      "/",
      "..",
      ".",
      "%2e",
      "%2E",
      "%2f",
      "%5c",
      "\\",
      "%25",
      "%00",
      "secret.txt",
      "sub",
      "escape",
      "outdir",
      "root_sibling",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 10 }), async (tokens) => {
        const path = "/" + tokens.join("");
        const res = await h(rawRequest(path));
        const body = await res.text();
        assertNot(body.includes(SECRET), path);
        assertNot(body.includes(OUTSIDE_MARKER), path);
      }),
      { seed: 20240611, numRuns: 400 },
    );
  });
});

Deno.test("checkRequestPath() accepts plain paths and names each refusal", () => {
  const ok = checkRequestPath("/a%20b/c.txt");
  assert.ok(ok.ok);
  assert.deepEqual(ok.segments, ["a b", "c.txt"]);
  const refusals: [string, number][] = [
    ["/a/../b", 403],
    ["/%2e%2e/b", 403],
    ["/a%2fb", 403],
    ["/a%5cb", 403],
    ["/a\\b", 403],
    ["//a", 403],
    ["/%252e", 403],
    ["/a%00", 400],
    ["/%zz", 400],
    ["/%c0%ae", 400],
  ];
  for (const [path, status] of refusals) {
    const result = checkRequestPath(path);
    assertNot(result.ok, path);
    if (!result.ok) assert.deepEqual(result.status, status, path);
  }
});

Deno.test("createStaticServer() never serves or lists dotfiles, but serves .well-known", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/.env`, "SECRET=1");
    await Deno.mkdir(`${root}/.git`);
    await Deno.writeTextFile(`${root}/.git/config`, "[core]");
    await Deno.mkdir(`${root}/.well-known`);
    await Deno.writeTextFile(`${root}/.well-known/security.txt`, "Contact: x");
    await Deno.writeTextFile(`${root}/page.txt`, "hi");
    const serve = createStaticServer({ root });
    for (const path of ["/.env", "/.git/config", "/.git/"]) {
      const res = await serve(new Request(`http://localhost${path}`));
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /SECRET|core/);
    }
    const known = await serve(new Request("http://localhost/.well-known/security.txt"));
    assert.equal(known.status, 200);
    await known.body?.cancel();
    const listing = await (await serve(new Request("http://localhost/"))).text();
    assert.match(listing, /page\.txt/);
    assert.doesNotMatch(listing, /\.env|\.git/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
