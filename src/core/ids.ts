/**
 * Group and node ids travel into logs, file names and metrics labels: a safe, bounded alphabet.
 * One definition for the wire, the configuration and the store.
 */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const ID_RULE = '1 to 128 characters of A-Z a-z 0-9 . _ -';
