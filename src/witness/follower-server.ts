/**
 * What a witness replica that does not lead serves on its port (design §20.1): every Witness and
 * Admin call is UNAVAILABLE, naming the leader in the message and in the `witness-leader` trailer,
 * so a sidecar moves on down its endpoint list and an operator's grpcurl says where to go; health
 * is NOT_SERVING, and reflection still lists the services. Once elected, the replica closes this
 * server and the arbitrating one binds the same port.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import { bindServer, shutdownGracefully } from '../grpc/server-lifecycle';
import { serverCredentials } from '../grpc/transport-credentials';
import type { ProbeSources } from '../http/probe-endpoints';
import { loadWitnessProto, reflectionDefinition } from '../proto/load-proto';
import { Registry } from 'prom-client';
import { wireErrorStatus } from '../wire/status-mapping';
import { notLeading } from '../wire/undecided-refusal';
import { REFLECTED_SERVICES, SERVED_SERVICES, SHUTDOWN_GRACE_MS } from './witness-server';

export class FollowerServer {
  private readonly server = new grpc.Server();
  private readonly registry = new Registry();
  private leader = '';

  constructor(private readonly certificates: ReloadingCertificates | undefined) {
    const { grpcObject } = loadWitnessProto();
    for (const service of [grpcObject.witness.v1.Witness.service, grpcObject.witness.v1.Admin.service]) {
      this.server.addService(service, this.refusals(service));
    }
    const health = new HealthImplementation(
      Object.fromEntries(['', ...SERVED_SERVICES].map((name) => [name, 'NOT_SERVING' as const])),
    );
    health.addToServer(this.server);
    new ReflectionService(reflectionDefinition(), { services: REFLECTED_SERVICES }).addToServer(this.server);
  }

  /** The replica that leads now, from the election key ('' while none does). */
  setLeader(leader: string): void {
    this.leader = leader;
  }

  listen(address: string): Promise<number> {
    return bindServer(this.server, address, serverCredentials(this.certificates));
  }

  /** /readyz says why not; /metrics has nothing to say until this replica leads. */
  probeSources(): ProbeSources {
    return { registry: this.registry, notReadyBecause: () => this.refusal() };
  }

  shutdown(): Promise<void> {
    return shutdownGracefully(this.server, SHUTDOWN_GRACE_MS);
  }

  private refusal(): string {
    return this.leader === ''
      ? 'this witness replica does not lead, and no replica leads now: retry shortly'
      : `this witness replica does not lead: the leader is at ${this.leader}`;
  }

  private status(): Partial<grpc.StatusObject> {
    return wireErrorStatus(notLeading(this.refusal(), this.leader));
  }

  private refusals(service: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(service)) {
      handlers[name] = method.responseStream
        ? (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', this.status())
        : (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(this.status(), null);
    }
    return handlers;
  }
}
