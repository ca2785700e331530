/**
 * The generation an open of an existing store takes (src/core/epoch.ts, generationForOpen), as
 * both stores pick it: a quick restart may open a generation the wall clock reaches a few ms
 * later, so it waits that long; a recorded epoch at the very end of the range (2^63-1) would push
 * the next generation past it, so the last generation is as high as it goes (a grant above
 * 2^63-1 is refused per group).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { epochFloor, generationForOpen, generationFromWallClock, MAX_EPOCH } from '../../core/epoch';
import { LAST_GENERATION } from './store-formats';

/** The longest wait for the wall clock to reach the opened generation. */
const MAX_WALL_CLOCK_WAIT_MS = 1_000;

export interface OpenedGeneration {
  readonly generation: bigint;
  /** How far the wall clock is behind the generation after the wait (0 when it is not). */
  readonly wallClockBehindMs: number;
}

export async function openGeneration(
  storedGeneration: bigint,
  recordedEpochs: readonly bigint[],
  wallClock: () => number,
): Promise<OpenedGeneration> {
  let opened = generationForOpen(storedGeneration, recordedEpochs, wallClock());
  if (opened.aheadOfWallClockMs > 0 && opened.aheadOfWallClockMs <= MAX_WALL_CLOCK_WAIT_MS) {
    await sleep(opened.aheadOfWallClockMs);
    opened = generationForOpen(storedGeneration, recordedEpochs, wallClock());
  }
  const generation = opened.generation > LAST_GENERATION ? LAST_GENERATION : opened.generation;
  return { generation, wallClockBehindMs: opened.aheadOfWallClockMs };
}

/** A new store's generation, from the wall clock, and the time it was created. */
export function newStoreGeneration(wallClockMs: number): { generation: bigint; createdAt: string } {
  const generation = generationFromWallClock(wallClockMs);
  if (epochFloor(generation) >= MAX_EPOCH) throw new Error(`wall clock ${wallClockMs} is beyond the epoch range`);
  return { generation, createdAt: new Date(wallClockMs).toISOString() };
}

/** The wall clock, refused when it reads nonsense (a store's generation is picked from it). */
export function checkedWallClock(wallClockMs: () => number): () => number {
  return () => {
    const value = wallClockMs();
    if (!Number.isFinite(value) || value < 0) throw new Error(`wall clock reads ${value}`);
    return value;
  };
}
