/**
 * The store `witness serve` runs on, as configured: the embedded file store in --data-dir, or the
 * etcd store shared by witness replicas (design §20).
 */
import { circuitBreaker, ConsecutiveBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { EtcdSettings } from '../../config/etcd-options';
import type { DriftBounds } from '../../core/lease';
import type { Logger } from '../../log/logger';
import { etcdCallOptions, EtcdStore } from './etcd-store';
import { FileStore } from './file-store';
import type { WitnessStore } from './witness-store';

/** A replica that cannot reach etcd says so at most this often, not at every retry. */
const ETCD_ERROR_LOG_MS = 10_000;
/**
 * A member that failed three calls in a row is skipped for this long (the client's default is 5 s,
 * more than an election lease: a leader would lose its time to decide waiting for a dead member).
 */
const MEMBER_SKIP_MS = 500;
/** How long a connection to an etcd member may take before another is tried. */
const ETCD_DIAL_TIMEOUT_MS = 2_000;

export interface StoreChoice {
  readonly dataDir: string;
  readonly etcd: EtcdSettings | undefined;
  /** This replica's address, in the election key while it leads. */
  readonly advertise: string;
  readonly bounds: DriftBounds;
  /** Told who leads whenever that changes while this replica waits to be elected. */
  readonly onLeader: (leader: string) => void;
}

export function storeFromConfig(choice: StoreChoice, logger: Logger, now: () => number): WitnessStore {
  const { etcd } = choice;
  if (etcd === undefined) {
    return new FileStore(choice.dataDir, {
      now,
      onBackgroundError: (error) => logger.warn({ err: error }, 'could not rewrite store.json; the next write retries'),
    });
  }
  const client = new Etcd3({
    hosts: [...etcd.endpoints],
    dialTimeout: ETCD_DIAL_TIMEOUT_MS,
    ...(etcd.tls === undefined
      ? {}
      : { credentials: { rootCertificate: etcd.tls.ca, privateKey: etcd.tls.key, certChain: etcd.tls.cert } }),
    ...(etcd.auth === undefined
      ? {}
      : {
          // The token exchange has a deadline of its own: a hung one would stall every call after it.
          auth: { username: etcd.auth.username, password: etcd.auth.password, callOptions: etcdCallOptions },
        }),
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: MEMBER_SKIP_MS,
          breaker: new ConsecutiveBreaker(3),
        }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 3 }),
    },
  });
  let lastErrorLoggedAt = Number.NEGATIVE_INFINITY;
  return new EtcdStore({
    client,
    prefix: etcd.prefix,
    candidate: choice.advertise,
    electionTtlSeconds: etcd.electionTtlSeconds,
    bounds: choice.bounds,
    now,
    onWaiting: (leader) => {
      choice.onLeader(leader);
      logger.info(
        { leader: leader === '' ? undefined : leader, prefix: etcd.prefix },
        leader === ''
          ? 'not leading: waiting to be elected'
          : `not leading: the witness replica at ${leader} leads; waiting to be elected`,
      );
    },
    onEtcdError: (error) => {
      if (now() - lastErrorLoggedAt < ETCD_ERROR_LOG_MS) return;
      lastErrorLoggedAt = now();
      logger.warn({ err: error, endpoints: etcd.endpoints }, 'an etcd call failed; retrying');
    },
  });
}
