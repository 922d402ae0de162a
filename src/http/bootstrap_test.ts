import assert from "node:assert/strict";
import { bootstrapDocument } from "./bootstrap.ts";

Deno.test("bootstrapDocument() builds URLs from the request's host and scheme", () => {
  const doc = bootstrapDocument({
    version: "0.1.0",
    maxMessageBytes: 65_536,
    secure: false,
    host: "localhost:4480",
    quicPort: 4433,
    certificateHashes: ["aGFzaA=="],
  });
  assert.deepEqual(doc, {
    version: "0.1.0",
    maxMessageBytes: 65_536,
    transports: {
      webtransport: {
        url: "https://localhost:4433/switchyard/wt",
        certificateHashes: ["aGFzaA=="],
      },
      websocket: { url: "ws://localhost:4480/switchyard/ws" },
      sse: { url: "http://localhost:4480/switchyard/sse" },
    },
  });
});

Deno.test("bootstrapDocument() keeps IPv6 brackets and omits WebTransport without TLS", () => {
  const doc = bootstrapDocument({
    version: "1",
    maxMessageBytes: 1,
    secure: true,
    host: "[::1]:8443",
    quicPort: 8443,
    certificateHashes: ["x"],
  });
  assert.equal(doc.transports.webtransport?.url, "https://[::1]:8443/switchyard/wt");
  assert.equal(doc.transports.websocket?.url, "wss://[::1]:8443/switchyard/ws");
  const plain = bootstrapDocument({
    version: "1",
    maxMessageBytes: 1,
    secure: true,
    host: "rt.example",
  });
  assert.equal(plain.transports.webtransport, undefined);
  assert.equal(plain.transports.sse?.url, "https://rt.example/switchyard/sse");
});

Deno.test("bootstrapDocument() sends a page on localhost to the QUIC socket's own address", () => {
  const base = {
    version: "0.1.0",
    maxMessageBytes: 65_536,
    secure: false,
    quicPort: 4433,
    certificateHashes: ["h"],
  };
  const v4 = bootstrapDocument({ ...base, host: "localhost:4480", quicAddress: "127.0.0.1" });
  assert.equal(v4.transports.webtransport?.url, "https://127.0.0.1:4433/switchyard/wt");
  assert.equal(v4.transports.websocket?.url, "ws://localhost:4480/switchyard/ws");
  const v6 = bootstrapDocument({ ...base, host: "localhost:4480", quicAddress: "::1" });
  assert.equal(v6.transports.webtransport?.url, "https://[::1]:4433/switchyard/wt");
  const any = bootstrapDocument({ ...base, host: "localhost:4480", quicAddress: "0.0.0.0" });
  assert.equal(any.transports.webtransport?.url, "https://localhost:4433/switchyard/wt");
  const lan = bootstrapDocument({ ...base, host: "192.168.1.5:4480", quicAddress: "0.0.0.0" });
  assert.equal(lan.transports.webtransport?.url, "https://192.168.1.5:4433/switchyard/wt");
});
