/**
 * The `switchyard` command as a user runs it: a real process, its output, its
 * exit code, its signals.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", MAIN, ...args],
    // Documents in memory: a test must not leave a database in the repository.
    env: { NO_COLOR: "1", SWITCHYARD_SYNC_DATABASE: ":memory:", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await cli(args, env).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Read lines from a stream until `pred` matches one, within `ms`. */
async function waitForLine(
  reader: ReadableStreamDefaultReader<string>,
  pred: (line: string) => boolean,
  seen: string[],
  ms = 15_000,
): Promise<string> {
  const deadline = Date.now() + ms;
  let buffer = "";
  while (Date.now() < deadline) {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()));
    const chunk = await Promise.race([reader.read(), timer]);
    if (chunk === null || chunk.done) break;
    buffer += chunk.value;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      seen.push(line);
      if (pred(line)) return line;
    }
  }
  throw new Error(`No matching line within ${ms} ms; saw:\n${seen.join("\n")}`);
}

Deno.test("switchyard --help, help serve and --version", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage/i);
  assert.match(help.stdout, /serve/);
  const serve = await run(["serve", "--help"]);
  assert.equal(serve.code, 0);
  for (const flag of ["--port", "--host", "--cert-dir", "--config", "--http-port"]) {
    assert.ok(serve.stdout.includes(flag), `serve --help lists ${flag}`);
  }
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^switchyard \d+\.\d+\.\d+/);
});

Deno.test("switchyard refuses an unknown flag (exit 2) and an invalid setting (exit 78)", async () => {
  const typo = await run(["serve", "--prot", "80"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /Unknown flag --prot: did you mean --port\?/);
  const bad = await run(["serve"], { SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES: "-5" });
  assert.equal(bad.code, 78);
  assert.match(
    bad.stderr,
    /Invalid limits\.max_message_bytes = -5 \(from SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES\)/,
  );
  const missing = await run(["serve", "--config", "/nonexistent/switchyard.toml"]);
  assert.equal(missing.code, 78);
  assert.match(missing.stderr, /nonexistent\/switchyard\.toml/);
});

Deno.test("switchyard serve prints its URLs, serves, and stops on SIGTERM within 5 s", async () => {
  const certDir = await Deno.makeTempDir();
  const child = cli(["serve", "--port", "0", "--http-port", "0", "--cert-dir", certDir]).spawn();
  const seen: string[] = [];
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const err = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await waitForLine(out, (l) => l.includes("Status page"), seen);
    const url = line.trim().split(/\s+/).at(-1)!;
    const health = await fetch(new URL("/healthz", url));
    assert.deepEqual(await health.json(), { status: "ok" });
    const metrics = await (await fetch(new URL("/metrics", url))).text();
    assert.match(metrics, /switchyard_connections\{transport="websocket"\}/);
    const page = await (await fetch(url)).text();
    assert.match(page, /<title>Switchyard status<\/title>/);
    const js = await fetch(new URL("/switchyard/client.js", url));
    assert.equal(js.status, 200);
    assert.match(await js.text(), /SwitchyardClient/);
    const started = Date.now();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.ok(Date.now() - started < 5000);
    await waitForLine(err, (l) => l.includes('"Stopped"'), []);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await out.cancel().catch(() => {});
    await err.cancel().catch(() => {});
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("switchyard serve takes the next port when one is in use, or fails with --strict-port", async () => {
  const certDir = await Deno.makeTempDir();
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busy = (blocker.addr as Deno.NetAddr).port;
  try {
    const strict = await run([
      "serve",
      "--no-tls",
      "--host",
      "127.0.0.1",
      "--port",
      String(busy),
      "--strict-port",
    ]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, new RegExp(`Port ${busy} is in use`));

    const child = cli([
      "serve",
      "--no-tls",
      "--host",
      "127.0.0.1",
      "--port",
      String(busy),
      "--cert-dir",
      certDir,
    ]).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const err = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const warning = await waitForLine(err, (l) => l.includes("is in use"), []);
      assert.match(warning, new RegExp(`Port ${busy} is in use: serving on \\d+ instead`));
      const line = await waitForLine(out, (l) => l.includes("Status page"), []);
      assert.doesNotMatch(line, new RegExp(`:${busy}/`));
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await out.cancel().catch(() => {});
      await err.cancel().catch(() => {});
    }
  } finally {
    blocker.close();
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("switchyard dev refuses a missing folder and a file, naming it", async () => {
  const missing = await run(["dev", "/nonexistent/site"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot serve \/nonexistent\/site: no such folder/);
  const file = await run(["dev", MAIN]);
  assert.equal(file.code, 1);
  assert.match(file.stderr, /it is a file, not a folder/);
  const misplaced = await run(["serve", "--spa"]);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.stderr, /Flag --spa belongs to dev, not serve/);
});

Deno.test("switchyard dev examples/site (the README's command) serves the site with the client", async () => {
  const certDir = await Deno.makeTempDir();
  const site = new URL("../examples/site", import.meta.url).pathname;
  const child = cli(["dev", site, "--port", "0", "--cert-dir", certDir]).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await waitForLine(out, (l) => l.includes("Local"), []);
    const url = line.trim().split(/\s+/).at(-1)!;
    const page = await (await fetch(url)).text();
    assert.match(page, /<h1>Hello from Switchyard<\/h1>/);
    assert.match(page, /<script type="module" src="\/switchyard\/dev\.js" data-switchyard-dev/);
    const css = await fetch(new URL("style.css", url));
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    await css.body?.cancel();
    const res = await fetch(url);
    await res.body?.cancel();
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
    assert.equal(
      res.headers.get("content-security-policy"),
      "object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
    );
    assert.equal(res.headers.get("access-control-allow-origin"), null, "CORS is off by default");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await out.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("switchyard dev --open opens the page; --csp serves the policy with the client's needs", async () => {
  const certDir = await Deno.makeTempDir();
  const bin = await Deno.makeTempDir();
  const opened = `${bin}/opened.txt`;
  // A stand-in for xdg-open that writes down what it was asked to open.
  await Deno.writeTextFile(`${bin}/xdg-open`, `#!/bin/sh\necho "$@" > ${opened}\n`, {
    mode: 0o755,
  });
  const site = new URL("../examples/site", import.meta.url).pathname;
  const child = cli(
    ["dev", site, "--port", "0", "--cert-dir", certDir, "--open", "--csp", "default-src 'self'"],
    { PATH: `${bin}:${Deno.env.get("PATH")}` },
  ).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await waitForLine(out, (l) => l.includes("Local"), []);
    const url = line.trim().split(/\s+/).at(-1)!;
    const deadline = Date.now() + 10_000;
    let text: string | undefined;
    while (text === undefined && Date.now() < deadline) {
      text = await Deno.readTextFile(opened).catch(() => undefined);
      if (text === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(text?.trim(), url, "the browser is opened on the Local URL");
    const res = await fetch(url);
    await res.body?.cancel();
    const origin = new URL(url).origin;
    const port = new URL(url).port;
    assert.equal(
      res.headers.get("content-security-policy"),
      `default-src 'self'; script-src 'self' ${origin}/switchyard/dev.js; ` +
        `connect-src 'self' ${origin} ${origin.replace("http", "ws")} https://*:${port}`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await out.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(certDir, { recursive: true });
    await Deno.remove(bin, { recursive: true });
  }
});
