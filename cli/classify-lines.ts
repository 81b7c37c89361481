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
import { z } from 'zod';
import { type DiagnosisInput, diagnose } from '#shared/diagnosis/diagnose';
import { MAX_JSON_DEPTH, MAX_JSON_LINE_CHARS, nestedDeeperThan, tooLong } from '#shared/json-limits';

/** The 1 MiB adversarial messages of the bench fit. */
const MAX_LINE_CHARS = MAX_JSON_LINE_CHARS;

const optionalText = z.string().nullish();
const ClassifyRequest = z.object({
  message: z.string(),
  reason: optionalText,
  image: optionalText,
  namespace: optionalText,
  pod: optionalText,
  container: optionalText,
  node: optionalText,
});
type ClassifyRequest = z.infer<typeof ClassifyRequest>;
const OPTIONAL_FIELDS = ['reason', 'image', 'namespace', 'pod', 'container', 'node'] as const;

export interface ClassifyOutcome {
  line: string;
  ok: boolean;
}

const describeIssue = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`).join('; ');

const failure = (error: string, idJson?: string): ClassifyOutcome => ({
  ok: false,
  line:
    idJson === undefined ? JSON.stringify({ error }) : `{"id":${idJson},"error":${JSON.stringify(error)}}`,
});

/** The request as the engine takes it: null fields left out. */
const diagnosisInput = (request: ClassifyRequest): DiagnosisInput => {
  const input: DiagnosisInput = { message: request.message };
  for (const field of OPTIONAL_FIELDS) {
    const value = request[field];
    if (value !== undefined && value !== null) input[field] = value;
  }
  return input;
};

const overlong = () => failure(`line ${tooLong(MAX_LINE_CHARS)}`);

/** One request line's outcome; undefined for a blank line. */
export const classifyLine = (line: string): ClassifyOutcome | undefined => {
  if (line.length > MAX_LINE_CHARS) return overlong();
  if (line.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return failure(`not valid JSON: ${(error as Error).message}`);
  }
  const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
  if (nestedDeeperThan(id, MAX_JSON_DEPTH)) {
    return failure(`invalid request: id: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const idJson = id === undefined ? undefined : JSON.stringify(id);
  const request = ClassifyRequest.safeParse(parsed);
  if (!request.success) return failure(`invalid request: ${describeIssue(request.error)}`, idJson);
  const verdict = JSON.stringify(diagnose(diagnosisInput(request.data)));
  // `{"id":…,` + the verdict's own fields: the id first, without copying the verdict into a new object.
  return { ok: true, line: idJson === undefined ? verdict : `{"id":${idJson},${verdict.slice(1)}` };
};

/**
 * Classifies every line of `input` (chunks of UTF-8 text, split anywhere); `write` receives the
 * output lines of each chunk at once. Resolves to the number of lines that could not be classified.
 */
export const classifyStream = async (
  input: AsyncIterable<string | Buffer>,
  write: (text: string) => Promise<void>,
): Promise<number> => {
  const decoder = new StringDecoder('utf8');
  let failed = 0;
  let pending = '';
  /** Inside a line already refused as too long: everything up to its end is dropped. */
  let dropping = false;
  const outcomes: string[] = [];
  const record = (outcome: ClassifyOutcome | undefined) => {
    if (outcome === undefined) return;
    if (!outcome.ok) failed++;
    outcomes.push(outcome.line);
  };
  const take = (line: string) => record(classifyLine(line.endsWith('\r') ? line.slice(0, -1) : line));
  const flush = async () => {
    if (outcomes.length === 0) return;
    const text = `${outcomes.join('\n')}\n`;
    outcomes.length = 0;
    await write(text);
  };

  for await (const chunk of input) {
    const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      if (dropping) dropping = false;
      else take(text.slice(start, end));
      start = end + 1;
    }
    pending = text.slice(start);
    if (!dropping && pending.length > MAX_LINE_CHARS) {
      record(overlong());
      dropping = true;
    }
    if (dropping) pending = '';
    await flush();
  }
  const last = pending + decoder.end();
  if (!dropping && last !== '') take(last);
  await flush();
  return failed;
};
