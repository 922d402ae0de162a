import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { x509 } from "./_x509.ts";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CertificateAuthority,
  CertificateError,
  MAX_LEAF_VALIDITY_MS,
} from "./mod.ts";
import { withTempDir } from "./_testing.ts";

const DAY_MS = 86_400_000;

/** Asserts that `fn` rejects with a CertificateError of `code` whose message contains `parts`. */
async function assertCertificateError(
  fn: () => Promise<unknown>,
  code: string,
  ...parts: string[]
): Promise<CertificateError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CertificateError, `expected a CertificateError, got ${caught}`);
  assert.equal(caught.code, code);
  for (const part of parts) assert.ok(caught.message.includes(part), caught.message);
  assert.match(caught.message, /^[A-Z]/, "sentence case");
  assert.doesNotMatch(caught.message, /\.$/, "no final period");
  return caught;
}

Deno.test("CertificateAuthority.issue() makes a P-256 leaf that the CA signed, CA:FALSE, with SANs", async () => {
  const now = Date.UTC(2030, 0, 15, 12);
  const ca = await CertificateAuthority.generate({ now });
  const leaf = await ca.issue({
    hostnames: ["Dev.Example.TEST", "192.0.2.7", "[2001:db8::1]"],
    now,
  });

  // node:crypto parses independently of the library that wrote the certificate.
  const cert = new X509Certificate(leaf.certPem);
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, false);
  assert.equal(caCert.ca, true);
  assert.ok(cert.checkIssued(caCert));
  assert.ok(cert.verify(caCert.publicKey), "signature verifies with the CA key");
  const stranger = new X509Certificate((await CertificateAuthority.generate()).certPem);
  assert.equal(cert.verify(stranger.publicKey), false, "another CA's key does not verify it");
  assert.equal(cert.publicKey.asymmetricKeyType, "ec");
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.equal(
    cert.subjectAltName,
    "DNS:localhost, IP Address:127.0.0.1, IP Address:::1, DNS:dev.example.test, " +
      "IP Address:192.0.2.7, IP Address:2001:db8::1",
  );
  assert.deepEqual(leaf.hostnames, [
    "localhost",
    "127.0.0.1",
    "::1",
    "dev.example.test",
    "192.0.2.7",
    "2001:db8::1",
  ]);

  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  assert.equal(notBefore, now - 3_600_000, "backdated one hour");
  assert.equal(notAfter - notBefore, 10 * DAY_MS);
  assert.ok(notAfter - notBefore < 14 * DAY_MS);
  assert.equal(leaf.notBefore.getTime(), notBefore);
  assert.equal(leaf.notAfter.getTime(), notAfter);

  const parsed = new x509.X509Certificate(leaf.certPem);
  const basic = parsed.getExtension(x509.BasicConstraintsExtension);
  assert.equal(basic?.ca, false);
  assert.equal(basic?.critical, true);
  assert.equal(
    parsed.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.digitalSignature,
  );
  assert.deepEqual([...(parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [
    x509.ExtendedKeyUsage.serverAuth,
  ]);
  assert.equal(parsed.signatureAlgorithm.name, "ECDSA");
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);

  const der = createHash("sha256").update(cert.raw).digest();
  assert.deepEqual(leaf.hash.value, new Uint8Array(der));
  assert.equal(leaf.hash.base64, der.toString("base64"));
  assert.equal(leaf.hash.algorithm, "sha-256");
});

Deno.test("CertificateAuthority.generate() makes a ten-year P-256 CA with keyCertSign", async () => {
  const now = Date.UTC(2030, 0, 15);
  const ca = await CertificateAuthority.generate({ now });
  const parsed = new x509.X509Certificate(ca.certPem);
  assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, true);
  const usages = parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  assert.ok(usages & x509.KeyUsageFlags.keyCertSign);
  const years = (parsed.notAfter.getTime() - parsed.notBefore.getTime()) / (365.25 * DAY_MS);
  assert.ok(years > 9.9 && years < 10.1, `${years} years`);
  assert.ok(await parsed.isSelfSigned());
});

