/**
 * The gateway's HTTP API, for the backend of a cloud editor or preview service:
 *
 * - `GET    /gateway/sessions` → `{"sessions": [SessionInfo…]}` (those the caller may see)
 * - `POST   /gateway/sessions` with `{"id": "a"}` → 201 `{"session": …}` once spawned (200 if it
 *   ran already); `?wait=ready` answers once it is ready, or with why it is not (502 + its
 *   last log lines, 504).
 * - `GET    /gateway/sessions/{id}` → `{"session": …}`
 * - `DELETE /gateway/sessions/{id}` → `{"session": …}` once its process group is gone
 * - `POST   /gateway/sessions/{id}/restart[?wait=ready]` → `{"session": …}`
 * - `GET    /gateway/sessions/{id}/logs[?limit=N]` → `{"lines": [{stream, text, at}…],
 *   "position": {offset, epoch}}`: the current process's recent lines, and where channel
 *   `gateway-logs:{id}` stood before they were read — subscribe from there and no line is
 *   missed (one written meanwhile may show twice).
 *
 * Callers send `Authorization: Bearer <JWT>`. A token with `"gateway": "admin"` may do
 * everything; a token whose `sessions` claim grants a session may read, restart and stop that
 * one, not create sessions. With `gateway.anonymous` the API is open to loopback clients only.
 * Errors are JSON `{"error": code, "message": …}`.
 *
 * @module
 */

import type { Authenticator } from "../../auth/mod.ts";
import { SwitchyardError } from "../../core/errors.ts";
import type { StreamPosition } from "../../core/mod.ts";
import { jsonError } from "../../http/headers.ts";
import { sessionGranted } from "./access.ts";
import { isGatewayAdmin } from "./gateway_logs.ts";
import type { SessionInfo } from "./gateway_service.ts";
import type { LogLine } from "./supervisor.ts";
import { GatewayError, SESSION_ID_PATTERN } from "./_gateway_error.ts";
import { awaitReady, failureResponse } from "./_session_responses.ts";

/** Where the API is mounted. */
export const GATEWAY_API_PREFIX = "/gateway/";

/** The part of `GatewayService` the API drives. */
export interface GatewayControl {
  start(id: string): Promise<SessionInfo>;
  ready(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  restart(id: string): Promise<SessionInfo>;
  list(): SessionInfo[];
  logs(id: string): LogLine[];
}

/** Options of {@linkcode createGatewayApi}. */
export interface GatewayApiOptions {
  gateway: GatewayControl;
  authenticator: Pick<Authenticator, "connect">;
  /** `gateway.anonymous`: loopback clients need no token. */
  anonymous: boolean;
  /** Bound of `?wait=ready`; the session's ready timeout plus a margin. */
  readyLimitMs: number;
  /** The current position of session `id`'s log channel. */
  logPosition(id: string): Promise<StreamPosition>;
}

/** What the request is about, for the HTTP layer. */
export interface ApiRequestContext {
  url: URL;
  remoteAddress: string;
}

/** Largest request body (`{"id": …}`). */
const MAX_BODY_BYTES = 4096;

const ROUTE = /^\/gateway\/sessions(?:\/([^/]+)(\/restart|\/logs)?)?\/?$/;

type Caller = { admin: true } | { admin: false; claims: Readonly<Record<string, unknown>> };

/**
 * A route handler for everything under {@linkcode GATEWAY_API_PREFIX}.
 *
 * @example
 * ```ts ignore
 * import { createGatewayApi } from "./admin_api.ts";
 * declare const gateway: import("./gateway_service.ts").GatewayService;
 * declare const authenticator: import("../../auth/mod.ts").Authenticator;
 * const api = createGatewayApi({
 *   gateway,
 *   authenticator,
 *   anonymous: false,
 *   readyLimitMs: 61_000,
 *   logPosition: () => Promise.resolve({ offset: 0, epoch: "" }),
 * });
 * Deno.serve((req, info) =>
 *   api(req, { url: new URL(req.url), remoteAddress: info.remoteAddr.hostname })
 * );
 * ```
 */
export function createGatewayApi(
  options: GatewayApiOptions,
): (req: Request, ctx: ApiRequestContext) => Promise<Response> {
  const { gateway } = options;

  const find = (id: string) => gateway.list().find((s) => s.id === id);
  const known = (id: string): SessionInfo => {
    const info = find(id);
    if (!info) {
      throw new GatewayError(
        "ERR_UNKNOWN_SESSION",
        `No session "${id}": create it with POST /gateway/sessions {"id": "${id}"}`,
      );
    }
    return info;
  };
  const waitReady = async (req: Request, url: URL, id: string): Promise<Response | undefined> => {
    if (url.searchParams.get("wait") !== "ready") return undefined;
    return await awaitReady(() => gateway.ready(id), {
      id,
      limitMs: options.readyLimitMs,
      signal: req.signal,
    });
  };

  async function sessionRoute(
    req: Request,
    url: URL,
    id: string,
    action: string | undefined,
    caller: Caller,
  ): Promise<Response> {
    if (!SESSION_ID_PATTERN.test(id)) throw badId(id);
    if (!caller.admin && !sessionGranted(caller.claims, id)) {
      return jsonError(
        403,
        "ERR_FORBIDDEN",
        `This token does not grant session "${id}": its sessions claim must list it, or the ` +
          'token must carry "gateway": "admin"',
      );
    }
    if (action === "/logs") {
      allow(req, "GET");
      known(id);
      const limit = intParam(url, "limit", 500);
      const position = await options.logPosition(id);
      const lines = gateway.logs(id);
      return Response.json({ lines: limit === 0 ? [] : lines.slice(-limit), position }, NO_STORE);
    }
    if (action === "/restart") {
      allow(req, "POST");
      known(id);
      await gateway.restart(id);
      return (await waitReady(req, url, id)) ?? Response.json({ session: known(id) }, NO_STORE);
    }
    allow(req, "GET", "DELETE");
    if (req.method === "DELETE") {
      known(id);
      await gateway.stop(id);
    }
    return Response.json({ session: known(id) }, NO_STORE);
  }

  async function collection(req: Request, url: URL, caller: Caller): Promise<Response> {
    allow(req, "GET", "POST");
    if (req.method === "GET") {
      const sessions = gateway.list().filter((s) =>
        caller.admin || sessionGranted(caller.claims, s.id)
      );
      return Response.json({ sessions }, NO_STORE);
    }
    if (!caller.admin) {
      return jsonError(
        403,
        "ERR_FORBIDDEN",
        'Creating sessions needs a token with "gateway": "admin"',
      );
    }
    const id = await readId(req);
    const wasRunning = find(id)?.port != null;
    await gateway.start(id);
    const notReady = await waitReady(req, url, id);
    if (notReady) return notReady;
    return Response.json({ session: known(id) }, { ...NO_STORE, status: wasRunning ? 200 : 201 });
  }

  return async (req, ctx) => {
    const match = ROUTE.exec(ctx.url.pathname);
    if (!match) {
      return jsonError(
        404,
        "ERR_NOT_FOUND",
        `Nothing at ${ctx.url.pathname}: the API is under /gateway/sessions`,
      );
    }
    const [, id, action] = match;
    try {
      const caller = await authenticate(req, ctx, options);
      if (caller instanceof Response) return caller;
      return id === undefined
        ? await collection(req, ctx.url, caller)
        : await sessionRoute(req, ctx.url, decodeId(id), action, caller);
    } catch (error) {
      if (error instanceof ApiError) return error.response;
      return failureResponse(error, { id: id ?? "", browser: false });
    }
  };
}

const NO_STORE = { headers: { "cache-control": "no-store" } };

/** A refusal that is already its response. */
class ApiError extends Error {
  constructor(readonly response: Response) {
    super("API error");
  }
}

function badId(id: string): GatewayError {
  return new GatewayError(
    "ERR_BAD_SESSION_ID",
    `Invalid session id ${JSON.stringify(id.slice(0, 80))}: use 1 to 63 letters, digits and ` +
      "dashes, starting with a letter or digit",
  );
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badId(raw);
  }
}

