/**
 * The configuration schema, written once as data.
 *
 * Validation, environment-variable names, command-line flags, defaults, the
 * `Config` type and the markdown reference (`configReference()`) are all
 * derived from {@link FIELDS} and {@link NAMESPACE_FIELDS}: to add a setting,
 * add one entry here.
 *
 * @module
 */

/** How a value is checked and converted; see `_kinds.ts`. */
export type FieldKind =
  | "string"
  | "path"
  | "url"
  | "pem"
  | "int"
  | "bool"
  | "enum"
  | "port_or_off"
  | "origin_list"
  | "enum_list";

/** A command-line flag that sets a field. */
export interface FieldFlag {
  /** Long name without dashes, e.g. `"http-port"`. */
  readonly name: string;
  /** One-letter alias, e.g. `"p"`. */
  readonly short?: string;
  /** Placeholder for the value in help text; absent for switches. */
  readonly arg?: string;
  /** For switches: the value the field takes when the flag is given (`--no-tls` sets `false`). */
  readonly sets?: boolean;
  /** Help line when the field's `doc` does not read well for the flag. */
  readonly doc?: string;
}

/**
 * One configuration setting.
 *
 * `K` is its dotted TOML path (`"limits.max_message_bytes"`), `T` the type of
 * its value in `Config`. A field whose `T` includes `undefined` is optional and
 * has no default.
 */
export interface Field<K extends string = string, T = unknown> {
  /** Dotted snake_case path in `switchyard.toml`. */
  readonly key: K;
  /** How the value is validated. */
  readonly kind: FieldKind;
  /** Value when no layer sets it. */
  readonly default: T;
  /** One line for the reference and for `--help`. */
  readonly doc: string;
  /** Smallest integer allowed (`int`, `port_or_off`). */
  readonly min?: number;
  /** Largest integer allowed (`int`, `port_or_off`). */
  readonly max?: number;
  /** Allowed values (`enum`, `enum_list`). */
  readonly values?: readonly string[];
  /** Shortest string allowed, in characters. */
  readonly minLength?: number;
  /** Hide the value in error messages. */
  readonly secret?: boolean;
  /** `false` when no environment variable sets this field. */
  readonly env?: boolean;
  /** Command-line flag that sets this field. */
  readonly flag?: FieldFlag;
}

type Extra = Omit<Field, "key" | "kind" | "default" | "doc">;

function int<K extends string>(
  key: K,
  fallback: number,
  range: readonly [number, number],
  doc: string,
  extra: Extra = {},
): Field<K, number> {
  return { key, kind: "int", default: fallback, min: range[0], max: range[1], doc, ...extra };
}

function bool<K extends string>(
  key: K,
  fallback: boolean,
  doc: string,
  extra: Extra = {},
): Field<K, boolean> {
  return { key, kind: "bool", default: fallback, doc, ...extra };
}

function oneOf<K extends string, const V extends readonly string[]>(
  key: K,
  values: V,
  fallback: V[number],
  doc: string,
  extra: Extra = {},
): Field<K, V[number]> {
  return { key, kind: "enum", values, default: fallback, doc, ...extra };
}

function text<K extends string>(
  key: K,
  kind: "string" | "path",
  fallback: string,
  doc: string,
  extra: Extra = {},
): Field<K, string> {
  return { key, kind, default: fallback, doc, ...extra };
}

function optional<K extends string>(
  key: K,
  kind: "string" | "path" | "url" | "pem",
  doc: string,
  extra: Extra = {},
): Field<K, string | undefined> {
  return { key, kind, default: undefined, doc, ...extra };
}

function portOrOff<K extends string>(
  key: K,
  fallback: number | "off",
  doc: string,
  extra: Extra = {},
): Field<K, number | "off"> {
  return { key, kind: "port_or_off", default: fallback, min: 0, max: 65535, doc, ...extra };
}

function originList<K extends string>(key: K, doc: string): Field<K, readonly string[]> {
  return { key, kind: "origin_list", default: [], doc };
}

function enumList<K extends string, const V extends readonly string[]>(
  key: K,
  values: V,
  doc: string,
): Field<K, readonly V[number][]> {
  return { key, kind: "enum_list", values, default: [], doc };
}

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** JWT algorithms `auth.algorithms` accepts. */
export const JWT_ALGORITHMS = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "ES256",
  "ES384",
  "EdDSA",
] as const;

/** Who may subscribe to a namespace's channels. */
export const SUBSCRIBE_MODES = ["public", "authenticated", "private"] as const;

const PORT: readonly [number, number] = [0, 65535];
const DAY_MS = 86_400_000;