Deno.test("CertificateAuthority.open() creates the CA once and reuses it", async () => {
  await withTempDir(async (tmp) => {
    const dir = join(tmp, "nested", "certs");
    const first = await CertificateAuthority.open(dir);
    const keyInfo = await Deno.stat(join(dir, CA_KEY_FILE));
    assert.equal(keyInfo.mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal(await Deno.readTextFile(join(dir, CA_CERT_FILE)), first.certPem);

    const second = await CertificateAuthority.open(dir);
    assert.equal(second.certPem, first.certPem);
    const leaf = await second.issue();
    assert.ok(await first.verify(leaf), "a leaf from the reopened CA verifies with the first");
  });
});

Deno.test("CertificateAuthority.verify() checks issuer, signature and hostnames", async () => {
  const ca = await CertificateAuthority.generate();
  const other = await CertificateAuthority.generate();
  const leaf = await ca.issue({ hostnames: ["a.test"] });
  assert.equal(await ca.verify(leaf), true);
  assert.equal(await ca.verify(leaf, ["A.TEST"]), true);
  assert.equal(await ca.verify(leaf, ["b.test"]), false);
  assert.equal(await other.verify(leaf), false);
});

Deno.test("CertificateAuthority.open() names the file and the fix for a corrupt CA key", async () => {
  await withTempDir(async (dir) => {
    await CertificateAuthority.open(dir);
    const keyPath = join(dir, CA_KEY_FILE);
    await Deno.writeTextFile(keyPath, "-----BEGIN PRIVATE KEY-----\nnot base64!\n");
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CA_UNREADABLE",
      `Cannot read CA key in ${keyPath}`,
      `delete the cert directory ${dir} to create a new CA`,
    );
  });
});

Deno.test("CertificateAuthority.open() refuses a corrupt, missing or mismatched CA file", async () => {
  await withTempDir(async (dir) => {
    await CertificateAuthority.open(dir);
    const certPath = join(dir, CA_CERT_FILE);
    const keyPath = join(dir, CA_KEY_FILE);
    const goodCert = await Deno.readTextFile(certPath);

    await Deno.writeTextFile(certPath, "garbage");
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CA_UNREADABLE",
      `Cannot read CA certificate in ${certPath}`,
    );

    await Deno.writeTextFile(certPath, (await CertificateAuthority.generate()).certPem);
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CA_UNREADABLE",
      keyPath,
      `does not match ${certPath}`,
    );

    const leaf = await (await CertificateAuthority.generate()).issue();
    await Deno.writeTextFile(certPath, leaf.certPem);
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CA_UNREADABLE",
      "not a CA certificate",
    );

    await Deno.writeTextFile(certPath, goodCert);
    await Deno.remove(keyPath);
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CA_UNREADABLE",
      keyPath,
      "file missing",
    );
  });
});

Deno.test("CertificateAuthority.open() refuses an expired CA", async () => {
  await withTempDir(async (dir) => {
    await CertificateAuthority.open(dir, { now: Date.UTC(2000, 0, 1) });
    await assertCertificateError(
      () => CertificateAuthority.open(dir, { now: Date.UTC(2020, 0, 1) }),
      "ERR_CA_EXPIRED",
      join(dir, CA_CERT_FILE),
      "delete the cert directory",
    );
  });
});

Deno.test("CertificateAuthority.open() names the path when the cert directory cannot be created", async () => {
  await withTempDir(async (tmp) => {
    const file = join(tmp, "a-file");
    await Deno.writeTextFile(file, "");
    const dir = join(file, "certs");
    await assertCertificateError(
      () => CertificateAuthority.open(dir),
      "ERR_CERT_DIR",
      `Cannot create cert directory ${dir}`,
      "choose a directory this user can write",
    );
    await assertCertificateError(() => CertificateAuthority.open(file), "ERR_CERT_DIR", file);
  });
});

Deno.test("CertificateAuthority.issue() refuses a validity of 14 days or more and bad hostnames", async () => {
  const ca = await CertificateAuthority.generate();
  await assertCertificateError(
    () => ca.issue({ validityMs: MAX_LEAF_VALIDITY_MS + 1 }),
    "ERR_BAD_OPTION",
    "less than 14 days",
  );
  const leaf = await ca.issue({ validityMs: MAX_LEAF_VALIDITY_MS });
  assert.ok(leaf.notAfter.getTime() - leaf.notBefore.getTime() < 14 * DAY_MS);
  for (const bad of ["", "a b", "x/y", "user@host", "1.2.3.4:80", "[::1"]) {
    await assertCertificateError(
      () => ca.issue({ hostnames: [bad] }),
      "ERR_BAD_HOSTNAME",
      `"${bad}"`,
    );
  }
});
