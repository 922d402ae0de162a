import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CA_KEY_FILE,
  CertificateError,
  type CertificateHash,
  CertificateManager,
  LEAF_CERT_FILE,
  LEAF_KEY_FILE,
  type LeafCertificate,
} from "./mod.ts";
import { deadline, withTempDir } from "./_testing.ts";

const DAY_MS = 86_400_000;
const TIMEOUT_MS = 10_000;

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (next) => void (t = next) };
}

Deno.test("CertificateManager.open() creates the CA and leaf, and a second open() reuses both", async () => {
  await withTempDir(async (tmp) => {
    const dir = join(tmp, "certs");
    const first = await CertificateManager.open({ dir });
    assert.equal((await Deno.stat(join(dir, LEAF_KEY_FILE))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, CA_KEY_FILE))).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(join(dir, LEAF_CERT_FILE)), first.current.certPem);
    assert.deepEqual(first.hashes, [first.current.hash]);

    const second = await CertificateManager.open({ dir });
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.current.hash.base64, first.current.hash.base64);
    assert.equal(second.current.keyPem, first.current.keyPem);
  });
});

Deno.test("CertificateManager.open() issues a new leaf when it lacks a requested hostname", async () => {
  await withTempDir(async (dir) => {
    const plain = await CertificateManager.open({ dir });
    const wider = await CertificateManager.open({ dir, hostnames: ["box.test", "192.0.2.9"] });
    assert.notEqual(wider.current.hash.base64, plain.current.hash.base64);
    assert.ok(wider.current.hostnames.includes("box.test"));
    assert.ok(wider.current.hostnames.includes("192.0.2.9"));
    assert.equal(wider.caCertPem, plain.caCertPem);
    const again = await CertificateManager.open({ dir });
    assert.equal(again.current.hash.base64, wider.current.hash.base64, "a superset is reused");
  });
});

Deno.test("CertificateManager.renewIfDue() renews near expiry and keeps the previous hash while valid", async () => {
  await withTempDir(async (dir) => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const manager = await CertificateManager.open({ dir, now: clock.now });
    const old = manager.current;
    const renewals: [LeafCertificate, LeafCertificate][] = [];
    manager.onRenew((current, previous) => void renewals.push([current, previous]));

    assert.equal(await manager.renewIfDue(), false);
    clock.set(old.notAfter.getTime() - 3 * DAY_MS - 1000);
    assert.equal(await manager.renewIfDue(), false, "more than 3 days left");
    assert.equal(manager.current, old);

    clock.set(old.notAfter.getTime() - 3 * DAY_MS + 1000);
    const both = await Promise.all([manager.renewIfDue(), manager.renewIfDue()]);
    assert.deepEqual(both, [true, true], "concurrent calls share the renewal");
    const renewed = manager.current;
    assert.equal(renewals.length, 1);
    assert.deepEqual(renewals[0], [renewed, old]);
    assert.notEqual(renewed.hash.base64, old.hash.base64);
    assert.equal(renewed.notBefore.getTime(), clock.now() - 3_600_000);
    assert.deepEqual(manager.hashes, [renewed.hash, old.hash]);
    assert.equal(await manager.renewIfDue(), false, "the new leaf is not due");

    const reopened = await CertificateManager.open({ dir, now: clock.now });
    assert.equal(reopened.current.hash.base64, renewed.hash.base64, "the new leaf is persisted");

    clock.set(old.notAfter.getTime() + 1);
    assert.deepEqual(manager.hashes, [renewed.hash], "an expired previous leaf is dropped");
  });
});

Deno.test("CertificateManager.start() renews on its timer once the renewal time comes", async () => {
  await withTempDir(async (dir) => {
    const clock = manualClock(Date.now());
    const manager = await CertificateManager.open({ dir, now: clock.now, checkIntervalMs: 10 });
    const old = manager.current;
    const renewed = new Promise<LeafCertificate>((resolve) => manager.onRenew(resolve));
    manager.start();
    manager.start();
    try {
      clock.set(old.notAfter.getTime() - DAY_MS);
      const leaf = await deadline(renewed, TIMEOUT_MS, "timer-driven renewal");
      assert.equal(leaf, manager.current);
      assert.notEqual(leaf.hash.base64, old.hash.base64);
    } finally {
      await manager.stop();
    }
  });
});

Deno.test("CertificateManager reports a failing renew listener to onError and keeps the new leaf", async () => {
  await withTempDir(async (dir) => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const manager = await CertificateManager.open({ dir, now: clock.now });
    const errors: unknown[] = [];
    manager.onError((error) => errors.push(error));
    manager.onRenew(() => Promise.reject(new Error("swap failed")));
    const calls: string[] = [];
    const off = manager.onRenew(() => void calls.push("removed listener"));
    off();
    const old = manager.current;
    clock.set(old.notAfter.getTime());
    assert.equal(await manager.renewIfDue(), true);
    assert.notEqual(manager.current, old);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /swap failed/);
    assert.deepEqual(calls, []);
  });
});

