/**
 * A real Switchyard with `[gateway]` on, whose sessions run a small Deno script the test
 * gives (`Deno.args` are the port and the session id), and tokens signed for it.
 *
 * @module
 */

import { signToken } from "../src/auth/mod.ts";
import { freePortRange } from "../src/services/gateway/_gateway_testing.ts";
import { startTestServer, type TestServer } from "./_server.ts";

const SECRET = "gateway-test-secret-0123456789abcdefghij";

/** Options of {@linkcode startGatewayServer}. */
export interface GatewayServerOptions {
  /** Source of each session's server: listens on 127.0.0.1:`Deno.args[0]`. */
  session: string;
  /** More `[gateway]` lines (`max_sessions = 3`, `routing = "subdomain"`…). */
  gateway?: string;
  /** Top-level lines, before every table (`allowed_origins = […]`). */
  top?: string;
  /** Extra permissions of the session script; `--allow-net` is always given. */
  allow?: string[];
}

/** The server, and what a test needs around it. */
export interface GatewayServer {
  server: TestServer;
  /** A token for `claims`, signed with the server's key. */
  token(claims: Record<string, unknown>): Promise<string>;
  /** Stops the server (and so every session), then removes the session script. */
  close(): Promise<void>;
}

/**
 * The `switchyard.toml` of a gateway whose sessions run `script` with Deno (`ready = "tcp"`,
 * four free ports, tokens signed with {@linkcode signGatewayToken}).
 */
export function gatewayToml(script: string, options: Omit<GatewayServerOptions, "session">) {
  const [low, high] = freePortRange(4);
  const allow = ["--allow-net", ...(options.allow ?? [])].join(" ");
  const command = `"${Deno.execPath()}" run --no-config ${allow} "${script}" {port} {id}`;
  return `${options.top ?? ""}
[auth]
hmac_secret = "${SECRET}"

[gateway]
enabled = true
ready = "tcp"
port_range = "${low}-${high}"
command = ${JSON.stringify(command)}
${options.gateway ?? ""}
`;
}

/** A token for `claims` that a {@linkcode gatewayToml} server accepts. */
export function signGatewayToken(claims: Record<string, unknown>): Promise<string> {
  return signToken({ sub: "tester", ...claims }, { secret: SECRET, alg: "HS256" });
}

/** Starts a Switchyard whose gateway runs `options.session` per session (`ready = "tcp"`). */
export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const dir = await Deno.makeTempDir({ prefix: "gateway_server_" });
  const script = `${dir}/session_server.js`;
  await Deno.writeTextFile(script, options.session);
  let server: TestServer;
  try {
    server = await startTestServer({ toml: gatewayToml(script, options) });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    token: signGatewayToken,
    close() {
      closing ??= (async () => {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      })();
      return closing;
    },
  };
}
