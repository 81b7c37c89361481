/**
 * The deployment config: one JSON file per account and region (`infra/config/<name>.json`, selected
 * with `npx cdk synth -c config=<name>`), validated here with zod. A bad file fails synth with one
 * line per problem, each naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DURATION_EXAMPLES, durationText, parseDuration } from '#shared/duration';
import { isChannel } from '#shared/routing';
import { MUTE_ALLOW_ID } from '#shared/incident-actions';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';

export const CONFIG_DIR = join(__dirname, 'config');
export const DEFAULT_CONFIG_NAME = 'example';

// ---------------------------------------------------------------------------------------------
// Durations, parsed as the functions and local mode parse them (shared/duration.ts): `30s`, `5m`,
// `2h`, `90d`, `1h30m`.

const duration = (what: string, minMs = 0) =>
  z.string({ error: `must be a duration like ${DURATION_EXAMPLES} (${what})` }).transform((text, context) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch {
      context.addIssue({
        code: 'custom',
        message: `must be a duration like ${DURATION_EXAMPLES} (${what}), got "${text}"`,
      });
      return z.NEVER;
    }
    if (ms < minMs) {
      context.addIssue({ code: 'custom', message: `must be at least ${durationText(minMs)} (${what})` });
      return z.NEVER;
    }
    return ms;
  });

const DAY_MS = 86_400_000;

const wholeDays = (what: string, allowed?: readonly number[]) =>
  duration(what).transform((ms, context) => {
    const days = ms / DAY_MS;
    if (!Number.isInteger(days) || days < 1) {
      context.addIssue({ code: 'custom', message: `must be a whole number of days like "30d" (${what})` });
      return z.NEVER;
    }
    if (allowed !== undefined && !allowed.includes(days)) {
      context.addIssue({
        code: 'custom',
        message: `must be one of ${allowed.map((d) => `${d}d`).join(', ')} (${what}), got "${days}d"`,
      });
      return z.NEVER;
    }
    return days;
  });

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

// ---------------------------------------------------------------------------------------------
// The schema

/** EKS cluster names: letters, digits, `-` and `_`, starting with a letter or digit, at most 100. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** Slack channel id (C…, G…) or name, as the functions accept it (shared/routing.ts). */
const channel = () =>
  z.string().refine(isChannel, 'must be a Slack channel id (C0123ABCD) or name (#alerts)');
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/([^\s/][^\s]*)$/;
const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const podIdentityAuth = z.strictObject({
  type: z.literal('pod-identity'),
  /** The EKS cluster's own name, when it differs from the pullwatch cluster name. */
  eksClusterName: z.string().regex(CLUSTER_NAME, 'must be an EKS cluster name').optional(),
  /** Also create the EKS pod identity association (the cluster must be in this account and region). */
  createAssociation: z.boolean().default(false),
});

