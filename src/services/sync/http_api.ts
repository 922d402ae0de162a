/**
 * The document HTTP API for batch syncers (a browser extension waking up, a
 * cron job, a server): fetch a document or the part another replica lacks,
 * apply an update, and list what changed since a cursor. Described for tools
 * in `/openapi.json` (see `openapi.ts`).
 *
 * - `GET  /sync/docs/{doc}[?sv=<base64url>]` → the state (or the diff against
 *   the state vector) as `application/octet-stream`; `X-Switchyard-Seq` is a
 *   cursor that the body includes every change up to.
 * - `POST /sync/docs/{doc}` (body: a Yjs update) → `{"seq": n}` once stored.
 * - `GET  /sync/changes?since=<seq>&limit=<n>` → `{"changes": [{doc, seq}],
 *   "next": <seq>}`, only documents the caller may read.
 *
 * Access comes from `Authorization: Bearer <JWT>` (its `docs` claim) or, without
 * one, from `sync.anonymous`. Errors are JSON `{"error": code, "message": …}`.
 *
 * @module
 */

import * as Y from "yjs";
import { concatBytes, SwitchyardError } from "../../core/mod.ts";
import type { RequestContext } from "../../http/router.ts";
import { docAccess } from "./access.ts";
import { SYNC_ERROR_STATUS, SyncError } from "./sync_error.ts";
import type { DocAccess, DocManagerApi } from "./types.ts";

/** Where the API is mounted. */
export const SYNC_API_PREFIX = "/sync/";

/** The part of the store the API reads directly. */
export interface ChangeLog {
  changesSince(seq: number, limit: number): { doc: string; seq: number }[];
  lastSeq(): number;
}

/** Options of {@linkcode createSyncHttpApi}. */
export interface SyncHttpApiOptions {
  docs: DocManagerApi;
  changes: ChangeLog;
  /** Verify a bearer token; rejects with a `SwitchyardError` (401 or 503). */
  authenticate(token: string): Promise<{ claims?: Readonly<Record<string, unknown>> }>;
  anonymous: DocAccess;
  maxUpdateBytes: number;
}

/** Largest `limit` of `/sync/changes`. */
const MAX_CHANGES = 1000;

