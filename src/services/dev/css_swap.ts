/**
 * Hot-swaps changed stylesheets without a flash of unstyled content: each
 * `<link rel="stylesheet">` is cloned with a cache-busting query, and the old
 * link is removed only once the clone has loaded.
 *
 * Written against the small {@linkcode StylesheetDocument} interface, which
 * the browser's `document` satisfies, so that tests can pass a fake DOM.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * The parts of a `<link>` element that {@linkcode swapStylesheets} uses.
 * `Self` is the element type itself (`Element` in a browser).
 */
export interface StylesheetLink<Self> {
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  /** A copy of the element; the copy must be a `Self` too. */
  cloneNode(deep?: boolean): unknown;
  addEventListener(type: "load" | "error", listener: () => void): void;
  /** Insert `node` right after this element. */
  after(node: Self): void;
  remove(): void;
}

/** The part of a `Document` that {@linkcode swapStylesheets} uses. */
export interface StylesheetDocument<L extends StylesheetLink<L>> {
  /** Called with `"link"` only. */
  querySelectorAll(selectors: string): ArrayLike<L>;
}

/** Options for {@linkcode swapStylesheets}. */
export interface SwapOptions {
  /** How long to wait for a new sheet before removing the old one anyway (default 5000 ms). */
  timeoutMs?: number;
  /** The cache-busting value for `?sy=` (default `Date.now()`). */
  stamp?: string;
}

/** Links whose replacement is loading: a second swap leaves them alone and swaps the clone. */
const replacing = new WeakSet<object>();

/**
 * Replace the stylesheets that `changedPaths` (relative to the site root, e.g.
 * `styles/main.css`) affect, and resolve once every new sheet has loaded (or
 * failed, or timed out) and the old ones are gone.
 *
 * A link is affected when its `href`, resolved against `baseUrl` and without
 * query or fragment, is the changed path. When no link is — the file may be
 * reached only through `@import` — every same-origin stylesheet link is
 * reloaded: coarse, but it needs no parsing of CSS.
 *
 * Resolves `true` if at least one link was swapped; `false` means nothing on
 * the page could pick up the change, and the caller should reload the page.
 *
 * @example
 * ```ts ignore
 * import { swapStylesheets } from "./css_swap.ts";
 * if (!await swapStylesheets(document, ["styles/main.css"], location.href)) location.reload();
 * ```
 */
export async function swapStylesheets<L extends StylesheetLink<L>>(
  doc: StylesheetDocument<L>,
  changedPaths: string[],
  baseUrl: string,
  options: SwapOptions = {},
): Promise<boolean> {
  const origin = new URL(baseUrl).origin;
  const changed = new Set(changedPaths.map((path) => sitePath(path, baseUrl)));
  const sameOrigin: { link: L; url: URL }[] = [];
  for (const link of Array.from(doc.querySelectorAll("link"))) {
    if (replacing.has(link) || !isStylesheet(link)) continue;
    const url = resolve(link.getAttribute("href"), baseUrl);
    if (url?.origin === origin) sameOrigin.push({ link, url });
  }
  const direct = sameOrigin.filter(({ url }) => changed.has(url.pathname));
  const targets = direct.length > 0 ? direct : sameOrigin;
  if (targets.length === 0) return false;
  const stamp = options.stamp ?? String(Date.now());
  await Promise.all(
    targets.map(({ link, url }) => replace(link, url, stamp, options.timeoutMs ?? 5000)),
  );
  return true;
}

async function replace<L extends StylesheetLink<L>>(
  link: L,
  url: URL,
  stamp: string,
  timeoutMs: number,
): Promise<void> {
  url.searchParams.set("sy", stamp);
  // cloneNode() of a link is a link of the same type; the DOM's typing just says Node.
  const clone = link.cloneNode(false) as L;
  clone.setAttribute("href", url.href);
  replacing.add(link);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = new Promise<void>((resolve) => {
    clone.addEventListener("load", () => resolve());
    clone.addEventListener("error", () => resolve());
    timer = setTimeout(resolve, timeoutMs);
  });
  link.after(clone);
  try {
    await settled;
  } finally {
    clearTimeout(timer);
    link.remove();
    replacing.delete(link);
  }
}

function isStylesheet(link: StylesheetLink<unknown>): boolean {
  const rel = link.getAttribute("rel") ?? "";
  return rel.toLowerCase().split(/\s+/).includes("stylesheet");
}

function resolve(href: string | null, baseUrl: string): URL | null {
  if (href === null || href.trim() === "") return null;
  try {
    return new URL(href, baseUrl);
  } catch {
    return null;
  }
}

/** The URL pathname a site-relative path is served at, encoded the way a parsed href is. */
function sitePath(path: string, baseUrl: string): string {
  const url = new URL(baseUrl);
  url.pathname = "/" + path.replace(/^\/+/, "");
  return url.pathname;
}
