/**
 * Real messages collected from public issue threads and docs (each line records its source).
 * Every fixture must get its expected cause, and its evidence must be quoted verbatim.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAUSE_IDS } from '#shared/diagnosis/causes';
import { diagnose } from '#shared/diagnosis/diagnose';

interface Fixture {
  id: string;
  message: string;
  reason?: string;
  image?: string;
  expected: string;
  source: string;
}

const load = (file: string): Fixture[] =>
  readFileSync(join(__dirname, '../../fixtures/messages', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as Fixture);

// corpus.jsonl was collected first; holdout.jsonl later and independently, from other sources,
// to check that rules written against the first generalise.
const corpus = [...load('corpus.jsonl'), ...load('holdout.jsonl')];

describe('the corpus', () => {
  it('covers every cause several times, each fixture with a source', () => {
    for (const cause of CAUSE_IDS) {
      expect(corpus.filter((fixture) => fixture.expected === cause).length).toBeGreaterThanOrEqual(4);
    }
    for (const fixture of corpus) expect(fixture.source).toMatch(/^https:\/\//);
  });
});

describe.each(corpus)('$id', (fixture) => {
  it(`is ${fixture.expected}`, () => {
    const verdict = diagnose({ message: fixture.message, reason: fixture.reason, image: fixture.image });
    expect(verdict.cause).toBe(fixture.expected);
    expect(fixture.message).toContain(verdict.evidence);
  });
});
