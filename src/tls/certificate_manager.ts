/**
 * Keeps a fresh leaf certificate for the server and renews it without a restart.
 *
 * @module
 */

import { join } from "node:path";
import {
  CertificateAuthority,
  CLOCK_SKEW_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  MAX_LEAF_VALIDITY_MS,
} from "./certificate_authority.ts";
import { CertificateError } from "./certificate_error.ts";
import { readTextIfExists, writeTextAtomic } from "./_files.ts";
import {
  type CertificateHash,
  type LeafCertificate,
  leafSubjectAltNames,
  parseLeafCertificate,
} from "./leaf_certificate.ts";

/** Renew when less than this much validity is left: 3 days. */
export const DEFAULT_RENEW_BEFORE_MS: number = 3 * 24 * 3_600_000;
/** Longest wait between two expiry checks of a started manager: 1 hour. */
export const DEFAULT_CHECK_INTERVAL_MS: number = 3_600_000;
/** Wait before retrying a renewal that failed: 1 minute (or the check interval if shorter). */
const RETRY_MS = 60_000;
/** Longest delay setTimeout honours; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** File name of the current leaf certificate (PEM) in the cert directory. */
export const LEAF_CERT_FILE = "leaf.crt";
/** File name of the current leaf key (PEM PKCS#8, mode 0600) in the cert directory. */
export const LEAF_KEY_FILE = "leaf.key";

/** Options of {@linkcode CertificateManager.open}. */
export interface CertificateManagerOptions {
  /** Cert directory: holds `ca.crt`, `ca.key`, `leaf.crt`, `leaf.key`. Created if missing. */
  dir: string;
  /** Names and addresses the leaf covers besides `localhost`, `127.0.0.1` and `::1`. */
  hostnames?: readonly string[];
  /** Renew when less than this many ms of validity remain. Default 3 days. */
  renewBeforeMs?: number;
  /** Leaf validity (`notAfter - notBefore`) in ms, under 14 days. Default 10 days. */
  validityMs?: number;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Longest wait between two expiry checks after {@linkcode CertificateManager.start}. Default 1 hour. */
  checkIntervalMs?: number;
}

/**
 * Called after a renewal with the new leaf and the one it replaced. The server swaps its TLS and
 * QUIC certificates here; the renewal waits for a returned promise. A throw or rejection is
 * reported to the {@linkcode CertificateManager.onError} listeners and does not undo the renewal.
 */
export type RenewListener = (
  current: LeafCertificate,
  previous: LeafCertificate,
) => void | Promise<void>;

/**
 * Owns the cert directory: opens (or creates) the CA, reuses the persisted leaf while it has more
 * than `renewBeforeMs` left, and renews it — on demand with {@linkcode renewIfDue}, or on a timer
 * after {@linkcode start} — telling {@linkcode onRenew} listeners so the server can swap certificates.
 *
 * Several processes may share one cert directory: a process that finds a fresh leaf on disk at
 * renewal time adopts it instead of issuing another.
 *
 * @example
 * ```ts
 * import { CertificateManager } from "./mod.ts";
 * const certs = await CertificateManager.open({ dir: ".switchyard/certs" });
 * const { certPem, keyPem, hash } = certs.current;
 * console.log("serverCertificateHashes value (base64):", hash.base64);
 * certs.onRenew((leaf) => console.log("new leaf until", leaf.notAfter));
 * certs.start();
 * // … on shutdown:
 * await certs.stop();
 * ```
 */
export class CertificateManager {
  readonly #config: Config;
  readonly #renewListeners = new Set<RenewListener>();
  readonly #errorListeners = new Set<(error: unknown) => void>();
  #current: LeafCertificate;
  #previous: LeafCertificate | undefined;
  #renewing: Promise<boolean> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #started = false;

  private constructor(config: Config, current: LeafCertificate) {
    this.#config = config;
    this.#current = current;
  }

  /**
   * Opens the cert directory, creating it, the CA and a leaf as needed. Throws
   * {@linkcode CertificateError} when the directory cannot be created, the CA files are unusable,
   * a hostname is malformed or an option is out of range.
   */
  static async open(options: CertificateManagerOptions): Promise<CertificateManager> {
    const full = {
      dir: options.dir,
      hostnames: options.hostnames ?? [],
      renewBeforeMs: options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS,
      validityMs: options.validityMs ?? DEFAULT_LEAF_VALIDITY_MS,
      now: options.now ?? Date.now,
      checkIntervalMs: options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS,
    };
    const { renewBeforeMs, validityMs, checkIntervalMs } = full;
    if (!(validityMs > CLOCK_SKEW_MS && validityMs <= MAX_LEAF_VALIDITY_MS)) {
      throw new CertificateError(
        "ERR_BAD_OPTION",
        `Cannot use validityMs ${validityMs}: choose more than one hour and less than 14 days`,
      );
    }
    if (!(renewBeforeMs >= 0 && renewBeforeMs < validityMs - CLOCK_SKEW_MS)) {
      throw new CertificateError(
        "ERR_BAD_OPTION",
        `Cannot use renewBeforeMs ${renewBeforeMs}: choose at least 0 and less than validityMs ` +
          `(${validityMs}) minus one hour, or every new leaf would be due at once`,
      );
    }
    if (!(checkIntervalMs > 0 && checkIntervalMs <= MAX_TIMER_MS)) {
      throw new CertificateError(
        "ERR_BAD_OPTION",
        `Cannot use checkIntervalMs ${checkIntervalMs}: choose a positive number up to ${MAX_TIMER_MS}`,
      );
    }
    leafSubjectAltNames(full.hostnames); // throws ERR_BAD_HOSTNAME before the disk is touched
    const ca = await CertificateAuthority.open(full.dir, { now: full.now() });
    const config: Config = { ...full, ca };
    const leaf = (await loadFreshLeaf(config)) ?? (await issueAndPersist(config));
    return new CertificateManager(config, leaf);
  }

