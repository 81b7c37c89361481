/**
 * The events the pipeline puts on the bus, defined once: the classify → dedupe hop
 * (`ImagePullClassified`), what other teams subscribe to (`IncidentOpened` / `IncidentUpdated` /
 * `IncidentReopened` / `IncidentResolved`, and the watchdog's `ForwarderSilent` / `ForwarderBack`),
 * what people did from Slack or the CLI (`IncidentAcknowledged`, …, `WorkloadMuted`, `WorkloadUnmuted`),
 * and the dead-letter path for input that breaks the contract (`PipelineEventRejected`).
 *
 * They carry their own source, `pullwatch.pipeline`, not the forwarder's `pullwatch`: the forwarder's
 * IAM role can then be limited to `events:source = pullwatch`, so a cluster cannot forge incidents.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  ContractViolation,
  failedDetailSchema,
  recoveredDetailSchema,
  workloadSchema,
} from '#shared/contract';
import { CAUSE_IDS } from '#shared/diagnosis/causes';
import type { Verdict } from '#shared/diagnosis/diagnose';
import type { IncidentChange, PullObservation } from '#shared/incident';
import { incidentKeyOf } from '#shared/incident-key';
import { REGISTRY_KINDS } from '#shared/registry';
import {
  INCIDENT_CHECK_LIMITS,
  type IncidentRegistryCheck,
  REGISTRY_CHECK_OUTCOMES,
} from '#shared/registry-check/outcome';
import { MAX_SUGGESTED_TAGS } from '#shared/registry-check/nearest-tags';
import {
  SNOOZE_CHOICES,
  type TimelineKind,
  type WorkloadMute,
  actionRequestSchema,
  workloadRefText,
} from '#shared/incident-actions';
import type { ForwarderChange, ForwarderState } from '#shared/watchdog';

export const PIPELINE_SOURCE = 'pullwatch.pipeline' as const;

export const PIPELINE_DETAIL_TYPE = {
  classified: 'ImagePullClassified',
  opened: 'IncidentOpened',
  updated: 'IncidentUpdated',
  reopened: 'IncidentReopened',
  resolved: 'IncidentResolved',
  rejected: 'PipelineEventRejected',
  forwarderSilent: 'ForwarderSilent',
  forwarderBack: 'ForwarderBack',
  actionRequested: 'IncidentActionRequested',
  acknowledged: 'IncidentAcknowledged',
  snoozed: 'IncidentSnoozed',
  unsnoozed: 'IncidentUnsnoozed',
  muted: 'WorkloadMuted',
  unmuted: 'WorkloadUnmuted',
  rechecked: 'IncidentRechecked',
} as const;
export type PipelineDetailType = (typeof PIPELINE_DETAIL_TYPE)[keyof typeof PIPELINE_DETAIL_TYPE];

export const INCIDENT_DETAIL_TYPES = [
  PIPELINE_DETAIL_TYPE.opened,
  PIPELINE_DETAIL_TYPE.updated,
  PIPELINE_DETAIL_TYPE.reopened,
  PIPELINE_DETAIL_TYPE.resolved,
] as const;
export type IncidentDetailType = (typeof INCIDENT_DETAIL_TYPES)[number];

/** Bumped only for breaking changes; additive fields keep the version. */
export const PIPELINE_SCHEMA_VERSION = 1 as const;

const timestamp = z.iso.datetime({ offset: true });
const name = z.string().min(1);
const count = z.int().min(0);

// ---------------------------------------------------------------------------------------------
// The verdict, as shared/diagnosis produces it (a test checks that the types agree).

export const registryInfoSchema = z.object({
  host: z.string(),
  kind: z.enum(REGISTRY_KINDS),
  displayName: z.string(),
  ecr: z.object({ accountId: z.string(), region: z.string(), fips: z.boolean() }).optional(),
  artifactRegistry: z
    .object({ location: z.string(), project: z.string().optional(), repository: z.string().optional() })
    .optional(),
  gcr: z.object({ project: z.string().optional() }).optional(),
  acr: z.object({ name: z.string() }).optional(),
});

export const verdictSchema = z.object({
  cause: z.enum(CAUSE_IDS),
  title: z.string(),
  confidence: z.number().min(0).max(1),
  evidence: z.string(),
  image: z.string().optional(),
  registry: registryInfoSchema,
  summary: z.string(),
  explanation: z.string(),
  fix: z.object({
    steps: z.array(z.object({ text: z.string(), command: z.string().optional() })),
    docs: z.string(),
  }),
});

