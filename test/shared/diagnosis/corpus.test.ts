/**
 * Real messages collected from public issue threads and docs (each line records its source).
 * Every fixture must get its expected cause, and its evidence must be quoted verbatim.
 */
import { CAUSE_IDS } from '#shared/diagnosis/causes';
import { diagnose } from '#shared/diagnosis/diagnose';
import { allFixtures } from './fixtures';

const corpus = allFixtures();

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
