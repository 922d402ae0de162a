/**
 * A local certificate authority: created once in the cert directory, then reused to sign
 * short-lived leaf certificates.
 *
 * @module
 */

import { join } from "node:path";
import type { X509Certificate } from "@peculiar/x509";
import { CertificateError } from "./certificate_error.ts";
import { ensureCertDir, readTextIfExists, reason, writeTextAtomic } from "./_files.ts";
import { ECDSA_P256, generateKeyPair, privateKeyFromPem, privateKeyToPem } from "./_keys.ts";
import { type LeafCertificate, leafSubjectAltNames } from "./leaf_certificate.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How far `notBefore` is set in the past, so a peer whose clock is behind still accepts. */
export const CLOCK_SKEW_MS: number = HOUR_MS;
/** Validity of a new CA certificate: about ten years. */
export const CA_VALIDITY_MS: number = 3653 * DAY_MS;
/**
 * Longest leaf validity: one second under two weeks, the most Chromium accepts for
 * `serverCertificateHashes` (certificate times have whole seconds).
 */
export const MAX_LEAF_VALIDITY_MS: number = 14 * DAY_MS - 1000;
/** Default leaf validity (`notAfter - notBefore`). */
export const DEFAULT_LEAF_VALIDITY_MS: number = 10 * DAY_MS;

/** File name of the CA certificate (PEM) in the cert directory. */
export const CA_CERT_FILE = "ca.crt";
/** File name of the CA private key (PEM PKCS#8, mode 0600) in the cert directory. */
export const CA_KEY_FILE = "ca.key";

/** Options of {@linkcode CertificateAuthority.issue}. */
export interface IssueOptions {
  /** Names and addresses added to `localhost`, `127.0.0.1` and `::1`. */
  hostnames?: readonly string[];
  /** `notAfter - notBefore` in ms; at most {@linkcode MAX_LEAF_VALIDITY_MS}. Default 10 days. */
  validityMs?: number;
  /** Issue time in ms since the epoch. Default `Date.now()`. */
  now?: number;
}

/** The private constructor, for {@linkcode loadCertificateAuthority}; set by a static block. */
let construct: (cert: X509Certificate, key: CryptoKey) => CertificateAuthority;

/**
 * An ECDSA P-256 certificate authority with `CA:TRUE` and `keyCertSign`, valid ~10 years.
 * Clients that should trust the server without certificate hashes trust {@linkcode certPem}.
 * Importing this module is cheap: the X.509 library (about 130 ms and 25 MB) is loaded with a
 * dynamic `import()` when a CA is first opened or generated.
 *
 * @example
 * ```ts
 * import { CertificateAuthority } from "./mod.ts";
 * const ca = await CertificateAuthority.open(".switchyard/certs");
 * const leaf = await ca.issue({ hostnames: ["dev.example.test"] });
 * Deno.serve({ port: 8443, cert: leaf.certPem, key: leaf.keyPem }, () => new Response("hi"));
 * ```
 */
export class CertificateAuthority {
  readonly #cert: X509Certificate;
  readonly #key: CryptoKey;

  static {
    construct = (cert, key) => new CertificateAuthority(cert, key);
  }

  private constructor(cert: X509Certificate, key: CryptoKey) {
    this.#cert = cert;
    this.#key = key;
  }

