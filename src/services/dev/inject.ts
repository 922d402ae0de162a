/**
 * Puts the live-reload script into an HTML page: {@linkcode injectClient}
 * finds where (before the real `</head>`, else `</body>`, else the end) and
 * {@linkcode devSnippet} writes the tag.
 *
 * The tag is one external module script carrying the stream position in
 * `data-` attributes (no inline script, so a page's CSP `script-src 'self'`
 * still allows it). A module script has no `document.currentScript`, so the
 * browser module finds the tag with the selector {@linkcode DEV_SCRIPT_SELECTOR}
 * and reads the position with {@linkcode readDevPosition}.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { StreamPosition } from "../../core/protocol.ts";

/** The attribute that marks the injected tag; the browser module selects on it. */
export const DEV_SCRIPT_ATTRIBUTE = "data-switchyard-dev";

/** CSS selector for the injected tag. */
export const DEV_SCRIPT_SELECTOR = `script[${DEV_SCRIPT_ATTRIBUTE}]`;

/** Options for {@linkcode devSnippet}. */
export interface DevSnippetOptions {
  /** Where the browser module is served, e.g. `/switchyard/dev.js`. */
  clientUrl: string;
  /**
   * The top of `sys:dev` when the page was served; the page replays anything
   * later. `null` when there is none: the page then only sees live changes.
   */
  position: StreamPosition | null;
}

/**
 * The `<script>` tag that loads the live-reload module and tells it the
 * position of `sys:dev` when the page was served.
 *
 * @example
 * ```ts
 * import { devSnippet } from "./inject.ts";
 * devSnippet({ clientUrl: "/switchyard/dev.js", position: { offset: 4, epoch: "ab" } });
 * // <script type="module" src="/switchyard/dev.js" data-switchyard-dev data-offset="4" data-epoch="ab"></script>
 * ```
 */
export function devSnippet(options: DevSnippetOptions): string {
  const { clientUrl, position } = options;
  let attrs = `type="module" src="${escapeAttribute(clientUrl)}" ${DEV_SCRIPT_ATTRIBUTE}`;
  if (position) {
    attrs += ` data-offset="${position.offset}" data-epoch="${escapeAttribute(position.epoch)}"`;
  }
  return `<script ${attrs}></script>`;
}

/**
 * The position a {@linkcode devSnippet} tag carries, from its attributes;
 * `null` when it has none or they are malformed.
 *
 * @example
 * ```ts
 * import { readDevPosition } from "./inject.ts";
 * const attrs: Record<string, string> = { "data-offset": "4", "data-epoch": "ab" };
 * readDevPosition({ getAttribute: (name) => attrs[name] ?? null }); // { offset: 4, epoch: "ab" }
 * ```
 */
export function readDevPosition(
  el: { getAttribute(name: string): string | null },
): StreamPosition | null {
  const offset = el.getAttribute("data-offset");
  const epoch = el.getAttribute("data-epoch");
  if (offset === null || epoch === null || !/^\d+$/.test(offset)) return null;
  return { offset: Number(offset), epoch };
}

/**
 * Insert `snippet` before the page's first `</head>` (any case), else before
 * its first `</body>`, else at the end. Text that only looks like those tags
 * is skipped: inside comments, `<![CDATA[…]]>`, `<!…>`/`<?…>` declarations,
 * attribute values, and the raw text of `<script>`, `<style>`, `<textarea>`,
 * `<title>` and the other raw-text elements.
 *
 * @example
 * ```ts
 * import { injectClient } from "./inject.ts";
 * injectClient("<html><head><!-- </head> --></head></html>", "<script></script>");
 * // "<html><head><!-- </head> --><script></script></head></html>"
 * ```
 */
export function injectClient(html: string, snippet: string): string {
  const at = insertionPoint(html);
  return html.slice(0, at) + snippet + html.slice(at);
}

const RAW_TEXT = new Set([
  "script",
  "style",
  "textarea",
  "title",
  "xmp",
  "iframe",
  "noembed",
  "noframes",
  "noscript",
]);

/** Index of the first real `</head>`, else the first real `</body>`, else the length. */
function insertionPoint(html: string): number {
  let body = -1;
  let i = 0;
  while (true) {
    const lt = html.indexOf("<", i);
    if (lt < 0) break;
    const next = html[lt + 1];
    if (html.startsWith("<!--", lt)) {
      // From lt + 2 so that `<!-->` and `<!--->` close at once, as browsers do.
      i = endAfter(html, "-->", lt + 2);
    } else if (html.startsWith("<![CDATA[", lt)) {
      i = endAfter(html, "]]>", lt + 9);
    } else if (next === "!" || next === "?") {
      i = endAfter(html, ">", lt + 2);
    } else if (next === "/" && isLetter(html[lt + 2])) {
      const name = tagName(html, lt + 2);
      if (name === "head") return lt;
      if (name === "body" && body < 0) body = lt;
      i = tagEnd(html, lt + 2 + name.length);
    } else if (next === "/") {
      i = endAfter(html, ">", lt + 2);
    } else if (isLetter(next)) {
      const name = tagName(html, lt + 1);
      i = tagEnd(html, lt + 1 + name.length);
      if (name === "plaintext") break;
      // Even `<script/>` opens raw text in HTML: the self-closing flag is ignored there.
      if (RAW_TEXT.has(name)) i = rawTextEnd(html, name, i);
    } else {
      i = lt + 1;
    }
  }
  return body >= 0 ? body : html.length;
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z]/.test(c);
}

function endAfter(html: string, marker: string, from: number): number {
  const at = html.indexOf(marker, from);
  return at < 0 ? html.length : at + marker.length;
}

function tagName(html: string, from: number): string {
  let end = from;
  while (end < html.length && !/[\s/>]/.test(html[end])) end++;
  return html.slice(from, end).toLowerCase();
}

/** Index just past the `>` closing a tag whose attributes start at `from`, honouring quotes. */
function tagEnd(html: string, from: number): number {
  let i = from;
  let quote = "";
  let afterEquals = false;
  for (; i < html.length; i++) {
    const c = html[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === ">") {
      return i + 1;
    } else if (afterEquals && (c === '"' || c === "'")) {
      quote = c;
      afterEquals = false;
    } else if (c === "=") {
      afterEquals = true;
    } else if (!/\s/.test(c)) {
      afterEquals = false;
    }
  }
  return html.length;
}

/** Index of the `</name` that ends a raw-text element (or the length). */
function rawTextEnd(html: string, name: string, from: number): number {
  // A regex rather than toLowerCase(), which can change the length of non-ASCII text.
  const end = new RegExp(`</${name}(?=[\\s/>]|$)`, "gi");
  end.lastIndex = from;
  return end.exec(html)?.index ?? html.length;
}

function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}