function allow(req: Request, ...methods: string[]): void {
  if (methods.includes(req.method)) return;
  const response = jsonError(405, "ERR_METHOD_NOT_ALLOWED", `Use ${methods.join(" or ")} here`);
  response.headers.set("allow", methods.join(", "));
  throw new ApiError(response);
}

function intParam(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new ApiError(jsonError(400, "ERR_BAD_REQUEST", `${name} must be a whole number ≥ 0`));
  }
  return value;
}

async function readId(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError(jsonError(400, "ERR_BAD_REQUEST", 'Send a JSON body like {"id": "a"}'));
  }
  const id = (body as { id?: unknown } | null)?.id;
  if (typeof id !== "string") {
    throw new ApiError(
      jsonError(400, "ERR_BAD_REQUEST", 'The body needs a string "id", like {"id": "a"}'),
    );
  }
  if (!SESSION_ID_PATTERN.test(id)) throw badId(id);
  return id;
}

function tooLarge(): ApiError {
  return new ApiError(
    jsonError(413, "ERR_TOO_LARGE", `The body is over ${MAX_BODY_BYTES} bytes: send {"id": …}`),
  );
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

async function authenticate(
  req: Request,
  ctx: ApiRequestContext,
  options: GatewayApiOptions,
): Promise<Caller | Response> {
  const header = req.headers.get("authorization");
  if (header === null) {
    if (options.anonymous && LOOPBACK.test(ctx.remoteAddress)) return { admin: true };
    return jsonError(
      401,
      "ERR_UNAUTHORIZED",
      'The gateway API needs Authorization: Bearer <JWT> with "gateway": "admin" (or a ' +
        "sessions claim for the session's own routes)",
    );
  }
  const token = /^bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (token === undefined) {
    return jsonError(401, "ERR_UNAUTHORIZED", "Use Authorization: Bearer <JWT>");
  }
  let claims: Readonly<Record<string, unknown>>;
  try {
    claims = (await options.authenticator.connect(token)).claims ?? {};
  } catch (error) {
    if (!(error instanceof SwitchyardError)) throw error;
    const status = error.code === "ERR_UNAVAILABLE" ? 503 : 401;
    return jsonError(status, error.code, `The token was refused: ${error.message}`);
  }
  return isGatewayAdmin(claims) ? { admin: true } : { admin: false, claims };
}
