/**
 * The channel namespaces of document sync and their guards: `sync:<doc>`
 * carries a document's committed updates, `awareness:<doc>` its clients'
 * awareness. Kept apart from the rest of the service because the hub needs
 * them at creation, before Yjs is loaded (it loads on first use).
 *
 * @module
 */

import {
  DEFAULT_NAMESPACE,
  type NamespaceOptions,
  type SubscriberInfo,
  SwitchyardError,
} from "../../core/mod.ts";
import { docAccess } from "./access.ts";
import { channelDoc } from "./doc_channel.ts";
import type { DocAccess } from "./types.ts";

/** Channel namespace of document updates. */
export const SYNC_CHANNEL_PREFIX = "sync:";

/** Namespace options of `sync:<doc>`; `guard` checks read access. */
export function syncNamespace(anonymous: DocAccess): NamespaceOptions {
  return {
    ...DEFAULT_NAMESPACE,
    historySize: 1000,
    historyTtlMs: 600_000,
    publish: false,
    guard: (channel: string, who: SubscriberInfo) => {
      const doc = channelDoc(SYNC_CHANNEL_PREFIX, channel);
      if (doc === null || accessOf(who.user, who.claims, doc, anonymous) === "none") {
        throw new SwitchyardError("ERR_FORBIDDEN", `No access to document "${doc}"`);
      }
    },
  };
}

/** Channel namespace of awareness (cursors, names): `awareness:<doc>`. */
export const AWARENESS_CHANNEL_PREFIX = "awareness:";

/**
 * Namespace options of `awareness:<doc>`: clients publish their y-protocols awareness updates,
 * nothing is kept, and presence with join/leave tells who is there, so a client's states are
 * removed when it leaves. Clients send theirs with the `sync.awareness` RPC (the server also
 * hands them to y-websocket clients); `guard` checks read access (a reader may show its cursor).
 */
export function awarenessNamespace(anonymous: DocAccess): NamespaceOptions {
  return {
    ...DEFAULT_NAMESPACE,
    historySize: 0,
    presence: true,
    joinLeave: true,
    publish: false,
    guard: (channel: string, who: SubscriberInfo) => {
      const doc = channelDoc(AWARENESS_CHANNEL_PREFIX, channel);
      if (doc === null || accessOf(who.user, who.claims, doc, anonymous) === "none") {
        throw new SwitchyardError("ERR_FORBIDDEN", `No access to document "${doc}"`);
      }
    },
  };
}

/** What a subscriber or caller may do with `doc`; `user === ""` is an anonymous client. */
export function accessOf(
  user: string,
  claims: Readonly<Record<string, unknown>>,
  doc: string,
  anonymous: DocAccess,
): DocAccess {
  return docAccess(user === "" ? undefined : claims, doc, anonymous);
}
