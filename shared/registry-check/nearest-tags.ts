/**
 * The tags nearest to one that does not exist, from the same repository. Version-aware first: where the
 * wanted tag and a candidate both parse as semver, the same major.minor line wins (`1.0.2` suggests
 * `1.0.1` before `1.1.0`), then a release for a release (a prerelease for a prerelease), then the
 * smallest step. Tags that do not parse are ranked by edit distance, and only plausible ones are kept.
 */
import { type SemVer, parse } from 'semver';

export const MAX_SUGGESTED_TAGS = 5;

const version = (tag: string): SemVer | null => parse(tag, { loose: true });

interface Ranked {
  tag: string;
  key: readonly number[];
  version?: SemVer;
  older?: boolean;
}

/** Smaller ranks first: the key, then the closest version on the same side, then the tag itself. */
const compareRanked = (a: Ranked, b: Ranked): number => {
  for (let i = 0; i < a.key.length; i++) {
    const difference = (a.key[i] ?? 0) - (b.key[i] ?? 0);
    if (difference !== 0) return difference;
  }
  if (a.version && b.version) {
    // Older candidates: the highest first; newer ones: the lowest first.
    const closeness = a.older ? b.version.compare(a.version) : a.version.compare(b.version);
    if (closeness !== 0) return closeness;
  }
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
};

const versionRank = (tag: string, wanted: SemVer, candidate: SemVer): Ranked => {
  const sameMajor = candidate.major === wanted.major;
  const sameMinor = sameMajor && candidate.minor === wanted.minor;
  const kindMatches = candidate.prerelease.length > 0 === wanted.prerelease.length > 0;
  const older = candidate.compare(wanted) < 0;
  return {
    tag,
    version: candidate,
    older,
    key: [
      sameMajor ? 0 : 1,
      sameMinor ? 0 : 1,
      kindMatches ? 0 : 1,
      Math.abs(candidate.major - wanted.major),
      // A minor or patch step only means something within the same line.
      sameMajor ? Math.abs(candidate.minor - wanted.minor) : 0,
      sameMinor ? Math.abs(candidate.patch - wanted.patch) : 0,
      // On an equal step, the release before the wanted one (it existed when the tag was written).
      older ? 0 : 1,
    ],
  };
};

/**
 * Levenshtein distance, or `limit + 1` as soon as it must exceed `limit`: a band of width 2·limit+1 keeps
 * it O(n·limit) on a repository with thousands of tags.
 */
export const editDistance = (a: string, b: string, limit: number): number => {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(limit + 1);
    current[0] = i;
    let rowMinimum = current[0];
    const from = Math.max(1, i - limit);
    const to = Math.min(b.length, i + limit);
    for (let j = from; j <= to; j++) {
      const substitution = (previous[j - 1] ?? limit + 1) + (a[i - 1] === b[j - 1] ? 0 : 1);
      const deletion = (previous[j] ?? limit + 1) + 1;
      const insertion = (current[j - 1] ?? limit + 1) + 1;
      const cell = Math.min(substitution, deletion, insertion);
      current[j] = cell;
      if (cell < rowMinimum) rowMinimum = cell;
    }
    if (rowMinimum > limit) return limit + 1;
    previous = current;
  }
  return Math.min(previous[b.length] ?? limit + 1, limit + 1);
};

/** How different a tag may be and still be a plausible typo of the wanted one. */
const plausibleDistance = (wanted: string): number => Math.max(3, Math.ceil(wanted.length / 2));

const commonPrefix = (a: string, b: string): number => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};

/** At most `limit` tags from `tags`, nearest to `wanted` first; never `wanted` itself. */
export const nearestTags = (
  wanted: string,
  tags: readonly string[],
  limit: number = MAX_SUGGESTED_TAGS,
): string[] => {
  const wantedVersion = version(wanted);
  const cap = plausibleDistance(wanted);
  const byVersion: Ranked[] = [];
  const byDistance: Ranked[] = [];
  for (const tag of new Set(tags)) {
    if (tag === wanted) continue;
    const candidateVersion = wantedVersion ? version(tag) : null;
    if (wantedVersion && candidateVersion) {
      byVersion.push(versionRank(tag, wantedVersion, candidateVersion));
      continue;
    }
    const distance = editDistance(wanted, tag, cap);
    if (distance <= cap) byDistance.push({ tag, key: [distance, -commonPrefix(wanted, tag)] });
  }
  return [...byVersion.sort(compareRanked), ...byDistance.sort(compareRanked)]
    .slice(0, Math.max(0, limit))
    .map(({ tag }) => tag);
};
