/**
 * The registry check: asks the image's registry what the verdict's cause needs to know
 * (shared/registry-check/outcome.ts) and turns the answers into a `RegistryCheck`.
 *
 * Bounded: each request gets at most `requestTimeoutMs` (2 s), the whole check `checkTimeoutMs` (5 s),
 * and every answer a size limit. It never throws for anything the registry or the network does: a refusal
 * by the safety rules is `skipped` with the reason, no way through is `unreachable`. The CLI calls it from
 * a laptop; the pipeline can call the same `RegistryChecker` with its own policy, budget and cache.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { CauseId } from '#shared/diagnosis/causes';
import { type ImageReference, parseImageRef } from '#shared/image-ref';
import { detectRegistry } from '#shared/registry';
import { apiHostOf } from '#shared/registry-check/distribution';
import {
  type CheckQuestion,
  type RegistryAnswers,
  type RegistryCheck,
  judgeRegistryAnswers,
  questionFor,
  unanswered,
} from '#shared/registry-check/outcome';
import { type RegistryCheckPolicy, urlAllowed } from '#shared/registry-check/url-safety';
import { CheckCache } from './check-cache';
import type { CredentialLookup, RegistryCredentials } from './credentials';
import { type AnswerLimits, DEFAULT_LIMITS, RegistrySession, ping } from './distribution-client';
import { ecrAnswers } from './ecr-answers';
import { type CheckBudget, CheckRefused, GuardedHttp, RegistryUnreachable } from './guarded-http';

export interface RegistryCheckOptions {
  policy: RegistryCheckPolicy;
  /** "laptop", "AWS Lambda in account 123456789012 (eu-west-1)". */
  checkedFrom: string;
  credentials: CredentialLookup;
  /** A client for private ECR in `region`; without it, ECR is read through the registry API. */
  ecrClient?: (region: string) => ECRClient;
  requestTimeoutMs?: number;
  checkTimeoutMs?: number;
  limits?: Partial<AnswerLimits>;
  now?: () => Date;
  /** Told each origin a connection is opened to: for logs, and for tests that prove nothing else was. */
  onContact?: (origin: string) => void;
}

export interface CheckSubject {
  cause: CauseId;
  /** The image reference as the pod spec has it. */
  image: string | undefined;
}

export const REQUEST_TIMEOUT_MS = 2_000;
export const CHECK_TIMEOUT_MS = 5_000;

interface Asking {
  ref: ImageReference;
  question: CheckQuestion;
  options: RegistryCheckOptions;
  budget: CheckBudget;
  limits: AnswerLimits;
  http: GuardedHttp;
}

const registryOrigin = (ref: ImageReference, policy: RegistryCheckPolicy): string => {
  const host = apiHostOf(ref.registry);
  const plain = urlAllowed(`http://${host}/v2/`, 'registry', [], policy).ok;
  return `${plain ? 'http' : 'https'}://${host}`;
};

const reference = (ref: ImageReference): string => ref.digest ?? ref.tag ?? 'latest';

/** Asks the registry API, as one anonymous session and (when needed and found) one with credentials. */
const askRegistry = async ({
  ref,
  question,
  options,
  budget,
  limits,
  http,
}: Asking): Promise<RegistryAnswers> => {
  const origin = registryOrigin(ref, options.policy);
  http.vet(`${origin}/v2/`, 'registry');
  const registryPing = await ping(http, origin, limits);
  const answers: RegistryAnswers = { ping: registryPing.status };
  if (question === 'reachability' || ![200, 401].includes(registryPing.status)) return answers;

  const session = (credentials?: RegistryCredentials) =>
    new RegistrySession(http, origin, ref.path, registryPing, credentials, limits);
  const anonymous = session();
  let authenticated: RegistrySession | undefined;
  const withCredentials = async (): Promise<RegistrySession | undefined> => {
    const credentials = await options.credentials(
      ref.registry,
      ref.path,
      Math.min(budget.requestTimeoutMs, budget.remainingMs()),
    );
    if (!credentials) return undefined;
    answers.credentialSource = credentials.source;
    return session(credentials);
  };

  if (question === 'platforms') {
    const read = await anonymous.platforms(reference(ref));
    answers.anonymous = read.read;
    if (read.platforms) answers.platforms = read.platforms;
    if (read.read === 'refused') {
      authenticated = await withCredentials();
      if (authenticated) {
        const second = await authenticated.platforms(reference(ref));
        answers.authenticated = second.read;
        if (second.platforms) answers.platforms = second.platforms;
      }
    }
  } else {
    answers.anonymous = await anonymous.manifest(reference(ref));
    // Existence needs credentials only when anonymous reads are refused; access compares the two.
    if (answers.anonymous === 'refused' || (question === 'access' && answers.anonymous !== 'present')) {
      authenticated = await withCredentials();
      if (authenticated) answers.authenticated = await authenticated.manifest(reference(ref));
    }
  }
  const lister =
    answers.authenticated === 'absent'
      ? authenticated
      : answers.anonymous === 'absent'
        ? anonymous
        : undefined;
  if (lister) {
    const listed = await lister.tags();
    answers.repository = listed.read;
    answers.tags = listed.tags;
  }
  return answers;
};

