import assert from "node:assert/strict";
import { pemDecode, pemEncode } from "./_pem.ts";
import { x509 } from "./_x509.ts";
import { CertificateAuthority } from "./mod.ts";

Deno.test("pemDecode() returns the bytes of the first block with the label", () => {
  assert.deepEqual(
    pemDecode("-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----", "CERTIFICATE"),
    new Uint8Array([0, 1, 2]),
  );
  const text =
    "subject=CN=x\r\n-----BEGIN PRIVATE KEY-----\r\nAAEC\r\n-----END PRIVATE KEY-----\r\n" +
    "-----BEGIN CERTIFICATE-----\r\nAw\r\nQ=\r\n-----END CERTIFICATE-----\r\n" +
    "-----BEGIN CERTIFICATE-----\nBQ==\n-----END CERTIFICATE-----\n";
  assert.deepEqual(pemDecode(text, "CERTIFICATE"), new Uint8Array([3, 4]));
  assert.deepEqual(pemDecode(text, "PRIVATE KEY"), new Uint8Array([0, 1, 2]));
});

Deno.test("pemDecode() throws without a complete, non-empty base64 block", () => {
  const bad = [
    "AAEC",
    "-----BEGIN CERTIFICATE-----\nAAEC\n",
    "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----",
    "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
    "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
    "-----END CERTIFICATE-----\nAAEC\n-----BEGIN CERTIFICATE-----",
  ];
  for (const text of bad) assert.throws(() => pemDecode(text, "CERTIFICATE"), Error, text);
});

Deno.test("pemEncode() writes the text @peculiar/x509 writes, at every line boundary", async () => {
  for (let length = 0; length <= 150; length++) {
    const der = crypto.getRandomValues(new Uint8Array(length));
    const pem = pemEncode(der, "CERTIFICATE");
    assert.equal(pem, x509.PemConverter.encode(der.buffer, "CERTIFICATE"), `${length} bytes`);
    if (length > 0) assert.deepEqual(pemDecode(pem, "CERTIFICATE"), der);
  }
  const ca = await CertificateAuthority.generate();
  const leaf = await ca.issue();
  for (const certPem of [ca.certPem, leaf.certPem]) {
    assert.equal(pemEncode(pemDecode(certPem, "CERTIFICATE"), "CERTIFICATE"), certPem);
  }
});
