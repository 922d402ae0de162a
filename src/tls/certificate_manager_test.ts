import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CertificateAuthority,
  CertificateError,
  type CertificateHash,
  CertificateManager,
  LEAF_CERT_FILE,
  LEAF_KEY_FILE,
  LEAF_RECORD_FILE,
  type LeafCertificate,
} from "./mod.ts";
import { deadline, withTempDir } from "./_testing.ts";

const DAY_MS = 86_400_000;
const TIMEOUT_MS = 10_000;
const CHILD_TIMEOUT_MS = 60_000;

/**
 * Opens `dir` in a new Deno process and reports whether that loaded `@peculiar/x509`: it loads
 * reflect-metadata first, which defines `Reflect.getMetadata`.
 */
async function openInChild(dir: string): Promise<{ x509Loaded: boolean; hash: string }> {
  const code = `
    const { CertificateManager } = await import(${JSON.stringify(import.meta.resolve("./mod.ts"))});
    const certs = await CertificateManager.open({ dir: ${JSON.stringify(dir)} });
    const x509Loaded = typeof Reflect.getMetadata === "function";
    console.log(JSON.stringify({ x509Loaded, hash: certs.current.hash.base64 }));
  `;
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: new URL("../..", import.meta.url), // the repository's deno.json maps the npm packages
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CHILD_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  assert.ok(success, decoder.decode(stderr));
  return JSON.parse(decoder.decode(stdout));
}

/** Whether `leaf` verifies with the public key of the CA certificate `caPem` (node:crypto). */
function signedBy(leaf: LeafCertificate, caPem: string): boolean {
  return new X509Certificate(leaf.certPem).verify(new X509Certificate(caPem).publicKey);
}

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

    assert.equal((await Deno.stat(join(dir, LEAF_RECORD_FILE))).mode! & 0o777, 0o644);

    const second = await CertificateManager.open({ dir });
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.caCertPem, await Deno.readTextFile(join(dir, CA_CERT_FILE)));
    assert.deepEqual(second.current, first.current, "the warm start reads back the same leaf");
  });
});

Deno.test("CertificateManager.open() of a warm cert directory loads no X.509 library", async () => {
  await withTempDir(async (dir) => {
    const created = await openInChild(dir);
    assert.equal(created.x509Loaded, true, "creating the CA and the leaf loads it");
    const warm = await openInChild(dir);
    assert.deepEqual(warm, { x509Loaded: false, hash: created.hash });

    await Deno.remove(join(dir, LEAF_RECORD_FILE));
    const older = await openInChild(dir);
    assert.deepEqual(older, { x509Loaded: true, hash: created.hash }, "no leaf.json: full check");
    assert.deepEqual(await openInChild(dir), warm, "the full check wrote leaf.json again");
  });
});

Deno.test("CertificateManager.open() checks in full and rewrites a leaf.json that is missing or does not match", async () => {
  await withTempDir(async (dir) => {
    const first = await CertificateManager.open({ dir });
    const recordPath = join(dir, LEAF_RECORD_FILE);
    const record = await Deno.readTextFile(recordPath);
    const json = JSON.parse(record);
    const otherHash = (await CertificateAuthority.generate()).certPem.slice(40, 84);
    const tampered = [
      JSON.stringify({ ...json, leaf: { ...json.leaf, sha256: otherHash } }),
      JSON.stringify({ ...json, ca: { ...json.ca, sha256: otherHash } }),
      JSON.stringify({ ...json, version: 2 }),
      "{ not json",
      undefined,
    ];
    for (const text of tampered) {
      if (text === undefined) await Deno.remove(recordPath);
      else await Deno.writeTextFile(recordPath, text);
      const reopened = await CertificateManager.open({ dir });
      assert.deepEqual(reopened.current, first.current, `reused with leaf.json ${text}`);
      assert.equal(await Deno.readTextFile(recordPath), record, `rewritten after ${text}`);
    }
  });
});