const irsaAuth = z
  .strictObject({
    type: z.literal('irsa'),
    oidcProviderArn: z
      .string()
      .regex(
        OIDC_PROVIDER_ARN,
        'must be an IAM OIDC provider ARN: arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>',
      ),
    /** The cluster's OIDC issuer URL; when given it must agree with the provider ARN. */
    oidcIssuerUrl: z
      .string()
      .regex(/^https:\/\/\S+$/, 'must be the https:// OIDC issuer URL of the cluster')
      .optional(),
  })
  .superRefine((auth, context) => {
    if (auth.oidcIssuerUrl === undefined) return;
    const fromArn = OIDC_PROVIDER_ARN.exec(auth.oidcProviderArn)?.[1];
    const fromUrl = auth.oidcIssuerUrl.replace(/^https:\/\//, '').replace(/\/$/, '');
    if (fromArn !== undefined && fromArn !== fromUrl) {
      context.addIssue({
        code: 'custom',
        path: ['oidcIssuerUrl'],
        message: `must name the same issuer as oidcProviderArn ("${fromArn}"), got "${fromUrl}"`,
      });
    }
  });

const clusterSchema = z.strictObject({
  /** The name the forwarder reports (PULLWATCH_CLUSTER). */
  name: z.string().regex(CLUSTER_NAME, 'must be letters, digits, "-" or "_" (at most 100)'),
  auth: z.discriminatedUnion('type', [podIdentityAuth, irsaAuth], {
    error: 'must be {"type": "pod-identity"} or {"type": "irsa", "oidcProviderArn": "…"}',
  }),
});

const routeSchema = z.strictObject({
  cluster: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  channel: channel(),
});

const tokenSchema = z.discriminatedUnion(
  'source',
  [
    z.strictObject({
      source: z.literal('create'),
      /** Name of the empty secret to create; CloudFormation picks one when omitted. */
      secretName: z.string().regex(SECRET_NAME, 'must be a Secrets Manager secret name').optional(),
    }),
    z.strictObject({
      source: z.literal('existing'),
      secretName: z.string().regex(SECRET_NAME, 'must be a Secrets Manager secret name'),
    }),
  ],
  {
    error: 'must be {"source": "create"} or {"source": "existing", "secretName": "…"}',
  },
);

export const infraConfigSchema = z
  .strictObject({
    /** Shown in error messages and the README only. */
    description: z.string().optional(),
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name')
      .default('pullwatch'),
    /** Pins the stack to one account and region; an environment-agnostic stack when omitted. */
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1')
      .optional(),
    /** The bus the forwarders put events on (their PULLWATCH_EVENT_BUS). */
    busName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be an EventBridge bus name')
      .refine((name) => name !== 'default', 'must not be "default": pullwatch uses its own bus')
      .default('pullwatch'),
    clusters: z
      .array(clusterSchema)
      .min(1, 'must list at least one cluster')
      .superRefine((clusters, context) => {
        const seen = new Set<string>();
        clusters.forEach((cluster, index) => {
          const key = cluster.name.toLowerCase();
          if (seen.has(key)) {
            context.addIssue({
              code: 'custom',
              path: [index, 'name'],
              message: `"${cluster.name}" is listed twice`,
            });
          }
          seen.add(key);
        });
      }),
    slack: z.strictObject({
      defaultChannel: channel(),
      routes: z.array(routeSchema).default([]),
      token: tokenSchema,
      /** The Web API base URL (GovSlack or a proxy). */
      apiUrl: z
        .string()
        .regex(/^https:\/\/\S+\/$/, 'must be an https:// URL ending in "/"')
        .default('https://slack.com/api/'),
      /** Actions from Slack (acknowledge, snooze, mute, re-check): the interactivity endpoint is deployed. */
      interactivity: z
        .strictObject({
          teamIds: z.array(z.string().regex(/^[TE][A-Z0-9]{2,30}$/, 'must be a Slack team id (T…)')).min(1),
          appIds: z.array(z.string().regex(/^A[A-Z0-9]{2,30}$/, 'must be a Slack app id (A…)')).min(1),
          /** When set, only these users (U…, W…) and members of these user groups (S…) may mute. */
          muteUsers: z
            .array(z.string().regex(MUTE_ALLOW_ID, 'must be a Slack user id (U…, W…) or user group id (S…)'))
            .optional(),
        })
        .optional(),
    }),
    windows: z
      .strictObject({
        updateInterval: duration('least time between two updates of a Slack message').default(300_000),
        quietPeriod: duration('quiet time before an incident resolves').default(120_000),
        reopenWindow: duration('how long a resolved incident can reopen').default(1_800_000),
        stormWindow: duration('window in which a storm of incidents opens').default(120_000),
        stormHold: duration('how long a first post waits to learn whether it belongs to a storm').default(
          30_000,
        ),
      })
      .prefault({}),
    stormThreshold: z
      .int('must be a whole number')
      .min(2, 'must be at least 2 (incidents that make a storm)')
      .default(5),
    watchdogSilence: duration('heartbeat silence before a cluster is reported silent', 120_000).default(
      600_000,
    ),
    historyRetention: wholeDays('how long resolved incidents are kept').default(90),
    logRetention: wholeDays('function log retention', LOG_RETENTION_DAYS).default(30),
    archiveRetention: wholeDays('how long forwarder events are archived for replay').default(14),
    alarmEmails: z.array(z.string().regex(EMAIL, 'must be an email address')).default([]),
    /** The registry check after classify (shared/registry-check/check-config.ts); off by default. */
    registryCheck: registryCheckConfigSchema.prefault({}),
    /** A central account's bus that receives this account's incident events. */
    centralBusArn: z
      .string()
      .regex(
        EVENT_BUS_ARN,
        'must be an EventBridge bus ARN: arn:aws:events:<region>:<account>:event-bus/<name>',
      )
      .optional(),
  })
  .superRefine((config, context) => {
    if (config.account !== undefined && config.centralBusArn?.split(':')[4] === config.account) {
      context.addIssue({
        code: 'custom',
        path: ['centralBusArn'],
        message: 'must be a bus in another account (this one already has the events)',
      });
    }
    const check = config.registryCheck;
    if (!check.enabled && check.ecrRepositories.length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['registryCheck', 'ecrRepositories'],
        message: 'grants ECR reads only for the check: set registryCheck.enabled to true, or remove them',
      });
    }
    config.clusters.forEach((cluster, index) => {
      if (cluster.auth.type !== 'irsa' || config.account === undefined) return;
      const account = cluster.auth.oidcProviderArn.split(':')[4];
      if (account !== config.account) {
        context.addIssue({
          code: 'custom',
          path: ['clusters', index, 'auth', 'oidcProviderArn'],
          message: `must be an OIDC provider in this account (${config.account}), got ${account}`,
        });
      }
    });
  });

/** The config as the stack uses it: durations in milliseconds, retentions in days. */
export type InfraConfig = z.output<typeof infraConfigSchema>;
export type ClusterConfig = InfraConfig['clusters'][number];
export type ClusterAuth = ClusterConfig['auth'];

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
}

const fieldOf = (path: readonly PropertyKey[]): string =>
  path.length > 0 ? path.map(String).join('.') : '(root)';

const describe = (issue: z.core.$ZodIssue): string[] => {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${fieldOf([...issue.path, key])}: unknown field (check its spelling)`);
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return [`${fieldOf(issue.path)}: is required (${issue.expected})`];
  }
  return [`${fieldOf(issue.path)}: ${issue.message}`];
};

/** Validates a parsed config; `source` names it in errors. Throws InfraConfigError listing every problem. */
export const parseInfraConfig = (input: unknown, source = 'config'): InfraConfig => {
  const result = infraConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap(describe).map((line) => `  ${line}`);
  throw new InfraConfigError(`${source} is invalid:\n${lines.join('\n')}`);
};

/** `example` → infra/config/example.json; a name with a slash or ending in .json is a path. */
export const configPath = (nameOrPath: string): string =>
  nameOrPath.includes('/') || nameOrPath.endsWith('.json')
    ? isAbsolute(nameOrPath)
      ? nameOrPath
      : resolve(nameOrPath)
    : join(CONFIG_DIR, `${nameOrPath}.json`);

/** Reads and validates `-c config=<name>` (infra/config/<name>.json). */
export const loadInfraConfig = (nameOrPath: string = DEFAULT_CONFIG_NAME): InfraConfig => {
  const path = configPath(nameOrPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InfraConfigError(
      `config "${nameOrPath}" not found: expected ${path} (pass -c config=<name> for infra/config/<name>.json)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InfraConfigError(
      `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseInfraConfig(parsed, path);
};
