/**
 * classify: ImagePullFailed / ImagePullRecovered (from the forwarder, through a queue) →
 * the diagnosis engine → ImagePullClassified on the bus, for dedupe and anyone else.
 *
 * With the registry check on, a failure's event goes out first, at once, carrying the answer only when
 * one is already cached; then the registry is asked (within the check's budget, at most 5 s) and the
 * event goes out again with `registryCheck`, once per incident key in the batch. dedupe folds the second
 * like the first (shared/incident.ts keeps the answer on the latest failure) and notify's normal,
 * throttled update shows it: a slow registry never delays the first post. A follow-up that cannot be
 * published fails its record, so SQS redelivers it; the answer is cached by then and rides on the event.
 */
import { ContractViolation, DETAIL_TYPE, type PullwatchEvent, parsePullwatchEvent } from '#shared/contract';
import { classifyPullEvent } from '#shared/classify-event';
import { type ClassifiedDetail, PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { incidentKeyOf, keyIdOf } from '#shared/incident-key';
import type { IncidentRegistryCheck } from '#shared/registry-check/outcome';
import { createQueueHandler } from '../_common/batch';
import type { EventPublisher } from '../_common/event-publisher';
import { type Log, METRIC, type PipelineMetrics } from '../_common/observability';
import type { CheckSubject } from '../_common/registry-check/check';

type PullEvent = Extract<PullwatchEvent, { 'detail-type': 'ImagePullFailed' | 'ImagePullRecovered' }>;

/** A failure or a recovery; a heartbeat (or anything else) does not belong on this queue. */
export const parsePullEvent = (input: unknown): PullEvent => {
  const event = parsePullwatchEvent(input);
  if (event['detail-type'] === DETAIL_TYPE.heartbeat) {
    throw new ContractViolation('not a pull event', [
      `detail-type: ${event['detail-type']} is not classified`,
    ]);
  }
  return event;
};

/** What classify needs of the registry check (functions/_common/registry-check/pipeline-checker.ts). */
export interface RegistryAnswers {
  inScope(subject: CheckSubject): boolean;
  known(subject: CheckSubject): IncidentRegistryCheck | undefined;
  ask(subject: CheckSubject): Promise<IncidentRegistryCheck | undefined>;
}

export interface ClassifyDeps {
  publisher: EventPublisher;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
  /** Absent: the registry check is off. */
  registryCheck?: RegistryAnswers;
}

const subjectOf = (detail: ClassifiedDetail): CheckSubject => ({
  cause: detail.verdict.cause,
  image: detail.observation.image,
});

export const createClassifyHandler = (deps: ClassifyDeps) =>
  createQueueHandler(deps, {
    stage: 'classify',
    parse: parsePullEvent,
    handle: async (items) => {
      const checker = deps.registryCheck;
      const details = items.map(({ item }) => {
        const detail = classifyPullEvent(item);
        const known = detail.kind === 'failed' ? checker?.known(subjectOf(detail)) : undefined;
        return known === undefined ? detail : { ...detail, registryCheck: known };
      });
      const outcomes = await deps.publisher.publish(
        details.map((detail) => ({ detailType: PIPELINE_DETAIL_TYPE.classified, detail })),
      );
      const failed = new Set<string>();
      outcomes.forEach((outcome, index) => {
        if (!outcome.ok) {
          deps.log.warn('classified event not published; will retry', {
            messageId: items[index]!.record.messageId,
            error: outcome.error,
          });
          failed.add(items[index]!.record.messageId);
        }
      });
      deps.metrics.count(METRIC.observationsClassified, items.length - failed.size);
      deps.metrics.count(METRIC.eventsPublished, items.length - failed.size);
      if (checker !== undefined) await followWithChecks(deps, checker, items, details, failed);
      return failed;
    },
  });

/** Asks the registry for the failures whose first event is out, and publishes each answer once per key. */
const followWithChecks = async (
  deps: ClassifyDeps,
  checker: RegistryAnswers,
  items: ReadonlyArray<{ record: { messageId: string } }>,
  details: readonly ClassifiedDetail[],
  failed: Set<string>,
): Promise<void> => {
  const byKey = new Map<string, number>();
  details.forEach((detail, index) => {
    if (detail.kind !== 'failed' || detail.registryCheck !== undefined) return;
    if (failed.has(items[index]!.record.messageId) || !checker.inScope(subjectOf(detail))) return;
    const keyId = keyIdOf(incidentKeyOf(detail.observation, detail.verdict.cause));
    if (!byKey.has(keyId)) byKey.set(keyId, index);
  });
  if (byKey.size === 0) return;
  const answered = await Promise.all(
    [...byKey.values()].map(async (index) => {
      const detail = details[index]!;
      const registryCheck = await checker.ask(subjectOf(detail));
      return { index, detail: registryCheck === undefined ? undefined : { ...detail, registryCheck } };
    }),
  );
  const followUps = answered.flatMap(({ index, detail }) =>
    detail === undefined ? [] : [{ index, detail }],
  );
  if (followUps.length === 0) return;
  for (const { detail } of followUps) {
    deps.log.info('registry check', {
      image: detail.observation.image,
      cause: detail.verdict.cause,
      outcome: detail.registryCheck.outcome,
    });
  }
  const outcomes = await deps.publisher.publish(
    followUps.map(({ detail }) => ({ detailType: PIPELINE_DETAIL_TYPE.classified, detail })),
  );
  outcomes.forEach((outcome, position) => {
    if (outcome.ok) return;
    const messageId = items[followUps[position]!.index]!.record.messageId;
    deps.log.warn('registry check event not published; will retry', { messageId, error: outcome.error });
    failed.add(messageId);
  });
};
