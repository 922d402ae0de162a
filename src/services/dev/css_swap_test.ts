import assert from "node:assert/strict";
import { type StylesheetLink, swapStylesheets } from "./css_swap.ts";

/** A `<link>` in a {@linkcode FakeDocument}: attributes, listeners, and its place in the list. */
class FakeLink implements StylesheetLink<FakeLink> {
  readonly attrs: Map<string, string>;
  readonly listeners = new Map<string, (() => void)[]>();
  doc: FakeDocument | null = null;

  constructor(attrs: Record<string, string>) {
    this.attrs = new Map(Object.entries(attrs));
  }
  getAttribute(name: string): string | null {
    return this.attrs.get(name) ?? null;
  }
  setAttribute(name: string, value: string): void {
    this.attrs.set(name, value);
  }
  cloneNode(): FakeLink {
    return new FakeLink(Object.fromEntries(this.attrs));
  }
  addEventListener(type: string, listener: () => void): void {
    this.listeners.set(type, [...this.listeners.get(type) ?? [], listener]);
  }
  after(node: FakeLink): void {
    const doc = this.doc!;
    doc.links.splice(doc.links.indexOf(this) + 1, 0, node);
    node.doc = doc;
  }
  remove(): void {
    if (!this.doc) return;
    this.doc.links.splice(this.doc.links.indexOf(this), 1);
    this.doc = null;
  }
  fire(type: "load" | "error"): void {
    for (const listener of this.listeners.get(type) ?? []) listener();
  }
}

class FakeDocument {
  readonly links: FakeLink[];
  constructor(...links: Record<string, string>[]) {
    this.links = links.map((attrs) => new FakeLink(attrs));
    for (const link of this.links) link.doc = this;
  }
  querySelectorAll(selectors: string): FakeLink[] {
    assert.equal(selectors, "link");
    return [...this.links];
  }
  hrefs(): (string | null)[] {
    return this.links.map((l) => l.getAttribute("href"));
  }
}

const BASE = "http://localhost:4480/index.html";

/** Resolve `p`, or report that it is still pending after every queued task has run. */
async function settledNow<T>(p: Promise<T>): Promise<T | "pending"> {
  const pending = new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), 0));
  return await Promise.race([p, pending]);
}

Deno.test("swapStylesheets() adds the new sheet after the old and removes the old once loaded", async () => {
  const doc = new FakeDocument(
    { rel: "Stylesheet", href: "styles/main.css" },
    { rel: "stylesheet", href: "styles/other.css" },
  );
  const [main, other] = doc.links;
  const swapped = swapStylesheets(doc, ["styles/main.css"], BASE, { stamp: "42" });

  const fresh = "http://localhost:4480/styles/main.css?sy=42";
  assert.deepEqual(doc.hrefs(), ["styles/main.css", fresh, "styles/other.css"]);
  assert.equal(await settledNow(swapped), "pending", "the old sheet stays until the new one loads");

  doc.links[1].fire("load");
  assert.equal(await swapped, true);
  assert.deepEqual(doc.hrefs(), [fresh, "styles/other.css"]);
  assert.equal(main.doc, null);
  assert.equal(other.doc, doc);
  assert.equal(doc.links[0].getAttribute("rel"), "Stylesheet");
});

Deno.test("swapStylesheets() resolves hrefs against the base URL and ignores their query", async () => {
  const doc = new FakeDocument(
    { rel: "stylesheet", href: "../styles/main.css?v=3&sy=1" },
    { rel: "stylesheet", href: "/styles/main.css#x" },
    { rel: "stylesheet", href: "http://localhost:4480/styles/a%20b.css" },
    { rel: "stylesheet", href: "main.css" },
  );
  const swapped = swapStylesheets(
    doc,
    ["styles/main.css", "styles/a b.css"],
    "http://localhost:4480/pages/page.html",
    { stamp: "7" },
  );
  assert.deepEqual(doc.hrefs(), [
    "../styles/main.css?v=3&sy=1",
    "http://localhost:4480/styles/main.css?v=3&sy=7",
    "/styles/main.css#x",
    "http://localhost:4480/styles/main.css?sy=7#x",
    "http://localhost:4480/styles/a%20b.css",
    "http://localhost:4480/styles/a%20b.css?sy=7",
    "main.css",
  ]);
  for (const i of [1, 3, 5]) doc.links[i].fire("load");
  assert.equal(await swapped, true);
  assert.deepEqual(doc.hrefs(), [
    "http://localhost:4480/styles/main.css?v=3&sy=7",
    "http://localhost:4480/styles/main.css?sy=7#x",
    "http://localhost:4480/styles/a%20b.css?sy=7",
    "main.css",
  ]);
});

