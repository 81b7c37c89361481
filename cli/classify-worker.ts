/** A classify thread (./classify-pool.ts): blocks of request lines in, their verdict lines out. */
import { parentPort } from 'node:worker_threads';
import { classifyBlock } from './classify-lines';

parentPort?.on('message', ({ id, block }: { id: number; block: string }) => {
  parentPort!.postMessage({ id, ...classifyBlock(block) });
});
