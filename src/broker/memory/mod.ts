/**
 * The in-memory broker.
 *
 * @module
 */
export { MemoryBroker, type MemoryBrokerOptions } from "./memory_broker.ts";
