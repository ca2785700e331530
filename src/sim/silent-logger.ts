/** The simulated processes log nothing: a schedule's timeline is its record. */
import pino from 'pino';
import type { Logger } from '../log/logger';

export const SILENT_LOGGER: Logger = pino({ level: 'silent' });