Deno.test("swapStylesheets() reloads every same-origin sheet when no link names the change", async () => {
  const doc = new FakeDocument(
    { rel: "stylesheet", href: "a.css" },
    { rel: "stylesheet", href: "https://cdn.example.com/lib.css" },
    { rel: "icon", href: "favicon.ico" },
    { rel: "stylesheet", href: "b.css?x=1" },
  );
  const swapped = swapStylesheets(doc, ["partials/_imported.css"], BASE, { stamp: "9" });
  assert.deepEqual(doc.hrefs(), [
    "a.css",
    "http://localhost:4480/a.css?sy=9",
    "https://cdn.example.com/lib.css",
    "favicon.ico",
    "b.css?x=1",
    "http://localhost:4480/b.css?x=1&sy=9",
  ]);
  doc.links[1].fire("load");
  doc.links[5].fire("load");
  assert.equal(await swapped, true);
  assert.deepEqual(doc.hrefs(), [
    "http://localhost:4480/a.css?sy=9",
    "https://cdn.example.com/lib.css",
    "favicon.ico",
    "http://localhost:4480/b.css?x=1&sy=9",
  ]);
});

Deno.test("swapStylesheets() returns false when no same-origin stylesheet is on the page", async () => {
  const doc = new FakeDocument(
    { rel: "stylesheet", href: "https://cdn.example.com/lib.css" },
    { rel: "preload", href: "styles/main.css" },
    { rel: "stylesheet" },
    { rel: "stylesheet", href: "http://[bad" },
  );
  const before = doc.hrefs();
  assert.equal(await swapStylesheets(doc, ["styles/main.css"], BASE), false);
  assert.deepEqual(doc.hrefs(), before);
  assert.equal(await swapStylesheets(new FakeDocument(), ["styles/main.css"], BASE), false);
});

Deno.test("swapStylesheets() removes the old sheet when the new one fails or times out", async () => {
  const doc = new FakeDocument(
    { rel: "stylesheet", href: "a.css" },
    { rel: "stylesheet", href: "b.css" },
  );
  const swapped = swapStylesheets(doc, ["a.css", "b.css"], BASE, { stamp: "1", timeoutMs: 20 });
  doc.links[1].fire("error");
  assert.equal(await settledNow(swapped), "pending");
  assert.equal(await swapped, true, "b.css never loads: the timeout ends the wait");
  assert.deepEqual(doc.hrefs(), [
    "http://localhost:4480/a.css?sy=1",
    "http://localhost:4480/b.css?sy=1",
  ]);
});

Deno.test("swapStylesheets() during a swap replaces the loading sheet, not the old one again", async () => {
  const doc = new FakeDocument({ rel: "stylesheet", href: "a.css" });
  const first = swapStylesheets(doc, ["a.css"], BASE, { stamp: "1" });
  const second = swapStylesheets(doc, ["a.css"], BASE, { stamp: "2" });
  assert.deepEqual(doc.hrefs(), [
    "a.css",
    "http://localhost:4480/a.css?sy=1",
    "http://localhost:4480/a.css?sy=2",
  ]);
  doc.links[1].fire("load");
  assert.equal(await first, true);
  doc.links[1].fire("load");
  assert.equal(await second, true);
  assert.deepEqual(doc.hrefs(), ["http://localhost:4480/a.css?sy=2"]);
});
