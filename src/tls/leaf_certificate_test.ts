import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import {
  CertificateAuthority,
  CertificateError,
  certificateHash,
  type LeafCertificate,
  subjectAltName,
} from "./mod.ts";
import { deadline } from "./_testing.ts";

const TIMEOUT_MS = 10_000;

function ipv6LoopbackWorks(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

/** Serves `leaf` over HTTPS on `hostname`, fetches it trusting only `caPem`, and stops. */
async function fetchOverTls(
  leaf: LeafCertificate,
  hostname: string,
  caCerts: string[],
): Promise<string> {
  const server = Deno.serve(
    { port: 0, hostname, cert: leaf.certPem, key: leaf.keyPem, onListen() {} },
    () => new Response("hello over tls"),
  );
  const client = Deno.createHttpClient({ caCerts });
  try {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    const response = await deadline(
      fetch(`https://${host}:${server.addr.port}/`, { client }),
      TIMEOUT_MS,
      "HTTPS fetch",
    );
    return await response.text();
  } finally {
    client.close();
    await server.shutdown();
  }
}

Deno.test("subjectAltName() classifies and normalises names and addresses", () => {
  assert.deepEqual(subjectAltName("LocalHost"), { type: "dns", value: "localhost" });
  assert.deepEqual(subjectAltName("127.0.0.1"), { type: "ip", value: "127.0.0.1" });
  assert.deepEqual(subjectAltName("::1"), { type: "ip", value: "::1" });
  assert.deepEqual(subjectAltName("[0:0::1]"), { type: "ip", value: "::1" });
  assert.deepEqual(subjectAltName("bücher.test"), { type: "dns", value: "xn--bcher-kva.test" });
  assert.throws(() => subjectAltName("a/b"), CertificateError);
});

Deno.test("certificateHash() is the SHA-256 of the certificate's DER", async () => {
  const leaf = await (await CertificateAuthority.generate()).issue();
  const expected = createHash("sha256").update(new X509Certificate(leaf.certPem).raw).digest();
  const hash = await certificateHash(leaf.certPem);
  assert.equal(hash.algorithm, "sha-256");
  assert.equal(hash.value.length, 32);
  assert.deepEqual(hash.value, new Uint8Array(expected));
  assert.equal(hash.base64, expected.toString("base64"));
  assert.deepEqual(hash, leaf.hash);
});

Deno.test("LeafCertificate serves Deno.serve TLS that a client trusting only the CA accepts", async () => {
  const ca = await CertificateAuthority.generate();
  const leaf = await ca.issue();
  assert.equal(await fetchOverTls(leaf, "127.0.0.1", [ca.certPem]), "hello over tls");

  const stranger = await CertificateAuthority.generate();
  await assert.rejects(
    () => fetchOverTls(leaf, "127.0.0.1", [stranger.certPem]),
    (error: Error) => {
      assert.match(String(error.cause), /invalid peer certificate: UnknownIssuer/);
      return true;
    },
    "a client trusting another CA refuses the leaf",
  );
});

Deno.test({
  name: "LeafCertificate covers ::1 for Deno.serve TLS",
  ignore: !ipv6LoopbackWorks(),
  async fn() {
    const ca = await CertificateAuthority.generate();
    assert.equal(await fetchOverTls(await ca.issue(), "::1", [ca.certPem]), "hello over tls");
  },
});

Deno.test("LeafCertificate serves Deno.QuicEndpoint to a WebTransport client pinning its hash", async () => {
  const ca = await CertificateAuthority.generate();
  const leaf = await ca.issue();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({ cert: leaf.certPem, key: leaf.keyPem, alpnProtocols: ["h3"] });
  const url = `https://127.0.0.1:${endpoint.addr.port}/tls-test?token=t`;
  const sessions: WebTransport[] = [];
  try {
    const serverSide = (async () => {
      const conn = await listener.accept();
      const wt = await Deno.upgradeWebTransport(conn);
      sessions.push(wt);
      assert.equal(wt.url, url);
      const stream = await wt.incomingBidirectionalStreams.getReader().read();
      assert.ok(stream.value);
      const request = await stream.value.readable.getReader().read();
      assert.equal(new TextDecoder().decode(request.value), "ping");
      const writer = stream.value.writable.getWriter();
      await writer.write(new TextEncoder().encode("pong"));
    })();

    const client = new WebTransport(url, { serverCertificateHashes: [leaf.hash] });
    sessions.push(client);
    await deadline(client.ready, TIMEOUT_MS, "WebTransport ready");
    const stream = await client.createBidirectionalStream();
    await stream.writable.getWriter().write(new TextEncoder().encode("ping"));
    const reply = await deadline(stream.readable.getReader().read(), TIMEOUT_MS, "reply");
    assert.equal(new TextDecoder().decode(reply.value), "pong");
    await deadline(serverSide, TIMEOUT_MS, "server side");

    const stranger = await (await CertificateAuthority.generate()).issue();
    const refused = new WebTransport(url, { serverCertificateHashes: [stranger.hash] });
    const refusedAccept = listener.accept().catch(() => {});
    await assert.rejects(
      () => deadline(refused.ready, TIMEOUT_MS, "WebTransport with a wrong hash"),
      /UnknownIssuer|certificate/i,
    );
    await deadline(refusedAccept, TIMEOUT_MS, "server side of the refused handshake");
  } finally {
    for (const wt of sessions) wt.close();
    listener.stop();
    endpoint.close();
  }
});
