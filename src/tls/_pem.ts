/**
 * Private to src/tls: PEM text to DER bytes and back, without an X.509 library, so that a warm
 * start can hash the persisted certificates without loading one. Base64 is the built-in
 * `Uint8Array.fromBase64` / `toBase64`; nothing here parses the DER.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * The bytes of the first `label` block (`"CERTIFICATE"`, `"PRIVATE KEY"`) in `pem`. Throws when
 * there is none or its body is not base64. Text around the block, such as the comments
 * `openssl x509 -text` writes, is ignored.
 */
export function pemDecode(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const start = pem.indexOf(begin);
  const stop = start === -1 ? -1 : pem.indexOf(end, start + begin.length);
  if (stop === -1) throw new Error(`no ${label} block`);
  const body = pem.slice(start + begin.length, stop).replace(/\s+/g, "");
  if (body === "") throw new Error(`empty ${label} block`);
  return Uint8Array.fromBase64(body);
}

/**
 * `der` as a PEM block: base64 in lines of 64 characters, no final newline. The exact text
 * `@peculiar/x509` writes, so a certificate read back from disk is the string it was issued as.
 */
export function pemEncode(der: Uint8Array | ArrayBuffer, label: string): string {
  const base64 = (der instanceof Uint8Array ? der : new Uint8Array(der)).toBase64();
  const lines = base64.match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join("\n");
}
