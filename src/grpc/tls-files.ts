/** Which files a TLS port (and the same program's clients) uses, as the configuration names them. */
export interface TlsFiles {
  /** PEM certificate chain this program presents, to its clients and as a client. */
  readonly certFile: string;
  /** PEM private key of that certificate. */
  readonly keyFile: string;
  /**
   * PEM CA bundle: client certificates are checked against it, and so are the servers this
   * program connects to. Absent: no client certificate is asked for, and servers are checked
   * against the system's roots.
   */
  readonly caFile: string | undefined;
  /** Refuse a client that presents no certificate from the CA (mTLS). Needs `caFile`. */
  readonly requireClientCert: boolean;
}

/** A program's transport, as its configuration decided it. */
export interface TransportSettings {
  /** Undefined: plaintext (loopback, or a non-loopback address allowed by --insecure). */
  readonly tls: TlsFiles | undefined;
  /** Plaintext on an address other hosts can reach, allowed by --insecure: warned about at start. */
  readonly insecureListen: boolean;
}
