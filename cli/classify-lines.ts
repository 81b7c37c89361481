/**
 * `classify --jsonl`: one verdict line per request line, in order. A bad line becomes an error line
 * and costs nothing else: the lines after it are still classified. Blank lines are skipped.
 *
 * - `id` is the caller's key, copied through as given (string, number, object, array…), unless it
 *   nests deeper than MAX_JSON_DEPTH (serialising it would overflow the stack).
 * - `null` in an optional field means absent: jq writes `"reason": null` for a missing key.
 * - A line longer than MAX_JSON_LINE_CHARS is refused unread, and no more of it is held in memory.
 *
 * Throughput: input is split into lines per chunk read, and the verdicts of one chunk leave in one
 * write, so that a line costs its parse, its diagnosis and its serialisation, not a system call.
 */
import { StringDecoder } from 'node:string_decoder';
import { diagnose } from '#shared/diagnosis/diagnose';
import { ByteOutput } from './byte-output';
import { parseClassifyRequest } from './classify-request';
import { MAX_JSON_DEPTH, MAX_JSON_LINE_CHARS, nestedDeeperThan, tooLong } from '#shared/json-limits';

/** The 1 MiB adversarial messages of the bench fit. */
const MAX_LINE_CHARS = MAX_JSON_LINE_CHARS;

const errorLine = (error: string, idJson?: string): string =>
  idJson === undefined ? JSON.stringify({ error }) : `{"id":${idJson},"error":${JSON.stringify(error)}}`;

const overlongLine = (): string => errorLine(`line ${tooLong(MAX_LINE_CHARS)}`);

const COMMA = 44;
const NEWLINE = 10;

/**
 * Writes one request line's answer (and its newline) to `out`; returns whether it was classified.
 * A blank line writes nothing and counts as classified.
 */
const classifyLine = (line: string, out: ByteOutput): boolean => {
  if (line.length > MAX_LINE_CHARS) return fail(out, overlongLine());
  if (line.trim() === '') return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return fail(out, errorLine(`not valid JSON: ${(error as Error).message}`));
  }
  const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
  if (nestedDeeperThan(id, MAX_JSON_DEPTH)) {
    return fail(out, errorLine(`invalid request: id: nested deeper than ${MAX_JSON_DEPTH} levels`));
  }
  const idJson = id === undefined ? undefined : JSON.stringify(id);
  const request = parseClassifyRequest(parsed);
  if ('error' in request) return fail(out, errorLine(`invalid request: ${request.error}`, idJson));
  const verdict = JSON.stringify(diagnose(request.input));
  if (idJson === undefined) out.write(verdict);
  else {
    // `{"id":…` then the verdict with its `{` made a `,`: the id first, and no copy of the verdict.
    out.write(`{"id":${idJson}`);
    out.setByte(out.write(verdict), COMMA);
  }
  out.writeByte(NEWLINE);
  return true;
};

const fail = (out: ByteOutput, line: string): false => {
  out.write(line);
  out.writeByte(NEWLINE);
  return false;
};

/** The output of a block of request lines: one line per request (each ending in a newline). */
export interface ClassifiedBlock {
  /** UTF-8 encoded. */
  text: Uint8Array;
  failed: number;
}

// A verdict line is about 6 times its request line; a guess too small costs a copy or two.
const OUTPUT_PER_INPUT_CHAR = 8;

/**
 * Classifies a block of complete lines (separated by `\n`, a `\r` before it dropped), into `spare`
 * when it is large enough (a buffer handed back after its bytes were written).
 */
export const classifyBlock = (block: string, spare?: ArrayBuffer): ClassifiedBlock => {
  const out = new ByteOutput(block.length * OUTPUT_PER_INPUT_CHAR, spare);
  let failed = 0;
  let start = 0;
  while (start <= block.length) {
    let end = block.indexOf('\n', start);
    if (end === -1) end = block.length;
    const line = block.slice(start, block.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (!classifyLine(line, out)) failed++;
  }
  return { text: out.view(), failed };
};

/** A piece of the input, in order: complete lines, or a line refused for its length. */
type InputPiece = { block: string } | { overlong: true };

/** Splits UTF-8 chunks (cut anywhere) into blocks of complete lines; overlong lines are not held. */
async function* inputPieces(input: AsyncIterable<string | Buffer>): AsyncGenerator<InputPiece> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  /** Inside a line already refused as too long: everything up to its end is dropped. */
  let dropping = false;
  for await (const chunk of input) {
    let text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (dropping) {
      const end = text.indexOf('\n');
      if (end === -1) {
        pending = '';
        continue;
      }
      dropping = false;
      text = text.slice(end + 1);
    }
    const last = text.lastIndexOf('\n');
    if (last !== -1) yield { block: text.slice(0, last) };
    pending = text.slice(last + 1);
    if (pending.length > MAX_LINE_CHARS) {
      yield { overlong: true };
      dropping = true;
      pending = '';
    }
  }
  const rest = pending + decoder.end();
  if (!dropping && rest !== '') yield { block: rest };
}

/** Classifies blocks elsewhere (worker threads), answering in any order. */
export interface BlockClassifier {
  classify(block: string): Promise<ClassifiedBlock>;
  /** Takes back the bytes of an answer once written, to fill again instead of allocating. */
  recycle(text: Uint8Array): void;
  close(): Promise<void>;
}

/**
 * Classifies every line of `input` (chunks of UTF-8 text, split anywhere); `write` receives the
 * output of each chunk at once, in input order, and resolves once it holds no reference to the bytes
 * (they are then reused). With `parallel`, the blocks after the first go to it (a handful in
 * flight), so that a large input uses every core while a small one starts no thread. Resolves to
 * the number of lines that could not be classified.
 */
export const classifyStream = async (
  input: AsyncIterable<string | Buffer>,
  write: (text: string | Uint8Array) => Promise<void>,
  parallel?: { start: () => BlockClassifier; inFlight: number },
): Promise<number> => {
  let failed = 0;
  let pool: BlockClassifier | undefined;
  const queue: Array<Promise<ClassifiedBlock & { pooled?: true }>> = [];
  const writeOldest = async () => {
    const done = await queue.shift()!;
    failed += done.failed;
    if (done.text.length > 0) await write(done.text);
    // Handed back to the threads, the buffer is filled again: a new one per block grew this
    // thread's external memory by ~500 MB per 200,000 lines, and V8 ran a full GC for every 30 MB.
    if (done.pooled) pool!.recycle(done.text);
  };
  let pieces = 0;
  try {
    for await (const piece of inputPieces(input)) {
      pieces++;
      const result =
        'overlong' in piece
          ? { text: Buffer.from(`${overlongLine()}\n`), failed: 1 }
          : pieces > 1 && parallel !== undefined
            ? (pool ??= parallel.start())
                .classify(piece.block)
                .then((block) => ({ ...block, pooled: true as const }))
            : classifyBlock(piece.block);
      queue.push(Promise.resolve(result));
      while (queue.length > (pool === undefined ? 0 : parallel!.inFlight)) await writeOldest();
    }
    while (queue.length > 0) await writeOldest();
  } finally {
    await pool?.close();
  }
  return failed;
};
