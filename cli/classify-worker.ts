/** A classify thread (./classify-pool.ts): blocks of request lines in, their verdict lines out. */
import { parentPort } from 'node:worker_threads';
import { classifyBlock } from './classify-lines';

/** Buffers handed back once written, filled again by the next blocks. */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 4;

// The answer goes back as UTF-8 bytes with its buffer transferred: the main thread writes them as
// they are, without copying or encoding, then hands the buffer back.
parentPort?.on('message', (message: { id: number; block: string } | { spare: ArrayBuffer }) => {
  if ('spare' in message) {
    if (spares.length < MAX_SPARES) spares.push(message.spare);
    return;
  }
  const { text, failed } = classifyBlock(message.block, spares.pop());
  parentPort!.postMessage({ id: message.id, text, failed }, [text.buffer as ArrayBuffer]);
});