/** A route handler for everything under {@linkcode SYNC_API_PREFIX}. */
export function createSyncHttpApi(
  options: SyncHttpApiOptions,
): (req: Request, ctx: RequestContext) => Promise<Response> {
  const { docs } = options;

  async function accessFor(req: Request, doc: string | null): Promise<AccessCheck> {
    const header = req.headers.get("authorization");
    let claims: Readonly<Record<string, unknown>> | undefined;
    if (header !== null) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) throw new ApiError(401, "ERR_UNAUTHORIZED", "Use Authorization: Bearer <JWT>");
      claims = (await options.authenticate(m[1])).claims ?? {};
    }
    return (name = doc ?? "") => docAccess(claims, name, options.anonymous);
  }

  async function getDoc(req: Request, doc: string, url: URL): Promise<Response> {
    need((await accessFor(req, doc))(), "r", doc);
    const svText = url.searchParams.get("sv");
    let sv: Uint8Array | undefined;
    if (svText !== null) {
      try {
        sv = Uint8Array.fromBase64(svText, { alphabet: "base64url" });
      } catch {
        throw new ApiError(400, "ERR_BAD_REQUEST", "sv must be a base64url state vector");
      }
    }
    const cursor = options.changes.lastSeq();
    const loaded = await docs.open(doc);
    try {
      let body: Uint8Array;
      try {
        body = Y.encodeStateAsUpdate(loaded.doc, sv);
      } catch {
        throw new ApiError(400, "ERR_BAD_REQUEST", "sv is not a Yjs state vector");
      }
      return new Response(body as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": "application/octet-stream",
          "cache-control": "no-store",
          "x-switchyard-seq": String(cursor),
        },
      });
    } finally {
      docs.release(doc);
    }
  }

  async function postDoc(req: Request, doc: string): Promise<Response> {
    need((await accessFor(req, doc))(), "rw", doc);
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > options.maxUpdateBytes) throw tooLarge(options.maxUpdateBytes);
    const body = await readCapped(req, options.maxUpdateBytes);
    if (body.length === 0) {
      throw new ApiError(400, "ERR_BAD_UPDATE", "The body must be a Yjs update");
    }
    await docs.open(doc);
    try {
      const seq = await docs.apply(doc, body, { http: true });
      return Response.json({ seq }, { headers: { "cache-control": "no-store" } });
    } finally {
      docs.release(doc);
    }
  }

  async function changes(req: Request, url: URL): Promise<Response> {
    const may = await accessFor(req, null);
    const since = intParam(url, "since", 0);
    const limit = Math.min(intParam(url, "limit", 100), MAX_CHANGES);
    const raw = options.changes.changesSince(since, limit);
    const visible = raw.filter((c) => may(c.doc) !== "none");
    // The cursor moves past hidden documents too, so a caller never sees them by paging.
    const next = raw.length > 0 ? raw[raw.length - 1].seq : since;
    return Response.json({ changes: visible, next }, { headers: { "cache-control": "no-store" } });
  }

  return async (req, ctx) => {
    try {
      const path = ctx.url.pathname.slice(SYNC_API_PREFIX.length);
      if (path === "changes") {
        if (req.method !== "GET" && req.method !== "HEAD") throw notAllowed("GET");
        return await changes(req, ctx.url);
      }
      if (path.startsWith("docs/")) {
        const doc = decodeName(path.slice("docs/".length));
        if (req.method === "GET" || req.method === "HEAD") return await getDoc(req, doc, ctx.url);
        if (req.method === "POST") return await postDoc(req, doc);
        throw notAllowed("GET, POST");
      }
      throw new ApiError(404, "ERR_NOT_FOUND", `No API at ${ctx.url.pathname}: see /openapi.json`);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

type AccessCheck = (doc?: string) => DocAccess;

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function need(granted: DocAccess, wanted: "r" | "rw", doc: string): void {
  if (granted === "rw" || (granted === "r" && wanted === "r")) return;
  throw granted === "r"
    ? new ApiError(403, "ERR_READ_ONLY", `Document "${doc}" is read-only for this token`)
    : new ApiError(403, "ERR_FORBIDDEN", `No access to document "${doc}"`);
}

function decodeName(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, "ERR_BAD_DOC_NAME", "The document name is not valid percent-encoding");
  }
  if (name === "") throw new ApiError(400, "ERR_BAD_DOC_NAME", "Name a document: /sync/docs/{doc}");
  return name;
}

function intParam(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  if (!/^\d{1,15}$/.test(text)) {
    throw new ApiError(400, "ERR_BAD_REQUEST", `${name} must be a whole number, got "${text}"`);
  }
  return Number(text);
}

function tooLarge(max: number): ApiError {
  return new ApiError(413, "ERR_UPDATE_TOO_LARGE", `An update may be at most ${max} bytes`);
}

function notAllowed(allow: string): ApiError {
  return new ApiError(405, "ERR_METHOD_NOT_ALLOWED", `Use ${allow}`);
}

/** The body, refusing (and not buffering) more than `max` bytes. */
async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}

function errorResponse(err: unknown): Response {
  let status = 500;
  let code = "ERR_INTERNAL";
  let message = "Internal server error";
  if (err instanceof ApiError) [status, code, message] = [err.status, err.code, err.message];
  else if (err instanceof SyncError) {
    [status, code, message] = [SYNC_ERROR_STATUS[err.code], err.code, err.message];
  } else if (err instanceof SwitchyardError) {
    status = err.code === "ERR_UNAVAILABLE" ? 503 : err.code === "ERR_FORBIDDEN" ? 403 : 401;
    [code, message] = [err.code, err.message];
  } else throw err;
  return Response.json({ error: code, message }, {
    status,
    headers: { "cache-control": "no-store" },
  });
}
