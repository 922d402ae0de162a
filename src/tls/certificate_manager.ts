/**
 * Keeps a fresh leaf certificate for the server and renews it without a restart.
 *
 * @module
 */

import { join } from "node:path";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CertificateAuthority,
  CLOCK_SKEW_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  loadCertificateAuthority,
  MAX_LEAF_VALIDITY_MS,
} from "./certificate_authority.ts";
import { CertificateError } from "./certificate_error.ts";
import { readTextIfExists, writeTextAtomic } from "./_files.ts";
import {
  type CertificateFacts,
  formatLeafRecord,
  hashCertificate,
  type HashedCertificate,
  isRecordedCa,
  type LeafRecord,
  leafRecordOf,
  parseLeafRecord,
  recordedLeaf,
} from "./_leaf_record.ts";
import {
  type CertificateHash,
  type LeafCertificate,
  leafSubjectAltNames,
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
/**
 * File name of the record of the current leaf and its CA (JSON, no secrets) in the cert
 * directory: validity, names, public keys and SHA-256 of each certificate, which lets a restart
 * reuse the leaf without loading an X.509 parser. Rewritten when it does not match the files.
 */
export const LEAF_RECORD_FILE = "leaf.json";

/** Options of {@linkcode CertificateManager.open}. */
export interface CertificateManagerOptions {
  /**
   * Cert directory: holds `ca.crt`, `ca.key`, `leaf.crt`, `leaf.key` and `leaf.json`. Created if
   * missing.
   */
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
   *
   * A warm start — `leaf.json` matches `leaf.crt`, `leaf.key` and `ca.crt`, the CA is valid, its
   * key is a P-256 key that matches the CA certificate, and the leaf is fresh and covers the
   * hostnames — uses WebCrypto only and loads no X.509 library. Anything else, from a missing
   * `leaf.json` to a corrupt `ca.key`, takes the full path, which checks every file with the X.509
   * library, reports CA problems with the same errors, and issues a leaf when needed. The CA is
   * parsed only when a leaf must be issued or checked in full, from the texts read here: files
   * changed later are seen at the next start.
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
    const warm = await openRecorded(full);
    if (warm !== undefined) return new CertificateManager({ ...full, ca: warm.ca }, warm.leaf);
    const ca = await CertificateAuthority.open(full.dir, { now: full.now() });
    const config: Config = { ...full, ca: await CaHandle.of(ca) };
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

type Options = Required<CertificateManagerOptions>;

interface Config extends Options {
  ca: CaHandle;
}

/**
 * The CA the manager opened: its certificate at once, the parsed CA — and with it the X.509
 * library — only when a leaf must be issued or checked in full. A failed load is retried next time.
 */
class CaHandle {
  /** The CA certificate in PEM. */
  readonly certPem: string;
  /** SHA-256 of its DER, base64: what `leaf.json` names the CA by. */
  readonly sha256: string;
  readonly #load: () => Promise<CertificateAuthority>;
  #loaded: Promise<CertificateAuthority> | undefined;
  #facts: Promise<CertificateFacts> | undefined;

  /** `facts` is what a matching `leaf.json` says about the CA, when there is one. */
  constructor(
    cert: HashedCertificate,
    load: () => Promise<CertificateAuthority>,
    facts?: CertificateFacts,
  ) {
    this.certPem = cert.certPem;
    this.sha256 = cert.sha256;
    this.#load = load;
    this.#facts = facts && Promise.resolve(facts);
  }

  /** A handle on a CA that is already loaded. */
  static async of(ca: CertificateAuthority): Promise<CaHandle> {
    return new CaHandle(await hashCertificate(ca.certPem), () => Promise.resolve(ca));
  }

  /** The parsed CA, loaded on the first call. */
  load(): Promise<CertificateAuthority> {
    this.#loaded ??= this.#load().catch((error) => {
      this.#loaded = undefined;
      throw error;
    });
    return this.#loaded;
  }

  /** What `leaf.json` records about the CA; parsed once, if no record said it already. */
  facts(): Promise<CertificateFacts> {
    this.#facts ??= import("./_x509.ts").then((lib) => lib.certificateFacts(this.certPem));
    return this.#facts;
  }
}

/**
 * The warm start: the CA and the leaf when `leaf.json` vouches for the files, the CA files are
 * the ones it names and still valid, and the leaf is usable — with WebCrypto only. `undefined`
 * sends open() down the full path, which repeats every check and reports CA problems.
 */
