/**
 * A grpc-js certificate provider over files that are re-read when they change, so certificates
 * are rotated without a restart (new connections get the new one; open ones keep theirs).
 *
 * grpc-js's own FileWatcherCertificateProvider hands on whatever it read: a certificate renamed
 * into place before its key, or a file caught half-written, makes the server drop every new
 * connection until the files match again. This one hands on a set only once it has been checked
 * whole (certificate-set.ts) and otherwise keeps serving the last good set, saying why once.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { experimental } from '@grpc/grpc-js';
import type { CertificateFilesError } from './certificate-files-error';
import { type CertificateSet, readCertificateSet } from './certificate-set';
import type { TlsFiles } from './tls-files';

/** How often the files' metadata is looked at: rotation is rare, one stat per file a second is nothing. */
export const CERTIFICATE_RELOAD_MS = 1_000;

export interface ReloadEvents {
  reloaded(set: CertificateSet): void;
  /** A changed set could not be used (said once per distinct reason); the last good set stays. */
  rejected(error: CertificateFilesError): void;
}

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class ReloadingCertificates implements experimental.CertificateProvider {
  private current: CertificateSet;
  private stamp: string;
  private lastRejection: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  /** Reads the files now: throws CertificateFilesError if they cannot be used at start. */
  constructor(
    readonly files: TlsFiles,
    private readonly events: ReloadEvents,
    private readonly everyMs = CERTIFICATE_RELOAD_MS,
  ) {
    this.stamp = this.metadata();
    this.current = readCertificateSet(files);
  }

  get certificates(): CertificateSet {
    return this.current;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.watch();
    process.nextTick(listener, this.caUpdate());
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unwatchIfUnused();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.watch();
    process.nextTick(listener, this.identityUpdate());
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unwatchIfUnused();
  }

  /** Looks at the files once; exposed so a test need not wait for the timer. */
  check(): void {
    const stamp = this.metadata();
    if (stamp === this.stamp) return;
    let next: CertificateSet;
    try {
      next = readCertificateSet(this.files);
    } catch (error) {
      const rejection = error as CertificateFilesError;
      if (rejection.message !== this.lastRejection) this.events.rejected(rejection);
      this.lastRejection = rejection.message;
      return; // stamp kept: the next look reads again (the missing half may land any moment)
    }
    this.stamp = stamp;
    this.lastRejection = undefined;
    const changed =
      !next.certificate.equals(this.current.certificate) ||
      !next.privateKey.equals(this.current.privateKey) ||
      !(next.ca ?? Buffer.alloc(0)).equals(this.current.ca ?? Buffer.alloc(0));
    if (!changed) return;
    this.current = next;
    this.events.reloaded(next);
    for (const listener of this.identityListeners) listener(this.identityUpdate());
    for (const listener of this.caListeners) listener(this.caUpdate());
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    // Without --tls-ca, servers this program connects to are checked against the system's roots.
    return { caCertificate: this.current.ca ?? Buffer.from(tls.rootCertificates.join('\n')) };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: this.current.certificate, privateKey: this.current.privateKey };
  }

  /** Inode, size and mtime of each file: a rename into place or a rewrite changes it. */
  private metadata(): string {
    const { certFile, keyFile, caFile } = this.files;
    return [certFile, keyFile, caFile]
      .map((file) => {
        if (file === undefined) return '-';
        try {
          const s = fs.statSync(file);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }

  private watch(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), this.everyMs);
    this.timer.unref(); // never what keeps a process alive
  }

  private unwatchIfUnused(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
