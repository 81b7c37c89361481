import fc from 'fast-check';
import { MAX_SUGGESTED_TAGS, editDistance, nearestTags } from '#shared/registry-check/nearest-tags';

describe('nearestTags', () => {
  it('suggests the same major.minor line before the next minor, and releases before prereleases', () => {
    expect(nearestTags('1.0.2', ['1.1.0', '2.0.0', '1.0.1', 'latest', '1.0.2-rc1', '0.9.9'])).toEqual([
      '1.0.1',
      '1.0.2-rc1',
      '1.1.0',
      '0.9.9',
      '2.0.0',
    ]);
    expect(nearestTags('3.4.1', ['3.5.0', '3.4.1-rc1', '3.4.0'])).toEqual(['3.4.0', '3.4.1-rc1', '3.5.0']);
  });

  it('prefers the release before the wanted one on an equal step, and reads a leading v', () => {
    expect(nearestTags('v1.0.2', ['v1.0.3', 'v1.0.1'])).toEqual(['v1.0.1', 'v1.0.3']);
  });

  it('ranks tags that are not versions by edit distance, keeping only plausible typos', () => {
    expect(nearestTags('1.27-alpin', ['mainline', '1.26-alpine', '1.27-alpine', 'latest'])).toEqual([
      '1.27-alpine',
      '1.26-alpine',
    ]);
    expect(nearestTags('lastest', ['latest', 'stable'])).toEqual(['latest']);
  });

  it('lists versions before non-version tags when the wanted tag is a version', () => {
    expect(nearestTags('1.0.2', ['1.0.2_x', '9.9.9'])).toEqual(['9.9.9', '1.0.2_x']);
  });

  it('never suggests the wanted tag itself, nor duplicates', () => {
    expect(nearestTags('1.0.0', ['1.0.0', '1.0.1', '1.0.1'])).toEqual(['1.0.1']);
  });

  it('stays fast on a repository with many tags', () => {
    const tags = Array.from({ length: 20_000 }, (_, i) => `build-${i}-${'x'.repeat(i % 100)}`);
    const started = performance.now();
    nearestTags('build-123-xx', tags);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

const versionTag = fc
  .tuple(
    fc.nat(4),
    fc.nat(4),
    fc.nat(4),
    fc.option(fc.constantFrom('rc1', 'rc2', 'beta'), { nil: undefined }),
  )
  .map(([major, minor, patch, pre]) => `${major}.${minor}.${patch}${pre ? `-${pre}` : ''}`);
const anyTag = fc.oneof(versionTag, fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/));

describe('nearestTags properties', () => {
  it('returns at most five distinct candidates, never the wanted tag, whatever the order of the list', () => {
    fc.assert(
      fc.property(anyTag, fc.array(anyTag, { maxLength: 40 }), (wanted, tags) => {
        const suggested = nearestTags(wanted, tags);
        expect(suggested.length).toBeLessThanOrEqual(MAX_SUGGESTED_TAGS);
        expect(new Set(suggested).size).toBe(suggested.length);
        expect(suggested).not.toContain(wanted);
        for (const tag of suggested) expect(tags).toContain(tag);
        expect(nearestTags(wanted, [...tags].reverse())).toEqual(suggested);
      }),
    );
  });

  it('puts a release of the same major.minor before any release of another minor', () => {
    fc.assert(
      fc.property(
        fc.nat(5),
        fc.nat(5),
        fc.nat(5),
        fc.nat(5),
        fc.nat(5),
        (major, minor, patch, other, step) => {
          const wanted = `${major}.${minor}.${patch}`;
          const sameLine = `${major}.${minor}.${patch + 1 + other}`;
          const otherLine = `${major}.${minor + 1 + step}.${patch}`;
          const suggested = nearestTags(wanted, [otherLine, sameLine]);
          expect(suggested.indexOf(sameLine)).toBeLessThan(suggested.indexOf(otherLine));
        },
      ),
    );
  });

  it('agrees with the plain Levenshtein distance within its limit', () => {
    const levenshtein = (a: string, b: string): number => {
      const rows = Array.from({ length: a.length + 1 }, (_, i) => [
        i,
        ...new Array<number>(b.length).fill(0),
      ]);
      for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
      for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
          rows[i]![j] = Math.min(
            rows[i - 1]![j]! + 1,
            rows[i]![j - 1]! + 1,
            rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
          );
      return rows[a.length]![b.length]!;
    };
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.nat(6), (a, b, limit) => {
        expect(editDistance(a, b, limit)).toBe(Math.min(levenshtein(a, b), limit + 1));
      }),
    );
  });
});
