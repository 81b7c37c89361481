/**
 * Worker threads for `classify --jsonl`: each classifies whole blocks of lines (classifyBlock), so
 * that a large input is classified on every core. The main thread only splits the input and writes
 * the answers in order (./classify-lines.ts). Each worker takes the next block when it is the least
 * busy; a worker that fails fails the command with its error.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BlockClassifier, ClassifiedBlock } from './classify-lines';

interface Waiting {
  resolve: (block: ClassifiedBlock) => void;
  reject: (error: Error) => void;
}

/**
 * Threads to classify on: PULLWATCH_CLASSIFY_THREADS (1 keeps everything on the main thread), else
 * one per core, at most 8 (beyond, writing the answers is the limit). The main thread only splits
 * and writes, so it shares a core: on two cores, two classify threads measured 39.6k lines/s
 * against 31k for one (bench/classifier.ts). A small input starts no thread (classify-lines.ts).
 */
export const classifyThreads = (env: Readonly<Record<string, string | undefined>> = process.env): number => {
  const raw = env.PULLWATCH_CLASSIFY_THREADS?.trim();
  if (raw === undefined || raw === '') return Math.min(8, Math.max(1, availableParallelism()));
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`PULLWATCH_CLASSIFY_THREADS must be a whole number from 1 to 64, got "${raw}"`);
  }
  return threads;
};

// The sources are TypeScript, compiled on the fly by tsx as in bin/pullwatch.js.
const BOOT = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(require.resolve('./classify-worker.ts'))});`;

export const startClassifyPool = (threads: number): BlockClassifier => {
  let nextId = 0;
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(BOOT, { eval: true });
    const waiting = new Map<number, Waiting>();
    const failAll = (error: Error) => {
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
    };
    worker.on('message', (message: { id: number } & ClassifiedBlock) => {
      const entry = waiting.get(message.id);
      waiting.delete(message.id);
      entry?.resolve({ text: message.text, failed: message.failed });
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`a classify thread exited (${code})`)));
    return { worker, waiting };
  });
  return {
    classify: (block) => {
      const least = workers.reduce((best, entry) => (entry.waiting.size < best.waiting.size ? entry : best));
      const id = nextId++;
      return new Promise<ClassifiedBlock>((resolve, reject) => {
        least.waiting.set(id, { resolve, reject });
        least.worker.postMessage({ id, block });
      });
    },
    recycle: (text) => {
      // To the least busy thread, which will likely take the next block.
      const least = workers.reduce((best, entry) => (entry.waiting.size < best.waiting.size ? entry : best));
      const spare = text.buffer as ArrayBuffer;
      least.worker.postMessage({ spare }, [spare]);
    },
    close: async () => {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
    },
  };
};