Deno.test("CertificateManager.renewIfDue() adopts a fresh leaf another process wrote", async () => {
  await withTempDir(async (dir) => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const a = await CertificateManager.open({ dir, now: clock.now });
    const b = await CertificateManager.open({ dir, now: clock.now });
    clock.set(a.current.notAfter.getTime() - DAY_MS);
    assert.equal(await a.renewIfDue(), true);
    assert.equal(await b.renewIfDue(), true);
    assert.equal(b.current.hash.base64, a.current.hash.base64);
  });
});

Deno.test("CertificateManager.open() replaces a corrupt leaf but refuses a corrupt CA key", async () => {
  await withTempDir(async (dir) => {
    await CertificateManager.open({ dir });
    await Deno.writeTextFile(join(dir, LEAF_CERT_FILE), "corrupt");
    const manager = await CertificateManager.open({ dir });
    assert.equal(await Deno.readTextFile(join(dir, LEAF_CERT_FILE)), manager.current.certPem);

    const keyPath = join(dir, CA_KEY_FILE);
    await Deno.writeTextFile(keyPath, "corrupt");
    await assert.rejects(
      () => CertificateManager.open({ dir }),
      (error: CertificateError) => {
        assert.ok(error instanceof CertificateError);
        assert.equal(error.code, "ERR_CA_UNREADABLE");
        assert.equal(
          error.message,
          `Cannot read CA key in ${keyPath} (not a PEM PKCS#8 ECDSA P-256 key): ` +
            `delete the cert directory ${dir} to create a new CA`,
        );
        return true;
      },
    );
  });
});

Deno.test("CertificateManager.open() refuses out-of-range options and bad hostnames", async () => {
  await withTempDir(async (dir) => {
    const cases = [
      { validityMs: 14 * DAY_MS },
      { validityMs: 3_600_000 },
      { validityMs: 2 * DAY_MS, renewBeforeMs: 2 * DAY_MS - 3_600_000 },
      { renewBeforeMs: -1 },
      { checkIntervalMs: 0 },
    ];
    for (const options of cases) {
      await assert.rejects(
        () => CertificateManager.open({ dir, ...options }),
        (error: CertificateError) => error.code === "ERR_BAD_OPTION",
        JSON.stringify(options),
      );
    }
    await assert.rejects(
      () => CertificateManager.open({ dir: join(dir, "never"), hostnames: ["bad host"] }),
      (error: CertificateError) => error.code === "ERR_BAD_HOSTNAME",
    );
    await assert.rejects(() => Deno.stat(join(dir, "never")), Deno.errors.NotFound);
  });
});

Deno.test("CertificateManager.onRenew() lets a live QuicEndpoint swap certificates", async () => {
  await withTempDir(async (dir) => {
    // Start eight days in the past so that both the first and the renewed leaf are valid now.
    const clock = manualClock(Date.now() - 8 * DAY_MS);
    const manager = await CertificateManager.open({ dir, now: clock.now });
    const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
    const listen = (leaf: LeafCertificate) =>
      endpoint.listen({ cert: leaf.certPem, key: leaf.keyPem, alpnProtocols: ["h3"] });
    let listener = listen(manager.current);
    manager.onRenew((leaf) => {
      listener.stop();
      listener = listen(leaf);
    });
    const url = `https://127.0.0.1:${endpoint.addr.port}/`;
    const sessions: WebTransport[] = [];
    const connect = async (hashes: CertificateHash[]) => {
      const accepted = listener.accept().then((conn) => Deno.upgradeWebTransport(conn));
      const client = new WebTransport(url, { serverCertificateHashes: hashes });
      sessions.push(client);
      await deadline(client.ready, TIMEOUT_MS, "WebTransport ready");
      const server = await deadline(accepted, TIMEOUT_MS, "server accept");
      sessions.push(server);
      return { client, server };
    };
    try {
      const before = await connect(manager.hashes);
      clock.set(Date.now());
      assert.equal(await manager.renewIfDue(), true);
      assert.equal(manager.hashes.length, 2);

      const after = await connect(manager.hashes);
      await connect([manager.current.hash]);

      for (const { client, server } of [before, after]) {
        const reader = server.datagrams.readable.getReader();
        await client.datagrams.writable.getWriter().write(new Uint8Array([7]));
        const got = await deadline(reader.read(), TIMEOUT_MS, "datagram");
        assert.deepEqual(
          got.value,
          new Uint8Array([7]),
          "sessions from before the swap still work",
        );
        reader.releaseLock();
      }
    } finally {
      for (const wt of sessions) wt.close();
      listener.stop();
      endpoint.close();
    }
  });
});
