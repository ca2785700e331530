/**
 * Reads a group key or an operator token from its file (design §17.3). The file holds the secret
 * on one line; it must not be readable by others (like PostgreSQL's and ssh's key files), and a
 * short one is refused, since a guessable key protects nothing. The secret itself never reaches a
 * message: only the path does.
 */
import fs from 'node:fs';
import { ConfigError } from './load-config';

export const MIN_SECRET_LENGTH = 32;

export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

/** The file's text without its final newline, if others cannot read it; a SecretFileError otherwise. */
export function readProtectedFile(path: string): string {
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(path);
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretFileError(`${path}: cannot be read (${code})`);
  }
  if ((stat.mode & 0o004) !== 0) {
    throw new SecretFileError(`${path}: must not be readable by others (chmod 600 or 640)`);
  }
  return text.replace(/\r?\n$/, '');
}

export function readSecretFile(path: string): string {
  const secret = readProtectedFile(path);
  if (/[\s]/.test(secret)) throw new SecretFileError(`${path}: must hold the secret on one line, without spaces`);
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new SecretFileError(
      `${path}: the secret must be at least ${MIN_SECRET_LENGTH} characters (openssl rand -hex 32 makes one)`,
    );
  }
  return secret;
}

/**
 * A file a configuration key names that must be kept unreadable by others (an SMTP or etcd
 * password, which another service chose, of any length and alphabet; a private key); an unusable
 * file is a ConfigError naming the key.
 */
export function readConfiguredProtectedFile(path: string, key: string, flag: string): string {
  try {
    return readProtectedFile(path);
  } catch (error) {
    if (error instanceof SecretFileError) throw new ConfigError(key, `${key} (${flag}): ${error.message}`);
    throw error;
  }
}

/** The secret a configuration key names; an unusable file is a ConfigError naming the key and flag. */
export function readConfiguredSecret(path: string, key: string, flag: string): string {
  try {
    return readSecretFile(path);
  } catch (error) {
    if (error instanceof SecretFileError) throw new ConfigError(key, `${key} (${flag}): ${error.message}`);
    throw error;
  }
}