  /** The CA certificate in PEM, for HTTPS clients that verify the chain instead of a hash. */
  get caCertPem(): string {
    return this.#config.ca.certPem;
  }

  /** The leaf the server should present now. */
  get current(): LeafCertificate {
    return this.#current;
  }

  /**
   * Hashes a WebTransport client should pass: the current leaf's, then the previous leaf's while
   * it is still valid, for whatever still presents the old leaf during a rotation (a listener not
   * yet swapped, another process sharing the directory). A client that holds only the old hash
   * must fetch this list again after a rotation: a listener presents one leaf at a time.
   */
  get hashes(): CertificateHash[] {
    const previous = this.#previous;
    const keep = previous !== undefined && previous.notAfter.getTime() > this.#config.now();
    return keep ? [this.#current.hash, previous.hash] : [this.#current.hash];
  }

  /**
   * Renews the leaf when less than `renewBeforeMs` of validity remain, and resolves `true` once
   * the new leaf is persisted, current, and every {@linkcode onRenew} listener has finished.
   * Resolves `false` when no renewal was due. Concurrent calls share one renewal.
   */
  renewIfDue(): Promise<boolean> {
    if (this.#renewing) return this.#renewing;
    if (this.#msUntilDue() > 0) return Promise.resolve(false);
    this.#renewing = this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /**
   * Checks for renewal on a timer until {@linkcode stop}: at the due time, and at least every
   * `checkIntervalMs` so a suspended machine or a clock change is noticed. Calling it twice is
   * harmless. The timer does not keep the process alive.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(++this.#generation, 0);
  }

  /** Stops the timer and resolves once a renewal in progress has finished. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#renewing?.catch(() => {});
  }

  /** Adds a renewal listener; returns a function that removes it. */
  onRenew(listener: RenewListener): () => void {
    this.#renewListeners.add(listener);
    return () => this.#renewListeners.delete(listener);
  }

  /**
   * Adds a listener for errors of timer-driven renewals and of renewal listeners; returns a
   * function that removes it. Without any, such errors go to `console.error`.
   */
  onError(listener: (error: unknown) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  #msUntilDue(): number {
    const { renewBeforeMs, now } = this.#config;
    return this.#current.notAfter.getTime() - renewBeforeMs - now();
  }

  /** `generation` stops a timer chain that a stop() and start() during a renewal replaced. */
  #schedule(generation: number, delayMs: number): void {
    if (!this.#started || generation !== this.#generation) return;
    const timer = setTimeout(async () => {
      this.#timer = undefined;
      let next: number;
      try {
        await this.renewIfDue();
        next = Math.min(Math.max(this.#msUntilDue(), 0), this.#config.checkIntervalMs);
      } catch (error) {
        this.#report(error);
        next = Math.min(RETRY_MS, this.#config.checkIntervalMs);
      }
      this.#schedule(generation, next);
    }, delayMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  async #renew(): Promise<boolean> {
    const previous = this.#current;
    const next = (await loadFreshLeaf(this.#config, previous)) ??
      (await issueAndPersist(this.#config));
    this.#previous = previous;
    this.#current = next;
    for (const listener of [...this.#renewListeners]) {
      try {
        await listener(next, previous);
      } catch (error) {
        this.#report(error);
      }
    }
    return true;
  }

  #report(error: unknown): void {
    if (this.#errorListeners.size === 0) {
      console.error("Certificate renewal failed:", error);
      return;
    }
    for (const listener of this.#errorListeners) listener(error);
  }
}

interface Config extends Required<CertificateManagerOptions> {
  ca: CertificateAuthority;
}

/**
 * The persisted leaf if this CA signed it, it covers the hostnames, is not yet due and is not
 * `current` (a fresher leaf another process sharing the directory wrote); else undefined.
 */
async function loadFreshLeaf(
  config: Config,
  current?: LeafCertificate,
): Promise<LeafCertificate | undefined> {
  try {
    const certPem = await readTextIfExists(join(config.dir, LEAF_CERT_FILE));
    const keyPem = await readTextIfExists(join(config.dir, LEAF_KEY_FILE));
    if (certPem === undefined || keyPem === undefined) return undefined;
    const { leaf } = await parseLeafCertificate(certPem, keyPem);
    const now = config.now();
    const notBefore = leaf.notBefore.getTime();
    const notAfter = leaf.notAfter.getTime();
    const fresh = notBefore <= now && notAfter - config.renewBeforeMs > now &&
      notAfter - notBefore <= MAX_LEAF_VALIDITY_MS;
    if (!fresh || leaf.hash.base64 === current?.hash.base64) return undefined;
    return (await config.ca.verify(leaf, config.hostnames)) ? leaf : undefined;
  } catch {
    // A corrupt, mismatched or foreign leaf is replaced: it holds nothing worth keeping.
    return undefined;
  }
}

async function issueAndPersist(config: Config): Promise<LeafCertificate> {
  const leaf = await config.ca.issue({
    hostnames: config.hostnames,
    validityMs: config.validityMs,
    now: config.now(),
  });
  // Two renames, so a concurrent reader may pair the new key with the old certificate:
  // loadFreshLeaf() checks that they match and issues its own leaf when they do not.
  await writeTextAtomic(join(config.dir, LEAF_KEY_FILE), leaf.keyPem, 0o600);
  await writeTextAtomic(join(config.dir, LEAF_CERT_FILE), leaf.certPem, 0o644);
  return leaf;
}