/**
 * The registry's answer (shared/registry-check): what the incident keeps and shows. Small by schema;
 * its strings came from a registry and are untrusted wherever they are shown.
 */
export const registryCheckSchema = z.object({
  outcome: z.enum(REGISTRY_CHECK_OUTCOMES),
  summary: z.string().max(INCIDENT_CHECK_LIMITS.summary),
  suggestedTags: z.array(z.string().max(INCIDENT_CHECK_LIMITS.tag)).max(MAX_SUGGESTED_TAGS),
  platforms: z
    .array(z.string().max(INCIDENT_CHECK_LIMITS.platform))
    .max(INCIDENT_CHECK_LIMITS.platforms)
    .optional(),
  public: z.boolean().optional(),
  checkedFrom: z.string().max(200),
  checkedAt: timestamp,
});

// ---------------------------------------------------------------------------------------------
// classify → dedupe
//
// classify publishes each failure's event at once, then (when the registry check is on) asks the
// registry and publishes the same event again with `registryCheck`: dedupe folds both, the second
// changes only the incident's latest text, and notify's normal (throttled) update shows it.

export const classifiedDetailSchema = z.discriminatedUnion('kind', [
  z.object({
    schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
    kind: z.literal('failed'),
    observation: failedDetailSchema,
    verdict: verdictSchema,
    registryCheck: registryCheckSchema.optional(),
  }),
  z.object({
    schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
    kind: z.literal('recovered'),
    observation: recoveredDetailSchema,
    verdict: verdictSchema,
    registryCheck: registryCheckSchema.optional(),
  }),
]);
export type ClassifiedDetail = z.infer<typeof classifiedDetailSchema>;

// ---------------------------------------------------------------------------------------------
// Incident events (for other teams: PagerDuty, Teams, dashboards)

export const incidentDetailSchema = z.object({
  schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
  /** Unique per incident state: consumers drop repeats of the same id (delivery is at-least-once). */
  eventId: name,
  incidentId: name,
  keyId: name,
  generation: z.int().min(1),
  /** Grows with every change; a consumer keeps the highest it has seen (delivery is unordered). */
  version: z.int().min(1),
  status: z.enum(['open', 'resolved']),
  cluster: name,
  namespace: name,
  workload: workloadSchema,
  container: name,
  image: z.string(),
  cause: z.enum(CAUSE_IDS),
  title: z.string(),
  summary: z.string(),
  registry: z.object({ host: z.string(), kind: z.enum(REGISTRY_KINDS), displayName: z.string() }),
  occurrences: count,
  affectedPods: count,
  failingContainers: count,
  firstSeen: timestamp.optional(),
  lastSeen: timestamp.optional(),
  resolvedAt: timestamp.optional(),
  reopenCount: count,
  /** Other causes the containers moved to (the registry's answer changed). */
  causeChanges: z.array(z.object({ cause: z.enum(CAUSE_IDS), incidentId: name, at: timestamp })),
  /** What the image's registry answered, when the pipeline asked it. */
  registryCheck: registryCheckSchema.optional(),
});
export type IncidentDetail = z.infer<typeof incidentDetailSchema>;

// ---------------------------------------------------------------------------------------------
// The watchdog's events (for other teams: a cluster's forwarder went silent, or is back)

export const WATCHDOG_DETAIL_TYPES = [
  PIPELINE_DETAIL_TYPE.forwarderSilent,
  PIPELINE_DETAIL_TYPE.forwarderBack,
] as const;
export type WatchdogDetailType = (typeof WATCHDOG_DETAIL_TYPES)[number];

export const forwarderDetailSchema = z.object({
  schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
  /** `<cluster>@silent-<n>` or `<cluster>@back-<n>`: consumers drop repeats of the same id. */
  eventId: name,
  cluster: name,
  /** The cluster's n-th silence (a ForwarderBack ends the silence with the same number). */
  silence: z.int().min(1),
  /** The last heartbeat before the silence. */
  silentSince: timestamp,
  /** When the watchdog noticed. */
  declaredAt: timestamp,
  /** ForwarderBack: when heartbeats returned. */
  backAt: timestamp.optional(),
  /** The silence window (PULLWATCH_SILENCE_AFTER), in milliseconds. */
  silenceAfterMs: count,
  forwarderVersion: z.string(),
});
export type ForwarderDetail = z.infer<typeof forwarderDetailSchema>;

