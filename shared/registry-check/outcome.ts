/**
 * What the registry check asks per cause, and what its answers mean for the verdict: the outcome, one
 * sentence, and the nearest tags. The adapter (functions/_common/registry-check) only asks and reports.
 */
import type { CauseId } from '../diagnosis/causes';
import type { ImageReference } from '../image-ref';
import { MAX_SUGGESTED_TAGS, nearestTags } from './nearest-tags';

export const REGISTRY_CHECK_OUTCOMES = [
  'confirmed',
  'contradicted',
  'inconclusive',
  'unreachable',
  'skipped',
] as const;
export type RegistryCheckOutcome = (typeof REGISTRY_CHECK_OUTCOMES)[number];

export interface RegistryCheck {
  outcome: RegistryCheckOutcome;
  /** One sentence, with the image named. */
  summary: string;
  /** Why the check was skipped or could not reach the registry. */
  reason?: string;
  /** Nearest existing tags of the same repository, nearest first, at most 5. */
  suggestedTags: string[];
  /** os/architecture[/variant] the image's index offers. */
  platforms?: string[];
  /** True when an anonymous read of the image works. */
  public?: boolean;
  /** Where the check ran: "laptop", "AWS Lambda in account 123456789012 (eu-west-1)". */
  checkedFrom: string;
  checkedAt: string;
  durationMs: number;
}

/** What an incident keeps of a check, and what travels with its events: small, and no durations. */
export type IncidentRegistryCheck = Pick<
  RegistryCheck,
  'outcome' | 'summary' | 'suggestedTags' | 'platforms' | 'public' | 'checkedFrom' | 'checkedAt'
>;

/** Limits of what an incident keeps (the summary names the image and at most 5 tags). */
export const INCIDENT_CHECK_LIMITS = { summary: 600, tag: 128, platforms: 16, platform: 64 } as const;

export const incidentCheckOf = (check: RegistryCheck): IncidentRegistryCheck => ({
  outcome: check.outcome,
  summary: check.summary.slice(0, INCIDENT_CHECK_LIMITS.summary),
  suggestedTags: check.suggestedTags
    .filter((tag) => tag.length <= INCIDENT_CHECK_LIMITS.tag)
    .slice(0, MAX_SUGGESTED_TAGS),
  ...(check.platforms === undefined
    ? {}
    : {
        platforms: check.platforms
          .filter((platform) => platform.length <= INCIDENT_CHECK_LIMITS.platform)
          .slice(0, INCIDENT_CHECK_LIMITS.platforms),
      }),
  ...(check.public === undefined ? {} : { public: check.public }),
  checkedFrom: check.checkedFrom,
  checkedAt: check.checkedAt,
});

/** Whether two checks say the same (their times aside). */
export const sameAnswer = (a: IncidentRegistryCheck, b: IncidentRegistryCheck): boolean =>
  a.outcome === b.outcome &&
  a.summary === b.summary &&
  a.public === b.public &&
  a.checkedFrom === b.checkedFrom &&
  a.suggestedTags.join('\n') === b.suggestedTags.join('\n') &&
  (a.platforms ?? []).join('\n') === (b.platforms ?? []).join('\n');

/** What the registry is asked, by cause. */
export type CheckQuestion =
  /** Does the tag or digest exist, does the repository, and which tags are nearest? */
  | 'existence'
  /** Is an anonymous read refused, and do the given credentials read the image? */
  | 'access'
  /** Which platforms does the image's index offer? */
  | 'platforms'
  /** Does /v2/ answer, and with what status? */
  | 'reachability';

const QUESTIONS: Partial<Record<CauseId, CheckQuestion>> = {
  'image-not-found': 'existence',
  'repo-not-found-or-unauthorized': 'existence',
  'registry-auth': 'access',
  'pull-secret-missing': 'access',
  'platform-mismatch': 'platforms',
};

export const questionFor = (cause: CauseId): CheckQuestion => QUESTIONS[cause] ?? 'reachability';

/** One read of the image's manifest: the registry has it, says it has not, or refuses to say. */
export type Read = 'present' | 'absent' | 'refused';

export interface RegistryAnswers {
  /** GET /v2/ status (the registry API's ping). */
  ping?: number;
  /** Reading the manifest without credentials. */
  anonymous?: Read;
  /** Reading it with the credentials found for this registry; undefined when there are none. */
  authenticated?: Read;
  /** tags/list: 'absent' is NAME_UNKNOWN, the repository does not exist. */
  repository?: Read;
  tags?: readonly string[];
  /** The platforms of the image's index; empty for a single-platform manifest. */
  platforms?: readonly string[];
  /** Where the credentials came from, e.g. "docker config (credsStore osxkeychain)"; never the secret. */
  credentialSource?: string;
}

