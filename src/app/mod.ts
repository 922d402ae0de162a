/**
 * A running Switchyard, assembled from configuration.
 *
 * @module
 */
export {
  DEMO_NAMESPACE,
  type StartOptions,
  startSwitchyard,
  type Switchyard,
} from "./switchyard.ts";
export { ClientBundle } from "./client_bundle.ts";
