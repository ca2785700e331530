/** A certificate, key or CA file that cannot be used: unreadable, not PEM, or a key of another certificate. */
export class CertificateFilesError extends Error {
  override readonly name = 'CertificateFilesError';

  constructor(
    /** Which file is at fault: the configuration key follows from it (tlsCert, tlsKey, tlsCa). */
    readonly file: 'cert' | 'key' | 'ca',
    message: string,
  ) {
    super(message);
  }
}
