/**
 * The value formats every command's schema may name (`duration`, `host-port`, `host-port-or-off`,
 * `decimal`, `path`, `positive-int`, `trust-domain`), registered with convict once.
 */
import net from 'node:net';
import convict from 'convict';
import { isTrustDomain } from '../wire/spiffe-id';
import { registerDurationFormat } from './duration';
import type { OptionSchema } from './load-config';

/**
 * `host:port` or `[v6]:port`, port 1-65535 (from `minPort`: 0 lets the kernel pick, for tests),
 * host a name or an IP address.
 */
export function parseHostPort(value: string, minPort = 1): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < minPort || port > 65535) return undefined;
  if (match[1] !== undefined) return net.isIPv6(match[1]) ? { host: match[1], port } : undefined;
  const host = match[2] ?? '';
  if (net.isIPv4(host)) return { host, port };
  if (/^[\d.]+$/.test(host)) return undefined; // looks like an IPv4 address but is not one
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  return new RegExp(`^${label}(?:\\.${label})*\\.?$`).test(host) && host.length <= 253 ? { host, port } : undefined;
}

const HOST_PORT_FORMS = 'must be HOST:PORT with a port from 1 to 65535 (IPv6 in brackets: [::1]:50051)';

function describeDecimal(schema: { min?: unknown; max?: unknown }): string {
  const { min, max } = schema;
  if (min !== undefined && max !== undefined) return `must be a number from ${String(min)} to ${String(max)}`;
  if (min !== undefined) return `must be a number of at least ${String(min)}`;
  if (max !== undefined) return `must be a number of at most ${String(max)}`;
  return 'must be a number';
}

/** Registers the formats schemas may name: `duration`, `host-port`, `host-port-or-off`, `decimal`, `path`. Idempotent. */
export function registerFormats(): void {
  registerDurationFormat();
  convict.addFormat({
    name: 'path',
    validate: (value: unknown): void => {
      if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) {
        throw new Error('must be a non-empty path');
      }
    },
  });
  convict.addFormat({
    name: 'positive-int',
    coerce: (value: unknown): unknown =>
      typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value,
    validate: (value: unknown): void => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new Error('must be a whole number of at least 1');
      }
    },
  });
  convict.addFormat({
    name: 'trust-domain',
    validate: (value: unknown): void => {
      if (typeof value !== 'string' || !isTrustDomain(value)) {
        throw new Error('must be a SPIFFE trust domain: lower-case letters, digits, dots, dashes, underscores');
      }
    },
  });
  convict.addFormat({
    name: 'host-port',
    validate: (value: unknown): void => {
      if (typeof value !== 'string' || !parseHostPort(value)) throw new Error(HOST_PORT_FORMS);
    },
  });
  convict.addFormat({
    name: 'host-port-or-off',
    validate: (value: unknown): void => {
      if (value === '') return;
      if (typeof value !== 'string' || !parseHostPort(value, 0)) {
        throw new Error(`must be '' (off) or HOST:PORT with a port from 0 (any free one) to 65535`);
      }
    },
  });
  convict.addFormat({
    name: 'decimal',
    // Strict: convict's own Number format would read `0.01abc` as 0.01.
    coerce: (value: unknown): unknown =>
      typeof value === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value) ? Number(value) : value,
    validate: (value: unknown, schema: OptionSchema): void => {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (schema.min === undefined || value >= Number(schema.min)) &&
        (schema.max === undefined || value <= Number(schema.max));
      if (!ok) throw new Error(describeDecimal(schema));
    },
  });
}
