/**
 * Real messages (from the corpora, with their sources) reviewed by hand: for each, the commands an
 * experienced SRE expects in the fix, and those that would do harm or be refused.
 */
import { type DiagnosisInput, diagnose } from '#shared/diagnosis/diagnose';
import { allFixtures, jsonLines } from './fixtures';

interface Review {
  fixture: string;
  context: Omit<DiagnosisInput, 'message' | 'reason' | 'image'>;
  /** Substrings the fix commands must contain. */
  commands: string[];
  /** Substrings the summary or the step texts must contain. */
  says?: string[];
  /** Substrings no command may contain. */
  never: string[];
  why: string;
}

const fixtures = new Map(allFixtures().map((fixture) => [fixture.id, fixture]));
const reviews = jsonLines('reviewed.jsonl') as Review[];

describe('reviewed fixes for real messages', () => {
  it('cover every defect class with a reviewed case', () => {
    expect(reviews.length).toBeGreaterThanOrEqual(20);
    for (const review of reviews) expect(fixtures.get(review.fixture)?.source).toMatch(/^https:\/\//);
  });

  describe.each(reviews.map((review, i) => ({ ...review, name: `${review.fixture} #${i}` })))(
    '$name',
    (review) => {
      const fixture = fixtures.get(review.fixture)!;
      const verdict = diagnose({
        message: fixture.message,
        reason: fixture.reason,
        image: fixture.image,
        ...review.context,
      });
      const commands = verdict.fix.steps.map((step) => step.command ?? '').join('\n');
      const words = [verdict.summary, ...verdict.fix.steps.map((step) => step.text)].join('\n');

      it(`is ${fixture.expected}, and ${review.why}`, () => {
        expect(verdict.cause).toBe(fixture.expected);
        for (const expected of review.commands) expect(commands).toContain(expected);
        for (const expected of review.says ?? []) expect(words).toContain(expected);
        for (const harmful of review.never) expect(commands).not.toContain(harmful);
      });
    },
  );
});
