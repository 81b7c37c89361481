/**
 * `--check` for `explain` and `diagnose`: the registry check run from this machine, with the user's own
 * registry credentials and AWS credentials, and the hosts the user listed. Loaded only with `--check`.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import type { Verdict } from '#shared/diagnosis/diagnose';
import type { RegistryCheck } from '#shared/registry-check/outcome';
import { withSuggestedTag } from '#shared/registry-check/suggested-fix';
import { RegistryChecker } from '../functions/_common/registry-check/check';
import { ecosystemCredentials } from '../functions/_common/registry-check/credentials';

export interface CheckOptions {
  check?: boolean;
  /** Registries (host or host:port) the check may reach on a loopback or private address. */
  checkTrust?: string[];
  /** Registries the check may reach over plain HTTP. */
  checkPlainHttp?: string[];
}

export type CheckedVerdict = Verdict & { registryCheck?: RegistryCheck };

/** Results are kept for the life of the command: `diagnose --all` asks once per image and cause. */
const COMMAND_CACHE_MS = 10 * 60_000;

export const laptopChecker = (options: CheckOptions, env: NodeJS.ProcessEnv = process.env): RegistryChecker =>
  new RegistryChecker(
    {
      policy: {
        trusted: options.checkTrust ?? [],
        plainHttp: options.checkPlainHttp ?? [],
        // A laptop's private ranges are its own network (a VPN, the office): the user's to reach.
        denyPrivate: false,
      },
      checkedFrom: 'laptop',
      credentials: ecosystemCredentials(env),
      // One attempt: the check's own 2 s / 5 s budget is the retry policy.
      ecrClient: (region) => new ECRClient({ region, maxAttempts: 1 }),
    },
    COMMAND_CACHE_MS,
  );

export const withRegistryCheck = async (
  verdict: Verdict,
  image: string | undefined,
  checker: RegistryChecker,
): Promise<CheckedVerdict> => {
  const registryCheck = await checker.check({ cause: verdict.cause, image: image ?? verdict.image });
  // The fix's `<existing-tag>` becomes the nearest tag, marked as a suggestion.
  return { ...withSuggestedTag(verdict, registryCheck), registryCheck };
};
