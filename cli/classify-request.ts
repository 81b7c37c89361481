/**
 * One `classify --jsonl` request, validated: `{"message": string, "reason"|"image"|"namespace"|"pod"|
 * "container"|"node": string | null | absent}`, other keys ignored. `null` means absent (jq writes
 * `"reason": null` for a missing key).
 *
 * The zod schema is the definition and writes the error text. A request it would accept is
 * recognised by a direct check first, which accepts exactly the same values (test/cli/
 * classify-request.test.ts proves it against the schema), so zod is loaded only for the first bad
 * line: loading it took 130–160 ms of each classify thread's start.
 */
import type { z } from 'zod';
import type { DiagnosisInput } from '#shared/diagnosis/diagnose';

const OPTIONAL_FIELDS = ['reason', 'image', 'namespace', 'pod', 'container', 'node'] as const;

const schema = () => {
  const { z: zod } = require('zod') as typeof import('zod');
  const optionalText = zod.string().nullish();
  return zod.object({
    message: zod.string(),
    reason: optionalText,
    image: optionalText,
    namespace: optionalText,
    pod: optionalText,
    container: optionalText,
    node: optionalText,
  });
};
let classifyRequest: ReturnType<typeof schema> | undefined;

/** The request zod describes, as the engine takes it; undefined when zod would refuse it. */
const accepted = (value: unknown): DiagnosisInput | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const request = value as Record<string, unknown>;
  const { message } = request;
  if (typeof message !== 'string') return undefined;
  const input: DiagnosisInput = { message };
  for (const field of OPTIONAL_FIELDS) {
    const text = request[field];
    if (typeof text === 'string') input[field] = text;
    else if (text !== undefined && text !== null) return undefined;
  }
  return input;
};

const describeIssue = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`).join('; ');

/** The schema's own answer: the definition, and the error text of a refused line. */
export const parseWithSchema = (value: unknown): { input: DiagnosisInput } | { error: string } => {
  const result = (classifyRequest ??= schema()).safeParse(value);
  if (!result.success) return { error: describeIssue(result.error) };
  const input: DiagnosisInput = { message: result.data.message };
  for (const field of OPTIONAL_FIELDS) {
    const text = result.data[field];
    if (text !== undefined && text !== null) input[field] = text;
  }
  return { input };
};

/** The engine's input from a parsed request line, or why the line is refused (zod's words). */
export const parseClassifyRequest = (value: unknown): { input: DiagnosisInput } | { error: string } => {
  const input = accepted(value);
  // Anything the direct check does not accept goes to the schema, which has the last word.
  return input !== undefined ? { input } : parseWithSchema(value);
};