export const detailTypeOfForwarderChange = (change: ForwarderChange): WatchdogDetailType =>
  change === 'silent' ? PIPELINE_DETAIL_TYPE.forwarderSilent : PIPELINE_DETAIL_TYPE.forwarderBack;

/** The detail of a watchdog event, for the state right after the change. */
export const forwarderDetailOf = (
  state: ForwarderState,
  change: ForwarderChange,
  silenceMs: number,
): ForwarderDetail => ({
  schemaVersion: PIPELINE_SCHEMA_VERSION,
  eventId: `${state.cluster}@${change}-${state.silences}`,
  cluster: state.cluster,
  silence: state.silences,
  silentSince: new Date(state.silentSince ?? state.lastHeartbeatAt).toISOString(),
  declaredAt: new Date(state.declaredAt ?? state.lastHeartbeatAt).toISOString(),
  ...(change === 'back' && state.backAt !== undefined
    ? { backAt: new Date(state.backAt).toISOString() }
    : {}),
  silenceAfterMs: silenceMs,
  forwarderVersion: state.forwarderVersion,
});

// ---------------------------------------------------------------------------------------------
// Actions from Slack (shared/incident-actions.ts): a verified request on its way to the worker, and
// what it did, for other teams

export const actionRequestedDetailSchema = z.object({
  schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
  request: actionRequestSchema,
});
export type ActionRequestedDetail = z.infer<typeof actionRequestedDetailSchema>;

export const ACTION_DETAIL_TYPES = [
  PIPELINE_DETAIL_TYPE.acknowledged,
  PIPELINE_DETAIL_TYPE.snoozed,
  PIPELINE_DETAIL_TYPE.unsnoozed,
  PIPELINE_DETAIL_TYPE.muted,
  PIPELINE_DETAIL_TYPE.unmuted,
  PIPELINE_DETAIL_TYPE.rechecked,
] as const;
export type ActionDetailType = (typeof ACTION_DETAIL_TYPES)[number];

export const ACTION_DETAIL_TYPE: Record<TimelineKind, ActionDetailType> = {
  acknowledged: PIPELINE_DETAIL_TYPE.acknowledged,
  snoozed: PIPELINE_DETAIL_TYPE.snoozed,
  unsnoozed: PIPELINE_DETAIL_TYPE.unsnoozed,
  muted: PIPELINE_DETAIL_TYPE.muted,
  rechecked: PIPELINE_DETAIL_TYPE.rechecked,
};

export const actionDetailSchema = z.object({
  schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
  /** The same for a repeat of one action: consumers drop repeats. */
  eventId: z.string(),
  /** `INC-…` for an incident, the storm id for a roll-up. */
  incidentId: z.string().optional(),
  stormId: z.string().optional(),
  cluster: z.string().optional(),
  namespace: z.string().optional(),
  workload: workloadSchema.optional(),
  by: z.object({ userId: z.string(), userName: z.string() }),
  at: timestamp,
  snooze: z.enum(SNOOZE_CHOICES).optional(),
  until: timestamp.optional(),
});
export type ActionDetail = z.infer<typeof actionDetailSchema>;

/**
 * `WorkloadUnmuted`: a mute lifted (`pullwatch unmute`), as `WorkloadMuted` said it was set. Its id
 * names the mute it lifts (the workload and when it was set), so a repeat is dropped as one.
 */
export const unmutedDetailOf = (
  mute: WorkloadMute,
  by: { userId: string; userName: string },
  at: number,
): ActionDetail => ({
  schemaVersion: PIPELINE_SCHEMA_VERSION,
  eventId: createHash('sha256')
    .update(`unmuted|${workloadRefText(mute.workload)}|${mute.at}`)
    .digest('hex')
    .slice(0, 32),
  cluster: mute.workload.cluster,
  namespace: mute.workload.namespace,
  workload: { kind: mute.workload.kind, name: mute.workload.name },
  by,
  at: new Date(at).toISOString(),
});

// ---------------------------------------------------------------------------------------------
// The dead-letter path

