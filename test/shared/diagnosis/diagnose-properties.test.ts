import fc from 'fast-check';
import { CATALOGUE } from '#shared/diagnosis/catalogue';
import { CAUSE_IDS } from '#shared/diagnosis/causes';
import { diagnose } from '#shared/diagnosis/diagnose';
import { MAX_EVIDENCE } from '#shared/diagnosis/evidence';

// Fragments of real phrases and wrappers, so generated text is full of near-misses and overlaps.
const PHRASES = CATALOGUE.flatMap((rule) => rule.signals.map((signal) => signal.text));
const fragment = fc.oneof(
  fc.constantFrom(...PHRASES),
  fc.constantFrom(...PHRASES).map((phrase) => phrase.slice(0, Math.max(1, phrase.length - 1))),
  fc.constantFrom(
    ': ',
    '"',
    'Failed to pull image "',
    'rpc error: code = Unknown desc = ',
    '\n',
    '<!channel>',
    '\u0000',
  ),
  fc.string({ maxLength: 8 }),
);
const hostileMessage = fc.array(fragment, { maxLength: 60 }).map((parts) => parts.join(''));

const checkVerdict = (message: string, image?: string) => {
  const verdict = diagnose({ message, image });
  expect(CAUSE_IDS).toContain(verdict.cause);
  expect(verdict.confidence).toBeGreaterThan(0);
  expect(verdict.confidence).toBeLessThan(1);
  expect(message).toContain(verdict.evidence);
  expect(verdict.evidence.length).toBeLessThanOrEqual(MAX_EVIDENCE);
  expect(verdict.fix.steps.length).toBeGreaterThan(0);
  expect(verdict.fix.docs).toMatch(/^https:\/\//);
  return verdict;
};

describe('diagnose on arbitrary input', () => {
  it('always returns one known cause with verbatim, bounded evidence and a fix', () => {
    fc.assert(
      fc.property(
        hostileMessage,
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        (message, image) => {
          checkVerdict(message, image);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(hostileMessage, (message) => {
        expect(diagnose({ message })).toEqual(diagnose({ message }));
      }),
      { numRuns: 200 },
    );
  });

  // Timing targets live in `npm run bench`; this only catches catastrophic (super-linear) blow-ups,
  // which would take minutes on 1 MiB, not the few milliseconds linear work takes.
  it('handles 1 MiB of repeated hostile text without blowing up', () => {
    fc.assert(
      fc.property(fc.array(fragment, { minLength: 1, maxLength: 6 }), (parts) => {
        const unit = parts.join('') || 'x';
        const message = unit.repeat(Math.ceil((1 << 20) / unit.length));
        const started = process.hrtime.bigint();
        checkVerdict(message, message.slice(0, 1 << 16));
        expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
      }),
      { numRuns: 15 },
    );
  });
});
