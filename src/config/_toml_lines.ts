/**
 * Finds the line of each key in a TOML document, so that errors can say
 * `switchyard.toml:12`. The parser (smol-toml) returns values without
 * positions; this scanner reads table headers and `key =` lines, skipping
 * multi-line strings and arrays. It is only used for messages: a key it
 * cannot place gets the line of its nearest placed parent. Private to
 * `src/config/`.
 *
 * @module
 */

/** Maps dotted paths (`limits.max_message_bytes`, `namespaces.chat`) to 1-based line numbers. */
export function tomlKeyLines(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table: string[] = [];
  const state: ValueState = { depth: 0, open: undefined };
  source.split(/\r?\n/).forEach((text, index) => {
    const line = index + 1;
    if (state.depth > 0 || state.open) {
      scanValue(text, 0, state);
      return;
    }
    const header = /^\s*\[\[?([^\]]+)\]\]?\s*(#.*)?$/.exec(text);
    if (header) {
      const segments = parseKey(header[1]);
      if (segments) {
        table = segments;
        remember(lines, table, line);
      }
      return;
    }
    const assignment = parseAssignment(text);
    if (!assignment) return;
    remember(lines, [...table, ...assignment.key], line);
    scanValue(text, assignment.valueStart, state);
  });
  return lines;
}

/** The line of `path`, or of its closest ancestor that has one. */
export function lineOf(lines: Map<string, number>, path: readonly string[]): number | undefined {
  for (let end = path.length; end > 0; end--) {
    const line = lines.get(path.slice(0, end).join("."));
    if (line !== undefined) return line;
  }
  return undefined;
}

interface ValueState {
  /** Open `[` and `{` of a value spanning lines. */
  depth: number;
  /** Delimiter of an open multi-line string. */
  open: '"""' | "'''" | undefined;
}

function remember(lines: Map<string, number>, path: readonly string[], line: number): void {
  const key = path.join(".");
  if (!lines.has(key)) lines.set(key, line);
}

function parseAssignment(text: string): { key: string[]; valueStart: number } | undefined {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === "\\" && quote === '"') i++;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "=") {
      const key = parseKey(text.slice(0, i));
      return key ? { key, valueStart: i + 1 } : undefined;
    } else if (char === "#") {
      return undefined;
    }
  }
  return undefined;
}

/** Splits `a."b.c".d` into `["a", "b.c", "d"]`; `undefined` when it is not a key. */
function parseKey(text: string): string[] | undefined {
  const segments: string[] = [];
  const segment = /\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  while (segment.lastIndex < text.length && (match = segment.exec(text))) {
    segments.push(match[1] ?? unescape(match[2]) ?? match[3]);
    if (match[4] === "") break;
  }
  return segments.length > 0 && segment.lastIndex === text.length ? segments : undefined;
}

function unescape(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(`"${text}"`);
  } catch {
    return text;
  }
}

function scanValue(text: string, start: number, state: ValueState): void {
  for (let i = start; i < text.length; i++) {
    if (state.open) {
      const close = text.indexOf(state.open, i);
      if (close === -1) return;
      state.open = undefined;
      i = close + 2;
      continue;
    }
    const char = text[i];
    const triple = text.slice(i, i + 3);
    if (triple === '"""' || triple === "'''") {
      state.open = triple;
      i += 2;
    } else if (char === '"' || char === "'") {
      i = skipString(text, i, char);
    } else if (char === "#") {
      return;
    } else if (char === "[" || char === "{") {
      state.depth++;
    } else if (char === "]" || char === "}") {
      state.depth = Math.max(0, state.depth - 1);
    }
  }
}

function skipString(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\" && quote === '"') i++;
    else if (text[i] === quote) return i;
  }
  return text.length;
}
