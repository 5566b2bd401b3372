/** Worker thread of pair-workers.ts: compares chunks of candidate pairs into the shared levels. */
import { parentPort, workerData } from 'node:worker_threads';
import { ColumnComparer, compareClaimedChunks, type Columns, type PairChunks } from './columns.js';
import type { MatcherConfig } from './types.js';

const { columns, config, chunks, thread } = workerData as { columns: Columns; config: MatcherConfig; chunks: PairChunks; thread: number };
compareClaimedChunks(new ColumnComparer(columns, config), chunks, thread);
parentPort?.postMessage('done');
