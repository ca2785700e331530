/**
 * Group keys and operator tokens are compared in constant time: both sides are hashed first, so
 * neither the time nor an early length mismatch tells a caller how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