export type Judgement = Pick<RegistryCheck, 'outcome' | 'summary' | 'suggestedTags' | 'platforms' | 'public'>;

const NETWORK_CAUSES = new Set<CauseId>([
  'dns-resolution',
  'network-timeout',
  'connection-refused',
  'tls-error',
]);

const wantedOf = (ref: ImageReference): string =>
  ref.digest !== undefined ? `digest ${ref.digest}` : `tag ${ref.tag ?? 'latest'}`;

/** The read that says most: present beats absent beats refused. */
const bestRead = (answers: RegistryAnswers): Read | undefined => {
  const reads = [answers.anonymous, answers.authenticated];
  if (reads.includes('present')) return 'present';
  if (reads.includes('absent')) return 'absent';
  return reads.includes('refused') ? 'refused' : undefined;
};

const nearestText = (tags: readonly string[]): string =>
  tags.length > 0 ? `; nearest: ${tags.join(', ')}` : '; it has no tags';

const suggestionsFor = (ref: ImageReference, answers: RegistryAnswers): string[] =>
  answers.tags && ref.tag !== undefined ? nearestTags(ref.tag, answers.tags) : [];

const publicOf = (answers: RegistryAnswers): boolean | undefined =>
  answers.anonymous === undefined
    ? undefined
    : answers.anonymous === 'refused'
      ? false
      : // An anonymous "absent" from a registry that answers anonymously means anonymous reads work.
        true;

const missing = (ref: ImageReference, answers: RegistryAnswers): Judgement => {
  const suggestedTags = suggestionsFor(ref, answers);
  if (answers.repository === 'absent') {
    return {
      outcome: 'confirmed',
      summary: `${ref.repository} does not exist on its registry.`,
      suggestedTags: [],
    };
  }
  return {
    outcome: 'confirmed',
    summary:
      `${ref.repository} has no ${wantedOf(ref)}` +
      (answers.tags && ref.tag !== undefined ? nearestText(suggestedTags) : '') +
      '.',
    suggestedTags,
  };
};

const withPublic = (judgement: Judgement, answers: RegistryAnswers): Judgement => {
  const visibility = publicOf(answers);
  return visibility === undefined ? judgement : { ...judgement, public: visibility };
};

const judgeExistence = (cause: CauseId, ref: ImageReference, answers: RegistryAnswers): Judgement => {
  const read = bestRead(answers);
  if (read === 'absent') return withPublic(missing(ref, answers), answers);
  if (read === 'present') {
    if (cause === 'repo-not-found-or-unauthorized' && answers.anonymous === 'refused') {
      return withPublic(
        {
          outcome: 'confirmed',
          summary: `${ref.canonical} exists and your credentials read it, so the node's credentials are the problem.`,
          suggestedTags: [],
        },
        answers,
      );
    }
    return withPublic(
      {
        outcome: 'contradicted',
        summary: `${ref.canonical} exists now${answers.anonymous === 'present' ? ' and anonymous reads work' : ''}.`,
        suggestedTags: [],
      },
      answers,
    );
  }
  return withPublic(
    {
      outcome: 'inconclusive',
      summary:
        answers.authenticated === undefined
          ? `The registry refuses anonymous reads of ${ref.repository} and no credentials for it were found here.`
          : `The registry refuses to show ${ref.repository}, with or without your credentials.`,
      suggestedTags: [],
    },
    answers,
  );
};

const judgeAccess = (ref: ImageReference, answers: RegistryAnswers): Judgement => {
  if (answers.anonymous === 'present') {
    return {
      outcome: 'contradicted',
      summary: `Anonymous reads of ${ref.canonical} work: the image is public, so no credentials are needed.`,
      suggestedTags: [],
      public: true,
    };
  }
  if (bestRead(answers) === 'absent') {
    const { summary, suggestedTags } = missing(ref, answers);
    return withPublic(
      { outcome: 'contradicted', summary: `Not a credentials problem: ${summary}`, suggestedTags },
      answers,
    );
  }
  const summary =
    answers.authenticated === 'present'
      ? `Anonymous reads of ${ref.canonical} are refused and your credentials read it, so the node's credentials are the problem.`
      : answers.authenticated === 'refused'
        ? `The registry refuses ${ref.canonical} anonymously and with your credentials too.`
        : `Anonymous reads of ${ref.canonical} are refused; no credentials for this registry were found here to compare.`;
  return withPublic({ outcome: 'confirmed', summary, suggestedTags: [] }, answers);
};

