/**
 * The pullwatch event contract, defined once. The forwarder produces these events, the backend
 * consumes them, and the CDK rules, a local bus and the tests all import the same constants.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { z } from 'zod';

export const SOURCE = 'pullwatch' as const;

export const DETAIL_TYPE = {
  failed: 'ImagePullFailed',
  recovered: 'ImagePullRecovered',
  heartbeat: 'ForwarderHeartbeat',
} as const;
export type DetailType = (typeof DETAIL_TYPE)[keyof typeof DETAIL_TYPE];

/** Bumped only for breaking changes; additive fields keep the version. */
export const SCHEMA_VERSION = 1 as const;

/** Only pod annotations with this prefix travel in events (routing and muting). */
export const ANNOTATION_PREFIX = 'pullwatch.io/' as const;

/** A message longer than this (UTF-8 bytes) is cut, and the event says `messageTruncated: true`. */
export const MESSAGE_LIMIT_BYTES = 8 * 1024;

/** `volume`: an image volume (KEP-4639), pulled for the pod; its `container` is `volume:<name>`. */
export const CONTAINER_TYPES = ['init', 'regular', 'ephemeral', 'volume'] as const;
export type ContainerType = (typeof CONTAINER_TYPES)[number];

/** How a failing container stopped failing. */
export const RECOVERY_KINDS = ['started', 'left-pull-failure', 'pod-deleted'] as const;
export type RecoveryKind = (typeof RECOVERY_KINDS)[number];

const timestamp = z.iso.datetime({ offset: true });
const name = z.string().min(1);

export const workloadSchema = z.object({
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, or another controller's kind. */
  kind: name,
  name,
});
export type Workload = z.infer<typeof workloadSchema>;

export const annotationsSchema = z.record(z.string().startsWith(ANNOTATION_PREFIX), z.string());

const pullFields = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: name,
  namespace: name,
  pod: name,
  podUid: name,
  container: name,
  containerType: z.enum(CONTAINER_TYPES),
  /** The image reference exactly as the pod spec has it. */
  image: z.string(),
  /** The kubelet's waiting reason, e.g. ErrImagePull or ImagePullBackOff. */
  reason: name,
  /** The most informative text the kubelet gave for this failure. */
  message: z.string(),
  messageTruncated: z.boolean(),
  /** The kubelet's "Unable to retrieve some image pull secrets" warning, when there is one. */
  pullSecretWarning: z.string().optional(),
  /** The node the pod is scheduled on ('' if none). */
  node: z.string(),
  workload: workloadSchema,
  /** Names of the pod's imagePullSecrets (never their contents). */
  pullSecrets: z.array(z.string()),
  serviceAccount: z.string(),
  annotations: annotationsSchema,
  /** When this failure episode was first seen. */
  firstSeen: timestamp,
  /** When the failure was last seen (the kubelet's last attempt, when known). */
  lastSeen: timestamp,
  /** How many failed pull attempts the kubelet reported (at least 1). */
  count: z.int().min(1),
  /** When the forwarder produced this event. */
  observedAt: timestamp,
};

export const failedDetailSchema = z.object(pullFields);
export type FailedDetail = z.infer<typeof failedDetailSchema>;

/** A recovery repeats the fields of the failure it ends and says how it ended. */
export const recoveredDetailSchema = z.object({ ...pullFields, recovery: z.enum(RECOVERY_KINDS) });
export type RecoveredDetail = z.infer<typeof recoveredDetailSchema>;

export const heartbeatDetailSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: name,
  observedAt: timestamp,
  /** Containers failing to pull right now, so a silent forwarder differs from a healthy cluster. */
  failingContainers: z.int().min(0),
  forwarderVersion: z.string(),
});
export type HeartbeatDetail = z.infer<typeof heartbeatDetailSchema>;

export const detailSchemas = {
  [DETAIL_TYPE.failed]: failedDetailSchema,
  [DETAIL_TYPE.recovered]: recoveredDetailSchema,
  [DETAIL_TYPE.heartbeat]: heartbeatDetailSchema,
} as const;

/** An event as EventBridge delivers it to a rule target (only the fields pullwatch relies on). */
export type PullwatchEvent =
  | { source: typeof SOURCE; 'detail-type': typeof DETAIL_TYPE.failed; detail: FailedDetail }
  | { source: typeof SOURCE; 'detail-type': typeof DETAIL_TYPE.recovered; detail: RecoveredDetail }
  | { source: typeof SOURCE; 'detail-type': typeof DETAIL_TYPE.heartbeat; detail: HeartbeatDetail };

/** The input was not a pullwatch event of this schema version. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message);
  }
}

const envelopeSchema = z.object({
  source: z.literal(SOURCE),
  'detail-type': z.enum([DETAIL_TYPE.failed, DETAIL_TYPE.recovered, DETAIL_TYPE.heartbeat]),
  detail: z.unknown(),
});

const describeIssues = (error: z.ZodError): string[] =>
  error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);

/** Validates an EventBridge event (as a rule target receives it); throws ContractViolation. */
export const parsePullwatchEvent = (input: unknown): PullwatchEvent => {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) throw new ContractViolation('not a pullwatch event', describeIssues(envelope.error));
  const detailType = envelope.data['detail-type'];
  const detail = detailSchemas[detailType].safeParse(envelope.data.detail);
  if (!detail.success)
    throw new ContractViolation(`invalid ${detailType} detail`, describeIssues(detail.error));
  return { source: SOURCE, 'detail-type': detailType, detail: detail.data } as PullwatchEvent;
};

/**
 * EventBridge rule patterns, in the shape CDK's `EventPattern` takes (`detailType`).
 * `toRulePattern` turns one into the JSON document EventBridge itself stores (`detail-type`).
 */
export interface PullwatchPattern {
  readonly source: readonly [typeof SOURCE];
  readonly detailType: readonly DetailType[];
}

export const failedPattern: PullwatchPattern = { source: [SOURCE], detailType: [DETAIL_TYPE.failed] };
export const recoveredPattern: PullwatchPattern = { source: [SOURCE], detailType: [DETAIL_TYPE.recovered] };
export const heartbeatPattern: PullwatchPattern = { source: [SOURCE], detailType: [DETAIL_TYPE.heartbeat] };
/** Failures and recoveries: what the incident pipeline consumes. */
export const pullEventsPattern: PullwatchPattern = {
  source: [SOURCE],
  detailType: [DETAIL_TYPE.failed, DETAIL_TYPE.recovered],
};

export const toRulePattern = (pattern: PullwatchPattern): { source: string[]; 'detail-type': string[] } => ({
  source: [...pattern.source],
  'detail-type': [...pattern.detailType],
});

/** Whether an event's source and detail-type match a pattern (the only fields our patterns use). */
export const matchesPattern = (
  pattern: { readonly source: readonly string[]; readonly detailType: readonly string[] },
  event: { source?: unknown; 'detail-type'?: unknown },
): boolean =>
  typeof event.source === 'string' &&
  typeof event['detail-type'] === 'string' &&
  pattern.source.includes(event.source) &&
  pattern.detailType.includes(event['detail-type']);

/** The key a backend uses to tell containers apart: a pod UID and a container name are unique. */
export const containerKey = (detail: Pick<FailedDetail, 'podUid' | 'container'>): string =>
  `${detail.podUid}/${detail.container}`;