const askEcr = (asking: Asking, ecr: { accountId: string; region: string }, client: ECRClient) =>
  ecrAnswers(
    client,
    {
      accountId: ecr.accountId,
      region: ecr.region,
      repositoryName: asking.ref.path,
      ...(asking.ref.tag === undefined ? {} : { tag: asking.ref.tag }),
      ...(asking.ref.digest === undefined ? {} : { digest: asking.ref.digest }),
    },
    asking.question,
    asking.budget,
  );

/** One check, uncached. */
export const checkRegistry = async (
  subject: CheckSubject,
  options: RegistryCheckOptions,
): Promise<RegistryCheck> => {
  const started = performance.now();
  const checkedAt = (options.now?.() ?? new Date()).toISOString();
  const budget: CheckBudget = {
    requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    remainingMs: () => (options.checkTimeoutMs ?? CHECK_TIMEOUT_MS) - (performance.now() - started),
  };
  const finish = (
    result: Omit<RegistryCheck, 'checkedFrom' | 'checkedAt' | 'durationMs'>,
  ): RegistryCheck => ({
    ...result,
    checkedFrom: options.checkedFrom,
    checkedAt,
    durationMs: Math.round(performance.now() - started),
  });
  const image = subject.image;
  if (image === undefined || image === '') {
    return finish(unanswered('skipped', 'the image', 'the verdict names no image'));
  }
  const parsed = parseImageRef(image);
  if (!parsed.ok) {
    return finish(
      unanswered(
        'skipped',
        JSON.stringify(image.slice(0, 80)),
        `the image reference is invalid (${parsed.problem.message})`,
      ),
    );
  }
  const ref = parsed.ref;
  const question = questionFor(subject.cause);
  const asking: Asking = {
    ref,
    question,
    options,
    budget,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    http: new GuardedHttp(options.policy, budget, options.onContact),
  };
  try {
    const registry = detectRegistry(ref.registry, ref.path);
    const answers =
      registry.ecr && options.ecrClient && question !== 'reachability'
        ? await askEcr(asking, registry.ecr, options.ecrClient(registry.ecr.region))
        : await askRegistry(asking);
    return finish(judgeRegistryAnswers(subject.cause, ref, answers));
  } catch (error) {
    if (error instanceof CheckRefused) return finish(unanswered('skipped', ref.canonical, error.message));
    if (error instanceof RegistryUnreachable)
      return finish(unanswered('unreachable', ref.canonical, error.message));
    throw error;
  }
};

const cacheKey = (subject: CheckSubject): string => `${subject.cause}\u0000${subject.image ?? ''}`;

/** Checks with a per-image cache: what a long-lived process (local mode, a warm Lambda) keeps. */
export class RegistryChecker {
  private readonly cache: CheckCache<RegistryCheck>;

  constructor(
    private readonly options: RegistryCheckOptions,
    cacheTtlMs: number,
  ) {
    this.cache = new CheckCache(cacheTtlMs, () => (options.now?.() ?? new Date()).getTime());
  }

  check(subject: CheckSubject): Promise<RegistryCheck> {
    return this.cache.get(cacheKey(subject), () => checkRegistry(subject, this.options));
  }

  /** The cached answer, if one is in. */
  cached(subject: CheckSubject): RegistryCheck | undefined {
    return this.cache.peek(cacheKey(subject));
  }
}
