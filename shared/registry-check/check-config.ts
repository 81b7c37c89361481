/**
 * The pipeline's registry check settings (one deployment's `registryCheck` section, local mode's
 * PULLWATCH_REGISTRY_CHECK), validated by one schema for the CDK config, the functions and local mode,
 * and the scope rule: which images the pipeline may ask about at all. An image out of scope is not
 * checked and shows nothing (the config chose not to ask), unlike a check the safety rules refuse
 * (`skipped`, with the reason).
 *
 * Pure: zod and the image grammar only.
 */
import { z } from 'zod';
import {
  InvalidValue,
  type Setting,
  TEXT,
  type ValueKind,
  optional,
  withDefault,
} from '#shared/config-table';
import { type ImageReference, parseImageRef } from '#shared/image-ref';
import { detectRegistry } from '#shared/registry';
import { globToRegExp } from '#shared/routing';

/** The issue's bound: a check never takes longer than this, whatever the config says. */
export const MAX_CHECK_TIMEOUT_SECONDS = 5;
/** One request's bound (a check with a shorter timeout bounds its requests by that). */
export const REQUEST_TIMEOUT_SECONDS = 2;

/** host, host:port or a glob of them (`*.example.com`, `registry-?.corp:5000`). */
const HOST_GLOB = /^[A-Za-z0-9*?[\]:._-]{1,253}$/;
const hostGlob = () =>
  z.string().regex(HOST_GLOB, 'must be a registry host (host or host:port; * and ? are globs)');

/** `arn:aws:ecr:<region>:<account>:repository/<name>`; the name may end in `*` (a prefix). */
const ECR_REPOSITORY_ARN =
  /^arn:aws[a-z-]*:ecr:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):repository\/([a-z0-9][a-z0-9._/-]*\*?|\*)$/;

export const registryCheckConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Registries the check may ask (globs over host[:port]); the default is every registry. */
  allowedRegistries: z.array(hostGlob()).default(['*']),
  /** Registries never asked, even when an allowed glob matches. */
  deniedRegistries: z.array(hostGlob()).default([]),
  /**
   * Private ECR repositories the check may read, by ARN (a trailing `*` is a prefix): the IAM policy
   * grants ecr:DescribeImages, ecr:ListImages and ecr:BatchGetImage on exactly these. Other ECR
   * repositories are not checked.
   */
  ecrRepositories: z
    .array(
      z
        .string()
        .regex(
          ECR_REPOSITORY_ARN,
          'must be an ECR repository ARN: arn:aws:ecr:<region>:<account>:repository/<name> (a trailing * is a prefix)',
        ),
    )
    .default([]),
  /** Registries that may resolve to loopback or private addresses (a Lambda in a VPC, a laptop's lab). */
  privateRegistries: z.array(hostGlob()).default([]),
  /** Registries asked over plain HTTP (never the default). */
  plainHttpRegistries: z.array(hostGlob()).default([]),
  /** The whole check's budget, in seconds (requests: at most 2 s each). */
  timeoutSeconds: z
    .number()
    .min(0.5, 'must be at least 0.5 (seconds)')
    .max(MAX_CHECK_TIMEOUT_SECONDS, `must be at most ${MAX_CHECK_TIMEOUT_SECONDS} (seconds)`)
    .default(MAX_CHECK_TIMEOUT_SECONDS),
  /** How long one image's answer is reused: a storm asks once. */
  cacheMinutes: z.int('must be a whole number').min(0).max(1440).default(5),
});

export type RegistryCheckConfig = z.output<typeof registryCheckConfigSchema>;

export const DISABLED_REGISTRY_CHECK: RegistryCheckConfig = registryCheckConfigSchema.parse({});

export interface EcrRepositoryPattern {
  region: string;
  accountId: string;
  /** The repository name, or a prefix of it ending in `*`. */
  name: string;
}

export const ecrRepositoryPattern = (arn: string): EcrRepositoryPattern | undefined => {
  const match = ECR_REPOSITORY_ARN.exec(arn);
  return match ? { region: match[1]!, accountId: match[2]!, name: match[3]! } : undefined;
};

const matchesAny = (globs: readonly string[], host: string): boolean =>
  globs.some((glob) => globToRegExp(glob.toLowerCase()).test(host.toLowerCase()));

export type CheckScope = { check: true; ref: ImageReference; ecr: boolean } | { check: false; why: string };

/** Whether the pipeline asks about this image, and through which API (ECR's own, or the registry's). */
export const registryCheckScope = (config: RegistryCheckConfig, image: string | undefined): CheckScope => {
  if (!config.enabled) return { check: false, why: 'the registry check is disabled' };
  if (image === undefined || image === '') return { check: false, why: 'no image' };
  const parsed = parseImageRef(image);
  // Nothing to ask about: the verdict already says the reference is invalid.
  if (!parsed.ok) return { check: false, why: 'the image reference is invalid' };
  const ref = parsed.ref;
  if (matchesAny(config.deniedRegistries, ref.registry))
    return { check: false, why: `${ref.registry} is in deniedRegistries` };
  const ecr = detectRegistry(ref.registry, ref.path).ecr;
  if (ecr !== undefined) {
    const listed = config.ecrRepositories.some((arn) => {
      const pattern = ecrRepositoryPattern(arn);
      if (!pattern || pattern.region !== ecr.region || pattern.accountId !== ecr.accountId) return false;
      return pattern.name === '*' || pattern.name.endsWith('*')
        ? ref.path.startsWith(pattern.name.slice(0, -1))
        : ref.path === pattern.name;
    });
    return listed
      ? { check: true, ref, ecr: true }
      : { check: false, why: `${ref.repository} is not in ecrRepositories` };
  }
  if (!matchesAny(config.allowedRegistries, ref.registry))
    return { check: false, why: `${ref.registry} is not in allowedRegistries` };
  return { check: true, ref, ecr: false };
};

/** PULLWATCH_REGISTRY_CHECK: the section as JSON (classify in AWS, written by the stack; local mode). */
const registryCheckKind: ValueKind<RegistryCheckConfig> = {
  parse: (text) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InvalidValue(
        `must be JSON like {"enabled": true, "allowedRegistries": ["*"]}, got "${text}"`,
      );
    }
    const result = registryCheckConfigSchema.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`,
      );
      throw new InvalidValue(`is invalid: ${problems.join('; ')}`);
    }
    return result.data;
  },
  format: (value) => JSON.stringify(value),
};

export const REGISTRY_CHECK_SETTING: Setting<RegistryCheckConfig> = withDefault(
  {
    name: 'PULLWATCH_REGISTRY_CHECK',
    purpose:
      'the registry check: JSON {"enabled", "allowedRegistries", "deniedRegistries", "ecrRepositories", …}',
    kind: registryCheckKind,
  },
  DISABLED_REGISTRY_CHECK,
);

/** Where the check runs, as its answers say it; the stack writes it (the account and region). */
export const REGISTRY_CHECK_FROM_SETTING: Setting<string | undefined> = optional({
  name: 'PULLWATCH_REGISTRY_CHECK_FROM',
  purpose: 'where the registry check runs, as messages say it ("AWS Lambda in account … (eu-west-1)")',
  kind: TEXT,
});

/** The settings of a function that runs the check (classify, the actions worker's re-check). */
export const REGISTRY_CHECK_SETTINGS = {
  registryCheck: REGISTRY_CHECK_SETTING,
  registryCheckFrom: REGISTRY_CHECK_FROM_SETTING,
};
