/**
 * The registry check as the pipeline runs it (classify in AWS, local mode on a laptop): only the images
 * the config puts in scope (shared/registry-check/check-config.ts), within the config's budget, each
 * image and cause asked once per cache period, and the answer cut to what an incident keeps.
 *
 * `known` answers without waiting (a cached answer travels with the first event); `ask` may take up to
 * the budget, and never throws for anything a registry does.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import {
  REQUEST_TIMEOUT_SECONDS,
  type RegistryCheckConfig,
  registryCheckScope,
} from '#shared/registry-check/check-config';
import { type IncidentRegistryCheck, incidentCheckOf } from '#shared/registry-check/outcome';
import { type CheckSubject, RegistryChecker } from './check';
import type { CredentialLookup } from './credentials';

/** Where the check runs, and with what. */
export interface CheckSite {
  /** "laptop", "AWS Lambda in account 123456789012 (eu-west-1)". */
  checkedFrom: string;
  /** True in AWS: private ranges are not the operator's to reach unless listed (privateRegistries). */
  denyPrivate: boolean;
  credentials: CredentialLookup;
  /** A client for private ECR in a region (only the repositories the config lists are asked). */
  ecrClient?: (region: string) => ECRClient;
  now?: () => Date;
  onContact?: (origin: string) => void;
}

/** One ECR client per region, made on first use; one attempt each: the check's budget is the retry policy. */
export const ecrClientsByRegion = (): ((region: string) => ECRClient) => {
  const clients = new Map<string, ECRClient>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new ECRClient({ region, maxAttempts: 1 });
      clients.set(region, client);
    }
    return client;
  };
};

export class PipelineRegistryCheck {
  private readonly checker: RegistryChecker;

  constructor(
    readonly config: RegistryCheckConfig,
    site: CheckSite,
  ) {
    const checkTimeoutMs = config.timeoutSeconds * 1000;
    this.checker = new RegistryChecker(
      {
        policy: {
          plainHttp: config.plainHttpRegistries,
          trusted: config.privateRegistries,
          denyPrivate: site.denyPrivate,
        },
        checkedFrom: site.checkedFrom,
        credentials: site.credentials,
        ...(site.ecrClient === undefined ? {} : { ecrClient: site.ecrClient }),
        requestTimeoutMs: Math.min(REQUEST_TIMEOUT_SECONDS * 1000, checkTimeoutMs),
        checkTimeoutMs,
        ...(site.now === undefined ? {} : { now: site.now }),
        ...(site.onContact === undefined ? {} : { onContact: site.onContact }),
      },
      config.cacheMinutes * 60_000,
    );
  }

  /** Whether this image is asked about at all. */
  inScope(subject: CheckSubject): boolean {
    return registryCheckScope(this.config, subject.image).check;
  }

  /** The answer already in the cache, without asking. */
  known(subject: CheckSubject): IncidentRegistryCheck | undefined {
    if (!this.inScope(subject)) return undefined;
    const cached = this.checker.cached(subject);
    return cached === undefined ? undefined : incidentCheckOf(cached);
  }

  /** Asks the registry (or the cache); undefined when the image is out of scope. */
  async ask(subject: CheckSubject): Promise<IncidentRegistryCheck | undefined> {
    if (!this.inScope(subject)) return undefined;
    return incidentCheckOf(await this.checker.check(subject));
  }
}

/**
 * The check as a Lambda runs it (classify, and the actions worker's re-check): private ranges only
 * where the config lists them, ECR read by the function's own role (infra grants it on the listed
 * repositories), other registries anonymously. Undefined when the config turns the check off.
 */
export const lambdaRegistryCheck = (
  config: RegistryCheckConfig,
  checkedFrom: string | undefined,
  region: string | undefined,
): PipelineRegistryCheck | undefined =>
  config.enabled
    ? new PipelineRegistryCheck(config, {
        checkedFrom: checkedFrom ?? `AWS Lambda (${region ?? 'unknown region'})`,
        denyPrivate: true,
        credentials: async () => undefined,
        ecrClient: ecrClientsByRegion(),
      })
    : undefined;