const judgePlatforms = (ref: ImageReference, answers: RegistryAnswers): Judgement => {
  const read = bestRead(answers);
  if (read === 'absent') {
    const { summary, suggestedTags } = missing(ref, answers);
    return withPublic({ outcome: 'contradicted', summary, suggestedTags }, answers);
  }
  if (read === 'refused' || answers.platforms === undefined) {
    return withPublic(
      {
        outcome: 'inconclusive',
        summary: `The registry refuses to show ${ref.canonical}, so its platforms are unknown.`,
        suggestedTags: [],
      },
      answers,
    );
  }
  if (answers.platforms.length === 0) {
    return withPublic(
      {
        outcome: 'inconclusive',
        summary: `${ref.canonical} is a single-platform image, not an index; its platform is in the image config.`,
        suggestedTags: [],
        platforms: [],
      },
      answers,
    );
  }
  return withPublic(
    {
      outcome: 'confirmed',
      summary: `${ref.canonical} offers only ${answers.platforms.join(', ')}.`,
      suggestedTags: [],
      platforms: [...answers.platforms],
    },
    answers,
  );
};

const judgeReachability = (cause: CauseId, ref: ImageReference, answers: RegistryAnswers): Judgement => {
  const status = answers.ping;
  const host = ref.registry;
  if (status === undefined) {
    return { outcome: 'inconclusive', summary: `${host} was not asked.`, suggestedTags: [] };
  }
  const answering = status < 500;
  if (cause === 'registry-unavailable') {
    return answering
      ? {
          outcome: 'contradicted',
          summary: `${host} answers normally now (HTTP ${status} to /v2/).`,
          suggestedTags: [],
        }
      : { outcome: 'confirmed', summary: `${host} answers HTTP ${status} to /v2/.`, suggestedTags: [] };
  }
  if (NETWORK_CAUSES.has(cause) && answering) {
    return {
      outcome: 'inconclusive',
      summary: `${host} answers from here (HTTP ${status} to /v2/), so the difference is the node's network path.`,
      suggestedTags: [],
    };
  }
  return {
    outcome: 'inconclusive',
    summary: `${host} answers HTTP ${status} to /v2/; this cause is not something the registry can confirm.`,
    suggestedTags: [],
  };
};

/** The outcome of a check that got answers from the registry. */
export const judgeRegistryAnswers = (
  cause: CauseId,
  ref: ImageReference,
  answers: RegistryAnswers,
): Judgement => {
  const question = questionFor(cause);
  if (question !== 'reachability' && answers.ping !== undefined && ![200, 401].includes(answers.ping)) {
    return {
      outcome: 'inconclusive',
      summary: `${ref.registry} answers HTTP ${answers.ping} to /v2/, so nothing more was asked.`,
      suggestedTags: [],
    };
  }
  switch (question) {
    case 'existence':
      return judgeExistence(cause, ref, answers);
    case 'access':
      return judgeAccess(ref, answers);
    case 'platforms':
      return judgePlatforms(ref, answers);
    case 'reachability':
      return judgeReachability(cause, ref, answers);
  }
};

/** A check that did not get its answers: refused by the safety rules, or no way to reach the registry. */
export const unanswered = (
  outcome: 'skipped' | 'unreachable',
  image: string,
  reason: string,
): Pick<RegistryCheck, 'outcome' | 'summary' | 'reason' | 'suggestedTags'> => ({
  outcome,
  summary:
    outcome === 'skipped'
      ? `The registry check of ${image} was skipped: ${reason}.`
      : `The registry of ${image} could not be reached from here: ${reason}.`,
  reason,
  suggestedTags: [],
});

export const REGISTRY_CHECK_MARKS: Record<RegistryCheckOutcome, string> = {
  confirmed: '✔',
  contradicted: '✘',
  inconclusive: '?',
  unreachable: '⚠',
  skipped: '–',
};

/** "✔ confirmed from laptop at 10:02 UTC: ghcr.io/acme/agent has no tag 3.4.1; nearest: 3.4.0." */
export const registryCheckLine = (check: IncidentRegistryCheck): string =>
  `${REGISTRY_CHECK_MARKS[check.outcome]} ${check.outcome} from ${check.checkedFrom} at ${check.checkedAt.slice(11, 16)} UTC: ${check.summary}`;
