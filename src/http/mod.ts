/**
 * The HTTP side of Switchyard: HTTPS (h1 + h2) and WebTransport on one port
 * number, optional plain HTTP, the transports' endpoints, health checks and
 * an extension point for everything else.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./mod.ts";
 * import { CertificateManager } from "../tls/mod.ts";
 * declare const hub: import("../core/mod.ts").Hub;
 * const certificates = await CertificateManager.open({ dir: ".switchyard/certs" });
 * const server = await startServer({ hub, certificates, port: 4433, httpPort: 4480 });
 * server.addRoute("GET", "/metrics", () => new Response("# metrics"));
 * await server.close();
 * ```
 *
 * @module
 */

export {
  type CertificateSource,
  type HttpServer,
  type ServerOptions,
  startServer,
} from "./server.ts";
export {
  type BootstrapDocument,
  bootstrapDocument,
  type BootstrapInput,
  PATHS,
} from "./bootstrap.ts";
export {
  corsHeaders,
  jsonError,
  preflightResponse,
  SECURITY_HEADERS,
  withHeaders,
} from "./headers.ts";
export { hostnameOf, OriginPatternError, OriginPolicy } from "./origin_policy.ts";
export { bindPort, type BindPortOptions, PORT_ATTEMPTS, PortInUseError } from "./ports.ts";
export { type HostMatcher, type RequestContext, type RouteHandler, Router } from "./router.ts";
export {
  checkRequestPath,
  contentType,
  createStaticServer,
  type StaticHandler,
  type StaticServerOptions,
} from "./static_server.ts";
