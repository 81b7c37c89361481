import fc from 'fast-check';
import { parseClassifyRequest, parseWithSchema } from '../../cli/classify-request';

const FIELDS = ['message', 'reason', 'image', 'namespace', 'pod', 'container', 'node'] as const;

// Each field absent, null, a string, or a value of every other JSON type.
const fieldValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);

const request = fc
  .record({
    ...Object.fromEntries(FIELDS.map((field) => [field, fieldValue])),
    id: fc.jsonValue({ maxDepth: 2 }),
    extra: fieldValue,
  })
  // Absent, not `undefined`: the value a JSON line parses to.
  .map((fields) => JSON.parse(JSON.stringify(fields)) as unknown);

describe('parseClassifyRequest', () => {
  it('accepts and refuses exactly what the schema does, with the same input and the same error text', () => {
    fc.assert(
      fc.property(fc.oneof(request, fc.jsonValue({ maxDepth: 3 })), (value) => {
        expect(parseClassifyRequest(value)).toEqual(parseWithSchema(value));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes null optional fields as absent and refuses a missing message in zod’s words', () => {
    expect(parseClassifyRequest({ message: 'm', reason: null, image: 'nginx:1', pod: null })).toEqual({
      input: { message: 'm', image: 'nginx:1' },
    });
    expect(parseClassifyRequest({ id: 1, reason: 5 })).toEqual({
      error:
        'message: Invalid input: expected string, received undefined; reason: Invalid input: expected string, received number',
    });
    expect(parseClassifyRequest([])).toEqual({
      error: '(line): Invalid input: expected object, received array',
    });
  });
});