Deno.test("CertificateManager.open() replaces a leaf from another CA, with or without its leaf.json", async () => {
  await withTempDir(async (tmp) => {
    const [mine, theirs] = [join(tmp, "mine"), join(tmp, "theirs")];
    const own = await CertificateManager.open({ dir: mine });
    const foreign = await CertificateManager.open({ dir: theirs });
    for (
      const files of [[LEAF_CERT_FILE, LEAF_KEY_FILE, LEAF_RECORD_FILE], [
        LEAF_CERT_FILE,
        LEAF_KEY_FILE,
      ]]
    ) {
      await Deno.remove(join(mine, LEAF_RECORD_FILE)).catch(() => {});
      for (const file of files) await Deno.copyFile(join(theirs, file), join(mine, file));
      const reopened = await CertificateManager.open({ dir: mine });
      assert.notEqual(reopened.current.hash.base64, foreign.current.hash.base64, files.join());
      assert.equal(reopened.caCertPem, own.caCertPem);
      assert.ok(signedBy(reopened.current, own.caCertPem), files.join());
      assert.deepEqual((await CertificateManager.open({ dir: mine })).current, reopened.current);
    }
  });
});

Deno.test("CertificateManager.open() replaces a leaf whose key is not the certificate's, though leaf.json matches", async () => {
  await withTempDir(async (tmp) => {
    const [mine, theirs] = [join(tmp, "mine"), join(tmp, "theirs")];
    const first = await CertificateManager.open({ dir: mine });
    await CertificateManager.open({ dir: theirs });
    await Deno.copyFile(join(theirs, LEAF_KEY_FILE), join(mine, LEAF_KEY_FILE));
    const reopened = await CertificateManager.open({ dir: mine });
    assert.notEqual(reopened.current.hash.base64, first.current.hash.base64);
    assert.equal(await Deno.readTextFile(join(mine, LEAF_KEY_FILE)), reopened.current.keyPem);
    assert.ok(signedBy(reopened.current, first.caCertPem));
  });
});

Deno.test("CertificateManager.open() of a warm cert directory refuses a mismatched or expired CA as before", async () => {
  await withTempDir(async (dir) => {
    const first = await CertificateManager.open({ dir });
    const keyPath = join(dir, CA_KEY_FILE);
    const goodKey = await Deno.readTextFile(keyPath);
    await Deno.copyFile(join(dir, LEAF_KEY_FILE), keyPath);
    await assert.rejects(
      () => CertificateManager.open({ dir }),
      (error: CertificateError) =>
        error.code === "ERR_CA_UNREADABLE" &&
        error.message.includes(`does not match ${join(dir, CA_CERT_FILE)}`),
    );
    await Deno.remove(keyPath);
    await assert.rejects(
      () => CertificateManager.open({ dir }),
      (error: CertificateError) =>
        error.code === "ERR_CA_UNREADABLE" && error.message.includes("file missing"),
    );
    await Deno.writeTextFile(keyPath, goodKey);
    const later = first.current.notBefore.getTime() + 11 * 365 * DAY_MS;
    await assert.rejects(
      () => CertificateManager.open({ dir, now: () => later }),
      (error: CertificateError) => error.code === "ERR_CA_EXPIRED",
    );
    assert.deepEqual((await CertificateManager.open({ dir })).current, first.current);
  });
});

Deno.test("CertificateManager.renewIfDue() after a warm open issues with the CA read at open", async () => {
  await withTempDir(async (dir) => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    await CertificateManager.open({ dir, now: clock.now });
    const warm = await CertificateManager.open({ dir, now: clock.now });
    const old = warm.current;
    // Files changed after open are seen at the next start, not by a running manager.
    await Deno.remove(join(dir, CA_CERT_FILE));
    await Deno.remove(join(dir, CA_KEY_FILE));
    clock.set(old.notAfter.getTime() - DAY_MS);
    assert.equal(await warm.renewIfDue(), true);
    assert.notEqual(warm.current.hash.base64, old.hash.base64);
    assert.ok(signedBy(warm.current, warm.caCertPem));
    await assert.rejects(() => Deno.stat(join(dir, CA_KEY_FILE)), Deno.errors.NotFound);
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
