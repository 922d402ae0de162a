import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatLeafRecord,
  hashCertificate,
  isRecordedCa,
  leafRecordOf,
  parseLeafRecord,
  recordedLeaf,
} from "./_leaf_record.ts";
import { certificateFacts } from "./_x509.ts";
import { CA_KEY_FILE, CertificateAuthority } from "./mod.ts";
import { withTempDir } from "./_testing.ts";

const NOW = Date.UTC(2030, 0, 15, 12);

/** A CA with its key PEM, a leaf it issued and the record of both, and another CA. */
function issued() {
  return withTempDir(async (dir) => {
    const ca = await CertificateAuthority.open(dir, { now: NOW });
    const caKeyPem = await Deno.readTextFile(join(dir, CA_KEY_FILE)); // the class keeps it private
    const leaf = await ca.issue({ hostnames: ["box.test"], now: NOW });
    const record = await leafRecordOf(leaf, await certificateFacts(ca.certPem));
    const other = await CertificateAuthority.generate({ now: NOW });
    return { ca, caKeyPem, leaf, record, other };
  });
}

Deno.test("recordedLeaf() rebuilds exactly the leaf the CA issued", async () => {
  const { ca, leaf, record } = await issued();
  const caSha256 = (await hashCertificate(ca.certPem)).sha256;
  assert.equal(record.ca.sha256, caSha256);
  const { hostnames, ...facts } = record.leaf;
  assert.deepEqual(facts, await certificateFacts(leaf.certPem), "as the X.509 parser reads them");
  assert.deepEqual(hostnames, ["localhost", "127.0.0.1", "::1", "box.test"]);
  assert.deepEqual(await recordedLeaf(record, leaf, caSha256), leaf);
  const parsed = parseLeafRecord(formatLeafRecord(record));
  assert.deepEqual(parsed, record, "leaf.json round-trips");
  assert.deepEqual(await recordedLeaf(parsed!, leaf, caSha256), leaf);
});

Deno.test("recordedLeaf() refuses another CA, certificate or key", async () => {
  const { ca, other, leaf, record } = await issued();
  const caSha256 = (await hashCertificate(ca.certPem)).sha256;
  const stranger = await other.issue({ now: NOW });
  assert.equal(
    await recordedLeaf(record, leaf, (await hashCertificate(other.certPem)).sha256),
    undefined,
  );
  assert.equal(
    await recordedLeaf(record, { ...leaf, certPem: stranger.certPem }, caSha256),
    undefined,
  );
  assert.equal(
    await recordedLeaf(record, { ...leaf, keyPem: stranger.keyPem }, caSha256),
    undefined,
  );
  await assert.rejects(() => recordedLeaf(record, { ...leaf, keyPem: "corrupt" }, caSha256));
});

Deno.test("isRecordedCa() wants the same CA certificate, its key, and a time inside its validity", async () => {
  const { ca, caKeyPem, other, leaf, record } = await issued();
  const cert = await hashCertificate(ca.certPem);
  assert.equal(await isRecordedCa(record, { cert, keyPem: caKeyPem }, NOW), true);
  assert.equal(await isRecordedCa(record, { cert, keyPem: leaf.keyPem }, NOW), false);
  const otherCert = await hashCertificate(other.certPem);
  assert.equal(await isRecordedCa(record, { cert: otherCert, keyPem: caKeyPem }, NOW), false);
  assert.equal(await isRecordedCa(record, { cert, keyPem: caKeyPem }, record.ca.notAfter), false);
  assert.equal(
    await isRecordedCa(record, { cert, keyPem: caKeyPem }, record.ca.notBefore - 1),
    false,
  );
  await assert.rejects(() => isRecordedCa(record, { cert, keyPem: "corrupt" }, NOW));
});

Deno.test("parseLeafRecord() refuses text that is not a leaf.json of this version", async () => {
  const { record } = await issued();
  const json = JSON.parse(formatLeafRecord(record));
  const bad = [
    "",
    "[]",
    "null",
    JSON.stringify({ ...json, version: 2 }),
    JSON.stringify({ ...json, leaf: undefined }),
    JSON.stringify({ ...json, ca: { ...json.ca, sha256: 7 } }),
    JSON.stringify({ ...json, ca: { ...json.ca, notAfter: "never" } }),
    JSON.stringify({ ...json, ca: { ...json.ca, publicKey: { x: "a" } } }),
    JSON.stringify({ ...json, leaf: { ...json.leaf, hostnames: "localhost" } }),
    JSON.stringify({ ...json, leaf: { ...json.leaf, hostnames: [1] } }),
  ];
  for (const text of bad) assert.equal(parseLeafRecord(text), undefined, text);
});