async function openRecorded(
  options: Options,
): Promise<{ ca: CaHandle; leaf: LeafCertificate } | undefined> {
  const { dir, now } = options;
  try {
    const record = await readLeafRecord(dir);
    if (record === undefined) return undefined;
    const pems = {
      certPem: await Deno.readTextFile(join(dir, CA_CERT_FILE)),
      keyPem: await Deno.readTextFile(join(dir, CA_KEY_FILE)),
    };
    const cert = await hashCertificate(pems.certPem);
    if (!(await isRecordedCa(record, { cert, keyPem: pems.keyPem }, now()))) return undefined;
    const load = () => loadCertificateAuthority(dir, pems, { now: now() });
    const ca = new CaHandle(cert, load, record.ca);
    const config: Config = { ...options, ca };
    const leaf = await readRecordedLeaf(config, record);
    return leaf !== undefined && isUsable(config, leaf) ? { ca, leaf } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The persisted leaf if this CA signed it, it covers the hostnames, is not yet due and is not
 * `current` (a fresher leaf another process sharing the directory wrote); else undefined. When
 * `leaf.json` vouches for the files it decides alone; otherwise the files are checked in full and
 * a usable leaf gets a new `leaf.json`. Rejects only when the CA cannot be loaded.
 */
async function loadFreshLeaf(
  config: Config,
  current?: LeafCertificate,
): Promise<LeafCertificate | undefined> {
  const recorded = await readRecordedLeaf(config).catch(() => undefined);
  if (recorded !== undefined) return isUsable(config, recorded, current) ? recorded : undefined;

  const files = await readLeafFiles(config.dir).catch(() => undefined);
  if (files === undefined) return undefined;
  const ca = await config.ca.load();
  let leaf: LeafCertificate;
  try {
    const { parseLeafCertificate } = await import("./_x509.ts");
    ({ leaf } = await parseLeafCertificate(files.certPem, files.keyPem));
    if (!isUsable(config, leaf, current) || !(await ca.verify(leaf, config.hostnames))) {
      return undefined;
    }
  } catch {
    // A corrupt, mismatched or foreign leaf is replaced: it holds nothing worth keeping.
    return undefined;
  }
  // Only a cache: a read-only cert directory with a fresh leaf still works, as before leaf.json.
  await writeLeafRecord(config, leaf).catch(() => {});
  return leaf;
}

/** Whether `leaf` is fresh, within the validity limit, not `current`, and covers the hostnames. */
function isUsable(config: Config, leaf: LeafCertificate, current?: LeafCertificate): boolean {
  const now = config.now();
  const notBefore = leaf.notBefore.getTime();
  const notAfter = leaf.notAfter.getTime();
  const fresh = notBefore <= now && notAfter - config.renewBeforeMs > now &&
    notAfter - notBefore <= MAX_LEAF_VALIDITY_MS;
  if (!fresh || leaf.hash.base64 === current?.hash.base64) return false;
  const have = new Set(leaf.hostnames);
  return leafSubjectAltNames(config.hostnames).every((san) => have.has(san.value));
}

async function readLeafRecord(dir: string): Promise<LeafRecord | undefined> {
  const text = await readTextIfExists(join(dir, LEAF_RECORD_FILE));
  return text === undefined ? undefined : parseLeafRecord(text);
}

async function readLeafFiles(
  dir: string,
): Promise<{ certPem: string; keyPem: string } | undefined> {
  const certPem = await readTextIfExists(join(dir, LEAF_CERT_FILE));
  const keyPem = await readTextIfExists(join(dir, LEAF_KEY_FILE));
  return certPem === undefined || keyPem === undefined ? undefined : { certPem, keyPem };
}

/** The leaf on disk when `leaf.json` vouches for it and names this CA; else undefined. */
async function readRecordedLeaf(
  config: Config,
  known?: LeafRecord,
): Promise<LeafCertificate | undefined> {
  const record = known ?? (await readLeafRecord(config.dir));
  if (record === undefined) return undefined;
  const files = await readLeafFiles(config.dir);
  if (files === undefined) return undefined;
  return await recordedLeaf(record, files, config.ca.sha256);
}

async function writeLeafRecord(config: Config, leaf: LeafCertificate): Promise<void> {
  const text = formatLeafRecord(await leafRecordOf(leaf, await config.ca.facts()));
  await writeTextAtomic(join(config.dir, LEAF_RECORD_FILE), text, 0o644);
}

async function issueAndPersist(config: Config): Promise<LeafCertificate> {
  const ca = await config.ca.load();
  const leaf = await ca.issue({
    hostnames: config.hostnames,
    validityMs: config.validityMs,
    now: config.now(),
  });
  // Key, certificate, then record, each renamed into place: a concurrent reader may pair the new
  // key with the old certificate, or the new certificate with the old record. Both mismatches are
  // caught — the key is checked against the certificate (or the record), the record by hash — and
  // the reader checks the files in full or issues its own leaf.
  await writeTextAtomic(join(config.dir, LEAF_KEY_FILE), leaf.keyPem, 0o600);
  await writeTextAtomic(join(config.dir, LEAF_CERT_FILE), leaf.certPem, 0o644);
  await writeLeafRecord(config, leaf);
  return leaf;
}
