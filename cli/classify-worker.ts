/** A classify thread (./classify-pool.ts): blocks of request lines in, their verdict lines out. */
import { parentPort } from 'node:worker_threads';
import { classifyBlock } from './classify-lines';

// The answer goes back as UTF-8 bytes with its buffer transferred: the main thread writes them as
// they are, without copying or encoding.
parentPort?.on('message', ({ id, block }: { id: number; block: string }) => {
  const { text, failed } = classifyBlock(block);
  parentPort!.postMessage({ id, text, failed }, [text.buffer as ArrayBuffer]);
});
