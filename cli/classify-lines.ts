/** `classify --jsonl`: one verdict line per input line, in order; bad lines become error lines. */
import { z } from 'zod';
import { diagnose } from '#shared/diagnosis/diagnose';

const ClassifyRequest = z.object({
  message: z.string(),
  reason: z.string().optional(),
  image: z.string().optional(),
  id: z.union([z.string(), z.number()]).optional(),
  namespace: z.string().optional(),
  pod: z.string().optional(),
  container: z.string().optional(),
  node: z.string().optional(),
});

export interface ClassifyOutcome {
  line: string;
  ok: boolean;
}

const describeIssue = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`).join('; ');

export const classifyLine = (line: string): ClassifyOutcome => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return { ok: false, line: JSON.stringify({ error: `not valid JSON: ${(error as Error).message}` }) };
  }
  const request = ClassifyRequest.safeParse(parsed);
  if (!request.success) {
    const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
    return {
      ok: false,
      line: JSON.stringify({ id, error: `invalid request: ${describeIssue(request.error)}` }),
    };
  }
  const { id, ...input } = request.data;
  const verdict = diagnose(input);
  return { ok: true, line: JSON.stringify({ id, ...verdict }) };
};

/** Classifies every line; resolves to the number of lines that could not be classified. */
export const classifyStream = async (
  lines: AsyncIterable<string>,
  write: (line: string) => Promise<void>,
): Promise<number> => {
  let failed = 0;
  for await (const line of lines) {
    const outcome = classifyLine(line);
    if (!outcome.ok) failed++;
    await write(outcome.line);
  }
  return failed;
};
