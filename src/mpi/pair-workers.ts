/**
 * Comparing candidate pairs on several threads. The records are shared as columns (typed arrays on
 * SharedArrayBuffers; the value tables are copied once per worker), the pairs are claimed in chunks,
 * and every thread writes the levels of its chunks into one shared array: the result does not
 * depend on how the chunks were shared out. The calling thread compares chunks too, so that a worker
 * that cannot start or dies costs time, not the result. Workers run the TypeScript sources through
 * tsx, as the CLI does.
 */
import { availableParallelism } from 'node:os';
import { tsWorker } from '../runtime/ts-worker.js';
import { ColumnComparer, compareClaimedChunks, compareUnfinishedChunks, pairChunks, type Columns } from './columns.js';
import type { MatcherConfig } from './types.js';

/** Compares the candidate pairs of a population: the levels, K per pair (as comparePairs gives them). */
export type PairComparison = (columns: Columns, pairs: Uint32Array, config: MatcherConfig) => Promise<Int8Array>;

export interface ParallelOptions {
  minPairs?: number;
  /** Pairs per chunk (the unit a thread claims). */
  chunkPairs?: number;
  /** Whether the calling thread claims chunks too (else it only finishes what workers left). */
  callerCompares?: boolean;
  /** Told how many chunks each thread finished (index 0: the calling thread). */
  onDone?: (chunksByThread: number[]) => void;
}

/**
 * Compares on `threads` threads in all (this one and threads - 1 workers; default: one per CPU).
 * Below `minPairs` pairs this thread alone compares them: a worker's start-up (tsx compiling the
 * sources, about a second) costs more than it saves.
 */
export function parallelComparison(threads = availableParallelism(), options: ParallelOptions = {}): PairComparison {
  const { minPairs = 2_000_000, chunkPairs = 1 << 18, callerCompares = true, onDone } = options;
  return async (columns, pairs, config) => {
    const chunks = pairChunks(pairs, config.comparisons.length, chunkPairs);
    const workers = pairs.length / 2 < minPairs ? 0 : Math.max(0, threads - 1);
    const finished: Promise<void>[] = [];
    const entry = new URL('./pair-worker.ts', import.meta.url);
    for (let i = 0; i < workers; i++) {
      finished.push(
        new Promise<void>((resolve) => {
          try {
            const w = tsWorker(entry, { workerData: { columns, config, chunks, thread: i + 1 } });
            w.on('error', () => resolve());
            w.on('exit', () => resolve());
          } catch {
            resolve();
          }
        }),
      );
    }
    const comparer = new ColumnComparer(columns, config);
    if (callerCompares) compareClaimedChunks(comparer, chunks, 0);
    await Promise.all(finished);
    compareUnfinishedChunks(comparer, chunks);
    if (onDone) {
      const byThread = new Array<number>(workers + 1).fill(0);
      for (const d of chunks.done) byThread[d - 1]!++;
      onDone(byThread);
    }
    return chunks.gamma;
  };
}