export const PIPELINE_STAGES = ['classify', 'dedupe', 'notify', 'watchdog', 'interactions'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** How much of a rejected input travels with the rejection (EventBridge entries are at most 256 KiB). */
export const REJECTED_ORIGINAL_LIMIT = 64 * 1024;

export const rejectedDetailSchema = z.object({
  schemaVersion: z.literal(PIPELINE_SCHEMA_VERSION),
  stage: z.enum(PIPELINE_STAGES),
  reason: z.string(),
  /** `path: message` for each problem the schema found. */
  issues: z.array(z.string()),
  /** The first offending field, e.g. `workload.kind` (inside the detail) or `source` (the envelope). */
  field: z.string().optional(),
  /** The queue message id, when the input came through a queue. */
  messageId: z.string().optional(),
  rejectedAt: timestamp,
  original: z.string(),
  originalTruncated: z.boolean(),
});
export type RejectedDetail = z.infer<typeof rejectedDetailSchema>;

// ---------------------------------------------------------------------------------------------
// Envelopes and parsing

export const pipelineDetailSchemas = {
  [PIPELINE_DETAIL_TYPE.classified]: classifiedDetailSchema,
  [PIPELINE_DETAIL_TYPE.opened]: incidentDetailSchema,
  [PIPELINE_DETAIL_TYPE.updated]: incidentDetailSchema,
  [PIPELINE_DETAIL_TYPE.reopened]: incidentDetailSchema,
  [PIPELINE_DETAIL_TYPE.resolved]: incidentDetailSchema,
  [PIPELINE_DETAIL_TYPE.rejected]: rejectedDetailSchema,
  [PIPELINE_DETAIL_TYPE.forwarderSilent]: forwarderDetailSchema,
  [PIPELINE_DETAIL_TYPE.forwarderBack]: forwarderDetailSchema,
  [PIPELINE_DETAIL_TYPE.actionRequested]: actionRequestedDetailSchema,
  [PIPELINE_DETAIL_TYPE.acknowledged]: actionDetailSchema,
  [PIPELINE_DETAIL_TYPE.snoozed]: actionDetailSchema,
  [PIPELINE_DETAIL_TYPE.unsnoozed]: actionDetailSchema,
  [PIPELINE_DETAIL_TYPE.muted]: actionDetailSchema,
  [PIPELINE_DETAIL_TYPE.unmuted]: actionDetailSchema,
  [PIPELINE_DETAIL_TYPE.rechecked]: actionDetailSchema,
} as const;

export interface ClassifiedEvent {
  source: typeof PIPELINE_SOURCE;
  'detail-type': typeof PIPELINE_DETAIL_TYPE.classified;
  detail: ClassifiedDetail;
}

export interface IncidentEvent {
  source: typeof PIPELINE_SOURCE;
  'detail-type': IncidentDetailType;
  detail: IncidentDetail;
}

/** `path: message` per issue; paths inside `detail` are relative to it, as shared/contract reports them. */
const describeIssues = (error: z.ZodError): string[] =>
  error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);

const envelope = <T extends readonly [string, ...string[]]>(detailTypes: T) =>
  z.object({ source: z.literal(PIPELINE_SOURCE), 'detail-type': z.enum(detailTypes), detail: z.unknown() });

const classifiedEnvelope = envelope([PIPELINE_DETAIL_TYPE.classified]);
const incidentEnvelope = envelope(INCIDENT_DETAIL_TYPES);

/** Validates an `ImagePullClassified` event as a rule target receives it; throws ContractViolation. */
export const parseClassifiedEvent = (input: unknown): ClassifiedEvent => {
  const outer = classifiedEnvelope.safeParse(input);
  if (!outer.success)
    throw new ContractViolation('not an ImagePullClassified event', describeIssues(outer.error));
  const detail = classifiedDetailSchema.safeParse(outer.data.detail);
  if (!detail.success) {
    throw new ContractViolation('invalid ImagePullClassified detail', describeIssues(detail.error));
  }
  return { source: PIPELINE_SOURCE, 'detail-type': PIPELINE_DETAIL_TYPE.classified, detail: detail.data };
};

/** Validates an incident event (opened, updated, reopened, resolved); throws ContractViolation. */
export const parseIncidentEvent = (input: unknown): IncidentEvent => {
  const outer = incidentEnvelope.safeParse(input);
  if (!outer.success) throw new ContractViolation('not an incident event', describeIssues(outer.error));
  const detail = incidentDetailSchema.safeParse(outer.data.detail);
  if (!detail.success) {
    throw new ContractViolation(`invalid ${outer.data['detail-type']} detail`, describeIssues(detail.error));
  }
  return { source: PIPELINE_SOURCE, 'detail-type': outer.data['detail-type'], detail: detail.data };
};

