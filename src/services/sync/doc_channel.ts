/**
 * The channel of a document: `sync:<doc>` carries its updates and
 * `awareness:<doc>` its awareness. Document names may hold what channel names
 * may not (spaces, `#`, which limits a channel to users), so those characters
 * and `%` itself are percent-encoded: the mapping is one to one, and the
 * guard decodes it back.
 *
 * This module is browser compatible (the client provider uses it).
 *
 * @module
 */

/** Longest channel name the hub accepts (`MAX_CHANNEL_LENGTH` of the protocol). */
const MAX_CHANNEL = 255;

/** The channel for `doc` under `prefix` (`"sync:"` or `"awareness:"`), or `null` if too long. */
export function docChannel(prefix: string, doc: string): string | null {
  // deno-lint-ignore no-control-regex
  const encoded = doc.replace(/[%#\s\u0000-\u001f\u007f]/g, (c) => {
    const hex = c.codePointAt(0)!.toString(16).toUpperCase();
    return hex.length <= 2 ? `%${hex.padStart(2, "0")}` : encodeURIComponent(c);
  });
  const channel = prefix + encoded;
  return channel.length <= MAX_CHANNEL ? channel : null;
}

/** The document of a channel made by {@linkcode docChannel}; `null` if it is not one. */
export function channelDoc(prefix: string, channel: string): string | null {
  if (!channel.startsWith(prefix)) return null;
  try {
    return decodeURIComponent(channel.slice(prefix.length));
  } catch {
    return null;
  }
}
