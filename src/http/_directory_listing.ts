/**
 * The HTML page the dev server shows for a directory without `index.html`.
 * This module is browser compatible.
 *
 * @module
 */

/** One entry of a listed directory. `size` is absent for directories and unreadable links. */
export interface ListingEntry {
  name: string;
  isDirectory: boolean;
  size?: number;
  modified?: Date;
}

/** Escapes text for use in HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `1536` → `"1.5 KiB"`. */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Renders a listing of `urlPath` (the decoded request path, ending in `/`):
 * folders first, then files, each group by name; a link to the parent unless at `/`.
 * Every name is escaped for HTML and percent-encoded in its link.
 *
 * @example
 * ```ts
 * import { renderDirectoryListing } from "./_directory_listing.ts";
 * const html = renderDirectoryListing("/docs/", [{ name: "a.txt", isDirectory: false, size: 3 }]);
 * ```
 */
export function renderDirectoryListing(urlPath: string, entries: readonly ListingEntry[]): string {
  const sorted = [...entries].sort((a, b) =>
    a.isDirectory !== b.isDirectory
      ? (a.isDirectory ? -1 : 1)
      : a.name.localeCompare(b.name, "en", { numeric: true })
  );
  const rows = sorted.map((e) => {
    const href = encodeURIComponent(e.name) + (e.isDirectory ? "/" : "");
    const label = escapeHtml(e.name) + (e.isDirectory ? "/" : "");
    const size = e.isDirectory || e.size === undefined ? "" : formatSize(e.size);
    const modified = e.modified ? e.modified.toISOString().replace("T", " ").slice(0, 19) : "";
    return `<tr><td><a href="${escapeHtml(href)}">${label}</a></td>` +
      `<td class="size">${size}</td><td>${modified}</td></tr>`;
  });
  if (urlPath !== "/") {
    rows.unshift(`<tr><td><a href="../">../</a></td><td class="size"></td><td></td></tr>`);
  }
  const title = `Index of ${escapeHtml(urlPath)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
td { padding: 0.15rem 1.5rem 0.15rem 0; }
td.size { text-align: right; font-variant-numeric: tabular-nums; }
a { text-decoration: none; }
a:hover { text-decoration: underline; }
</style>
</head>
<body>
<h1>${title}</h1>
<table>
${rows.join("\n")}
</table>
${sorted.length === 0 ? "<p>This folder is empty.</p>\n" : ""}</body>
</html>
`;
}