  /**
   * Loads the CA from `dir` (`ca.crt` + `ca.key`), or creates the directory and a new CA when
   * neither file exists. Throws {@linkcode CertificateError} naming the path and the fix when the
   * directory cannot be created or the files are unreadable, corrupt, mismatched or expired.
   */
  static async open(dir: string, options: { now?: number } = {}): Promise<CertificateAuthority> {
    const now = options.now ?? Date.now();
    await ensureCertDir(dir);
    const certPath = join(dir, CA_CERT_FILE);
    const keyPath = join(dir, CA_KEY_FILE);
    const fix = `delete the cert directory ${dir} to create a new CA`;
    const read = async (path: string, what: string) => {
      try {
        return await readTextIfExists(path);
      } catch (error) {
        throw new CertificateError(
          "ERR_CA_UNREADABLE",
          `Cannot read ${what} in ${path} (${reason(error)}): fix its permissions or ${fix}`,
          { cause: error },
        );
      }
    };
    const certPem = await read(certPath, "CA certificate");
    const keyPem = await read(keyPath, "CA key");

    if (certPem === undefined && keyPem === undefined) {
      const ca = await CertificateAuthority.generate({ now });
      await writeTextAtomic(keyPath, await ca.#keyPem(), 0o600);
      await writeTextAtomic(certPath, ca.certPem, 0o644);
      return ca;
    }
    return await loadCertificateAuthority(dir, { certPem, keyPem }, { now });
  }

  /** Creates a new CA in memory only (tests, or callers that persist it themselves). */
  static async generate(options: { now?: number } = {}): Promise<CertificateAuthority> {
    const now = options.now ?? Date.now();
    const { x509 } = await import("./_x509.ts");
    const keys = await generateKeyPair();
    const notBefore = new Date(now - CLOCK_SKEW_MS);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      // A unique subject: clients match issuer to subject by name, so two CAs sharing one would
      // make a leaf of one look like a bad signature of the other.
      name: `CN=Switchyard local CA ${notBefore.toISOString().slice(0, 10)} ${uniqueSuffix()}, ` +
        "O=Switchyard",
      notBefore,
      notAfter: new Date(notBefore.getTime() + CA_VALIDITY_MS),
      signingAlgorithm: ECDSA_P256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(cert, keys.privateKey);
  }

  /** The CA certificate in PEM: what an HTTPS client adds to its trusted roots. */
  get certPem(): string {
    return this.#cert.toString("pem");
  }

  /** End of the CA's validity. */
  get notAfter(): Date {
    return this.#cert.notAfter;
  }

  /**
   * Issues a new leaf: ECDSA P-256, `CA:FALSE`, `digitalSignature`, `serverAuth`, SAN for
   * `localhost`, `127.0.0.1`, `::1` and `options.hostnames`, valid `validityMs` from one hour
   * before `now`.
   */
  async issue(options: IssueOptions = {}): Promise<LeafCertificate> {
    const validityMs = options.validityMs ?? DEFAULT_LEAF_VALIDITY_MS;
    if (!(validityMs > CLOCK_SKEW_MS && validityMs <= MAX_LEAF_VALIDITY_MS)) {
      throw new CertificateError(
        "ERR_BAD_OPTION",
        `Cannot issue a leaf valid for ${validityMs} ms: choose more than one hour and less than ` +
          `14 days (browsers refuse longer for certificate hashes)`,
      );
    }
    const sans = leafSubjectAltNames(options.hostnames);
    const { x509, toLeafCertificate } = await import("./_x509.ts");
    // Whole seconds, as the certificate stores them, so notAfter - notBefore is exactly validityMs.
    const issuedAt = Math.floor((options.now ?? Date.now()) / 1000) * 1000;
    const notBefore = new Date(issuedAt - CLOCK_SKEW_MS);
    const keys = await generateKeyPair();
    const cert = await x509.X509CertificateGenerator.create({
      subject: new x509.Name([{ CN: [sans[0].value] }]),
      issuer: this.#cert.subjectName,
      notBefore,
      notAfter: new Date(notBefore.getTime() + validityMs),
      signingAlgorithm: ECDSA_P256,
      publicKey: keys.publicKey,
      signingKey: this.#key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ ...s }))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.#cert.publicKey),
      ],
    });
    return toLeafCertificate(cert, await privateKeyToPem(keys.privateKey));
  }

  /**
   * Whether this CA signed `leaf` and its SAN covers `localhost`, `127.0.0.1`, `::1` and every
   * name in `hostnames`. Decides whether a persisted leaf can be reused. Validity dates are not
   * checked here.
   */
  async verify(leaf: { certPem: string }, hostnames: readonly string[] = []): Promise<boolean> {
    const { x509, subjectAltNamesOf } = await import("./_x509.ts");
    const cert = new x509.X509Certificate(leaf.certPem);
    if (cert.issuer !== this.#cert.subject) return false;
    const ok = await cert.verify({ publicKey: this.#cert.publicKey, signatureOnly: true });
    if (!ok) return false;
    const have = new Set(subjectAltNamesOf(cert).map((s) => `${s.type}:${s.value}`));
    return leafSubjectAltNames(hostnames).every((s) => have.has(`${s.type}:${s.value}`));
  }

  #keyPem(): Promise<string> {
    return privateKeyToPem(this.#key);
  }
}

function uniqueSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/**
 * The CA in the PEM texts of `ca.crt` and `ca.key` of `dir` (`undefined` for a missing file), with
 * the checks and errors of {@linkcode CertificateAuthority.open} but no disk access. Not exported
 * from mod.ts: the manager checks these texts cheaply at startup and builds the CA from them only
 * when it must issue.
 */
export async function loadCertificateAuthority(
  dir: string,
  pems: { certPem: string | undefined; keyPem: string | undefined },
  options: { now: number },
): Promise<CertificateAuthority> {
  const { certPem, keyPem } = pems;
  const { now } = options;
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const fix = `delete the cert directory ${dir} to create a new CA`;
  const unreadable = (path: string, what: string, detail: string, cause?: unknown) =>
    new CertificateError(
      "ERR_CA_UNREADABLE",
      `Cannot read ${what} in ${path} (${detail}): ${fix}`,
      { cause },
    );
  if (keyPem === undefined) throw unreadable(keyPath, "CA key", "file missing");
  if (certPem === undefined) throw unreadable(certPath, "CA certificate", "file missing");

  const { x509, keyMatches } = await import("./_x509.ts");
  let cert: X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (error) {
    throw unreadable(certPath, "CA certificate", "not a PEM certificate", error);
  }
  if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca) {
    throw unreadable(certPath, "CA certificate", "not a CA certificate");
  }
  let key: CryptoKey;
  try {
    key = await privateKeyFromPem(keyPem);
  } catch (error) {
    throw unreadable(keyPath, "CA key", "not a PEM PKCS#8 ECDSA P-256 key", error);
  }
  if (!(await keyMatches(cert, key))) {
    throw unreadable(keyPath, "CA key", `does not match ${certPath}`);
  }
  if (now < cert.notBefore.getTime() || now >= cert.notAfter.getTime()) {
    throw new CertificateError(
      "ERR_CA_EXPIRED",
      `Cannot use CA certificate in ${certPath}: valid only from ${cert.notBefore.toISOString()} ` +
        `to ${cert.notAfter.toISOString()}: ${fix}`,
    );
  }
  return construct(cert, key);
}
