/**
 * The OpenAPI 3.1 description of the document HTTP API, served at
 * `/openapi.json`. Tests check that every path `http_api.ts` answers is here
 * and that the documented examples work against a real server.
 *
 * @module
 */

const error = {
  description: "An error: `error` is a stable code, `message` says what to do.",
  content: {
    "application/json": {
      schema: { $ref: "#/components/schemas/Error" },
    },
  },
};

const docParam = {
  name: "doc",
  in: "path",
  required: true,
  description: "Document name; it may contain `/` (`notes/alice`). Percent-encode other reserved " +
    "characters.",
  schema: { type: "string", minLength: 1, maxLength: 512 },
};

/** The OpenAPI document (a plain object; `Response.json` it). */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchyard document sync",
      version,
      description:
        "Yjs documents over HTTP, for clients that sync in batches. The same documents " +
        "are served live at `/yjs/{doc}` (the y-websocket protocol) and over Switchyard sessions " +
        "(`sync.*` RPCs). Access: the `docs` claim of a JWT maps document names, or prefixes " +
        'ending in `*`, to `"rw"` or `"r"`. See docs/sync.md.',
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "message"],
          properties: {
            error: {
              type: "string",
              examples: ["ERR_FORBIDDEN", "ERR_READ_ONLY", "ERR_UPDATE_TOO_LARGE"],
            },
            message: { type: "string" },
          },
        },
        Change: {
          type: "object",
          required: ["doc", "seq"],
          properties: {
            doc: { type: "string" },
            seq: { type: "integer", description: "Server seq of the document's latest update" },
          },
        },
      },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      "/sync/docs/{doc}": {
        parameters: [docParam],
        get: {
          summary: "A document's state, or what a replica lacks",
          operationId: "getDocument",
          parameters: [{
            name: "sv",
            in: "query",
            required: false,
            description: "The replica's state vector (`Y.encodeStateVector`), base64url: the " +
              "answer is then only the diff.",
            schema: { type: "string" },
          }],
          responses: {
            "200": {
              description: "A Yjs update (`Y.applyUpdate` it).",
              headers: {
                "X-Switchyard-Seq": {
                  description: "Every change up to this seq is in the body: pass it as `since` " +
                    "to `/sync/changes`.",
                  schema: { type: "integer" },
                },
              },
              content: { "application/octet-stream": { schema: { type: "string" } } },
            },
            "400": error,
            "401": error,
            "403": error,
            "503": error,
          },
        },
        post: {
          summary: "Apply an update",
          operationId: "applyUpdate",
          requestBody: {
            required: true,
            description: "A Yjs update (`Y.encodeStateAsUpdate`, or an update event's bytes).",
            content: { "application/octet-stream": { schema: { type: "string" } } },
          },
          responses: {
            "200": {
              description: "Stored durably: the update is acknowledged only after its commit.",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["seq"],
                    properties: {
                      seq: {
                        type: "integer",
                        description: "Its server seq; 0 when it changed nothing.",
                      },
                    },
                  },
                },
              },
            },
            "400": error,
            "401": error,
            "403": error,
            "413": error,
            "503": error,
          },
        },
      },
      "/sync/changes": {
        get: {
          summary: "Documents changed after a cursor",
          operationId: "listChanges",
          parameters: [
            {
              name: "since",
              in: "query",
              description: "Cursor: `next` of the previous page, or `X-Switchyard-Seq`.",
              schema: { type: "integer", minimum: 0, default: 0 },
            },
            {
              name: "limit",
              in: "query",
              schema: { type: "integer", minimum: 0, maximum: 1000, default: 100 },
            },
          ],
          responses: {
            "200": {
              description: "Changed documents the caller may read, oldest change first. Page " +
                "with `since = next` until `changes` is empty.",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["changes", "next"],
                    properties: {
                      changes: { type: "array", items: { $ref: "#/components/schemas/Change" } },
                      next: { type: "integer" },
                    },
                  },
                },
              },
            },
            "400": error,
            "401": error,
          },
        },
      },
    },
  };
}