/** Every setting outside `[namespaces.*]` and `[channels]`, in reference order. */
export const FIELDS = [
  text("host", "string", "localhost", "Interface to listen on; `0.0.0.0` = every IPv4 interface", {
    flag: { name: "host", arg: "name" },
  }),
  int("port", 4433, PORT, "HTTPS (h1/h2) on TCP and WebTransport (QUIC) on UDP; 0 = any free", {
    flag: { name: "port", short: "p", arg: "port" },
  }),
  portOrOff("http_port", 4480, 'Plain HTTP port, or "off"; ignored when `tls` is false', {
    flag: { name: "http-port", arg: "port|off" },
  }),
  bool("tls", true, "Serve HTTPS and WebTransport; false = plain HTTP on `port` only", {
    flag: {
      name: "no-tls",
      sets: false,
      doc: "Plain HTTP on --port only, no WebTransport (behind a TLS proxy)",
    },
  }),
  bool("strict_port", false, "Fail when a port is in use instead of taking the next free one", {
    flag: { name: "strict-port", sets: true },
  }),
  text("cert_dir", "path", ".switchyard/certs", "Directory of the local CA and certificates", {
    flag: { name: "cert-dir", arg: "dir" },
  }),
  oneOf("log_level", LOG_LEVELS, "info", "Least severe log level written", {
    flag: { name: "log-level", arg: "level" },
  }),
  oneOf("log_format", ["json", "pretty"] as const, "json", "Log line format", {
    flag: { name: "log-format", arg: "format" },
  }),
  originList(
    "allowed_origins",
    'Origins allowed to connect or call the APIs (also chrome-extension://ID); [] = same host only; "*" = any',
  ),
  bool(
    "trust_proxy",
    false,
    "Believe X-Forwarded-Proto/-Host/-For from a TLS-terminating proxy in front",
  ),
  int("shutdown_timeout_ms", 5000, [0, 600_000], "How long shutdown waits for connections to end"),
  optional("public_dir", "path", "Directory of static files to serve (its index.html answers /)", {
    flag: { name: "public-dir", arg: "dir" },
  }),

  int("session.grace_ms", 30_000, [0, 3_600_000], "How long a session outlives its transport"),
  int("session.ping_interval_ms", 5000, [100, 600_000], "Time between application pings"),
  int("session.ping_timeout_ms", 4000, [100, 600_000], "A transport is dead after this silence"),
  int("session.dedupe_window", 1024, [16, 1_048_576], "Sequence numbers remembered per session"),

  int("limits.max_message_bytes", 65_536, [64, 67_108_864], "Largest frame a client may send"),
  int("limits.max_channels_per_session", 128, [1, 1_000_000], "Subscriptions per session"),
  int("limits.max_connections", 10_000, [1, 10_000_000], "Open connections per node"),
  int("limits.max_connections_per_ip", 1000, [1, 10_000_000], "Open connections per client IP"),
  int("limits.publish_rate", 100, [1, 1_000_000], "Publishes per second per session (sustained)"),
  int("limits.publish_burst", 200, [1, 1_000_000], "Publishes a session may send at once"),
  int(
    "limits.max_send_buffer_bytes",
    1_048_576,
    [1024, 1_073_741_824],
    "Unsent bytes per connection before it is closed as a slow consumer",
  ),

  bool("auth.anonymous", true, "Accept connections without a token"),
  optional("auth.hmac_secret", "string", "Secret for HS256/384/512 tokens (32+ characters)", {
    minLength: 32,
    secret: true,
  }),
  optional("auth.public_key", "pem", "PEM public key for RS/PS/ES/EdDSA tokens"),
  optional("auth.public_key_file", "path", "File holding the PEM public key (read at start)"),
  optional("auth.jwks_url", "url", "JWKS endpoint for public keys (http or https)"),
  enumList(
    "auth.algorithms",
    JWT_ALGORITHMS,
    "Accepted JWT algorithms; [] = every one the configured keys allow",
  ),
  optional("auth.audience", "string", "Required `aud` claim"),
  optional("auth.issuer", "string", "Required `iss` claim"),

  bool("sync.enabled", true, "Serve Yjs documents (`/yjs/{room}`, `sync.*` RPCs, `/sync/` API)"),
  text("sync.database", "path", ".switchyard/sync.db", "SQLite file of the documents"),
  oneOf(
    "sync.synchronous",
    ["full", "normal"] as const,
    "full",
    "full = an update survives power loss once acknowledged; normal = survives a crash only",
  ),
  oneOf(
    "sync.anonymous",
    ["auto", "rw", "r", "none"] as const,
    "auto",
    "Access of clients without a token; auto = rw with no auth key configured, else none",
  ),
  int("sync.max_doc_bytes", 10_485_760, [1024, 1_073_741_824], "Largest stored document"),
  int("sync.max_update_bytes", 1_048_576, [64, 67_108_864], "Largest single update"),
  int("sync.max_docs_loaded", 10_000, [1, 10_000_000], "Documents held in memory at once"),
  int(
    "sync.unload_after_ms",
    30_000,
    [0, 86_400_000],
    "Unload a document this long after its last client left",
  ),
  int(
    "sync.compact_after_updates",
    500,
    [1, 10_000_000],
    "Merge the update log into a snapshot after this many updates",
  ),

  bool(
    "gateway.enabled",
    false,
    "Run one dev server per session, under `/session/{id}/` or on its own host (`routing`)",
  ),
  optional(
    "gateway.command",
    "string",
    "Command template of a session's dev server, with `{id}`, `{port}` and `{dir}` (no shell); required when enabled",
  ),
  text(
    "gateway.cwd",
    "string",
    ".",
    "Working-directory template of a session (`{id}`, `{port}`); `{dir}` in the command is this",
  ),
  optional(
    "gateway.env",
    "string",
    'Extra environment of each session, `"K=V K2={id}"`, split and quoted like the command',
  ),
  text(
    "gateway.ready",
    "string",
    "tcp",
    'Readiness check: `"tcp"` (the port accepts) or an HTTP path such as `"/session/{id}/"`',
  ),
  int("gateway.ready_timeout_ms", 60_000, [100, 3_600_000], "A session not ready by then fails"),
  int(
    "gateway.idle_timeout_ms",
    600_000,
    [1000, 7 * DAY_MS],
    "Stop a session after this long without requests (never while a WebSocket is open)",
  ),
  int("gateway.max_sessions", 20, [1, 10_000], "Sessions running at once"),
  text(
    "gateway.port_range",
    "string",
    "41000-41999",
    'Loopback ports for the dev servers, `"LOW-HIGH"` (both included)',
  ),
  bool("gateway.start_on_request", true, "Start a session when a request for it arrives"),
  oneOf(
    "gateway.routing",
    ["path", "subdomain"] as const,
    "path",
    "path = `/session/{id}/…` on this server's host; subdomain = every path of the host " +
      "`{id}.` + `subdomain_suffix`, unchanged (dev server with base `/`), and no `/session/`",
  ),
  optional(
    "gateway.subdomain_suffix",
    "string",
    "Domain whose subdomains are sessions: `{id}.dev.example.com` for `dev.example.com`; " +
      'required with `routing = "subdomain"`',
  ),
  bool(
    "gateway.anonymous",
    false,
    "Open every session, and the API to loopback clients, without a token (local use only); else a JWT `sessions` claim must name the session",
  ),
] as const;

