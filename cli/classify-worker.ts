/** A classify thread (./classify-pool.ts): blocks of request lines in, their verdict lines out. */
import { parentPort } from 'node:worker_threads';
import { classifyBlock } from './classify-lines';

const encoder = new TextEncoder();

// The answer goes back encoded, its buffer transferred: the main thread writes the bytes as they
// are, without copying the text or encoding it itself.
parentPort?.on('message', ({ id, block }: { id: number; block: string }) => {
  const { text, failed } = classifyBlock(block);
  const bytes = encoder.encode(text);
  parentPort!.postMessage({ id, text: bytes, failed }, [bytes.buffer]);
});