/** The first field a ContractViolation names (`workload.kind: …` → `workload.kind`). */
export const offendingField = (issues: readonly string[]): string | undefined => {
  const first = issues[0];
  if (first === undefined) return undefined;
  const colon = first.indexOf(': ');
  return colon > 0 ? first.slice(0, colon) : undefined;
};

// ---------------------------------------------------------------------------------------------
// Rule patterns, in the shape CDK's `EventPattern` takes (as shared/contract does).

export interface PipelinePattern {
  readonly source: readonly [typeof PIPELINE_SOURCE];
  readonly detailType: readonly PipelineDetailType[];
}

const pipelinePattern = (detailTypes: readonly PipelineDetailType[]): PipelinePattern => ({
  source: [PIPELINE_SOURCE],
  detailType: [...detailTypes],
});

export const classifiedPattern = pipelinePattern([PIPELINE_DETAIL_TYPE.classified]);
/** Every incident change: what notify and other teams consume. */
export const incidentEventsPattern = pipelinePattern(INCIDENT_DETAIL_TYPES);
export const rejectedPattern = pipelinePattern([PIPELINE_DETAIL_TYPE.rejected]);
/** The watchdog's events: for other teams (nothing in the pipeline consumes them). */
export const watchdogEventsPattern = pipelinePattern(WATCHDOG_DETAIL_TYPES);
/** What actions from Slack did: for other teams (nothing in the pipeline consumes them). */
export const actionEventsPattern = pipelinePattern(ACTION_DETAIL_TYPES);
/** Verified requests from Slack: what the interactions worker consumes. */
export const actionRequestedPattern = pipelinePattern([PIPELINE_DETAIL_TYPE.actionRequested]);

/** Validates an `IncidentActionRequested` event as a rule target receives it; throws ContractViolation. */
export const parseActionRequestedEvent = (input: unknown): ActionRequestedDetail => {
  const outer = envelope([PIPELINE_DETAIL_TYPE.actionRequested]).safeParse(input);
  if (!outer.success)
    throw new ContractViolation('not an IncidentActionRequested event', describeIssues(outer.error));
  const detail = actionRequestedDetailSchema.safeParse(outer.data.detail);
  if (!detail.success)
    throw new ContractViolation('invalid IncidentActionRequested detail', describeIssues(detail.error));
  return detail.data;
};

export const toPipelineRulePattern = (
  pattern: PipelinePattern,
): { source: string[]; 'detail-type': string[] } => ({
  source: [...pattern.source],
  'detail-type': [...pattern.detailType],
});

// The schema and the engine's type must agree both ways; this fails to compile if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const verdictsAgree: Same<z.infer<typeof verdictSchema>, Verdict> = true;
void verdictsAgree;
const checksAgree: Same<z.infer<typeof registryCheckSchema>, IncidentRegistryCheck> = true;
void checksAgree;

// ---------------------------------------------------------------------------------------------
// dedupe: classified events in, incident events out

/** The observation an incident absorbs, from a classified event (times become epoch milliseconds). */
export const observationOf = (classified: ClassifiedDetail): PullObservation => {
  const { observation, verdict } = classified;
  return {
    kind: classified.kind,
    key: incidentKeyOf(observation, verdict.cause),
    podUid: observation.podUid,
    pod: observation.pod,
    node: observation.node,
    containerType: observation.containerType,
    reason: observation.reason,
    message: observation.message,
    firstSeen: Date.parse(observation.firstSeen),
    lastSeen: Date.parse(observation.lastSeen),
    count: observation.count,
    observedAt: Date.parse(observation.observedAt),
    ...(classified.kind === 'recovered' ? { recovery: classified.observation.recovery } : {}),
    annotations: observation.annotations,
    verdict,
    ...(classified.registryCheck === undefined ? {} : { registryCheck: classified.registryCheck }),
  };
};

const CHANGE_DETAIL_TYPE: Record<IncidentChange, IncidentDetailType> = {
  opened: PIPELINE_DETAIL_TYPE.opened,
  updated: PIPELINE_DETAIL_TYPE.updated,
  reopened: PIPELINE_DETAIL_TYPE.reopened,
  resolved: PIPELINE_DETAIL_TYPE.resolved,
};

export const detailTypeOfChange = (change: IncidentChange): IncidentDetailType => CHANGE_DETAIL_TYPE[change];