/**
 * Settings of one namespace, by leaf name. They apply under
 * `[namespaces.NAME]` and, for channels without a namespace, under `[channels]`.
 */
export const NAMESPACE_FIELDS = [
  int("history_size", 0, [0, 1_000_000], "Publications kept per channel for recovery"),
  int("history_ttl_ms", 300_000, [1000, 30 * DAY_MS], "How long history is kept"),
  bool("presence", false, "Track who is subscribed"),
  bool("join_leave", false, "Send join and leave events"),
  bool("publish", true, "Clients may publish"),
  oneOf(
    "subscribe",
    SUBSCRIBE_MODES,
    "public",
    "Who may subscribe; private = needs a subscription token or a `channels` claim",
  ),
  bool("recover", true, "Replay missed publications on resume"),
] as const;

/** `[section]` tables of `switchyard.toml` with their one-line description. */
export const SECTIONS = {
  session: "Sessions survive transport switches for `grace_ms`.",
  limits: "Per-node, per-session and per-connection limits.",
  auth: "Connection tokens (JWT).",
  sync: "Yjs document sync: storage, access of anonymous clients, limits.",
  gateway:
    "Session gateway: one dev-server process per session, proxied under `/session/{id}/` or from `{id}.` + `subdomain_suffix`.",
  channels: "Options of channels without a namespace (`lobby`, not `chat:lobby`).",
  namespaces: "One `[namespaces.NAME]` table per namespace: the part before `:` in `NAME:channel`.",
} as const;

/** Namespace names in `[namespaces.NAME]`. */
export const NAMESPACE_NAME = /^[a-z0-9_-]+$/;

/** Every field an environment variable or flag can set: {@link FIELDS} plus `channels.*`. */
export const ALL_FIELDS: readonly Field[] = [
  ...FIELDS,
  ...NAMESPACE_FIELDS.map((field): Field => ({ ...field, key: `channels.${field.key}` })),
];

/** The environment variable of a field: `limits.max_message_bytes` → `SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES`. */
export function envName(key: string): string {
  return `SWITCHYARD_${key.replaceAll(".", "_").toUpperCase()}`;
}

/** snake_case → camelCase: `max_message_bytes` → `maxMessageBytes`. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** snake_case → camelCase at the type level: `"max_message_bytes"` → `"maxMessageBytes"`. */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/** The type of a field's value in `Config`. */
export type FieldValue<F> = F extends Field<string, infer T> ? T : never;

/** Any field of {@link FIELDS}, with its literal key and value type. */
export type SchemaField = (typeof FIELDS)[number];

/** Settings of the top-level table. */
export type TopLevelConfig = {
  readonly [
    F in SchemaField as F["key"] extends `${string}.${string}` ? never : CamelCase<F["key"]>
  ]: FieldValue<F>;
};

/** Settings of one `[section]`, camelCased. */
export type SectionConfig<P extends keyof typeof SECTIONS> = {
  readonly [F in SchemaField as F["key"] extends `${P}.${infer L}` ? CamelCase<L> : never]:
    FieldValue<F>;
};

/** Options of one namespace (or of `[channels]`), defaults filled in. */
export type NamespaceConfig = {
  readonly [F in (typeof NAMESPACE_FIELDS)[number] as CamelCase<F["key"]>]: FieldValue<F>;
};
