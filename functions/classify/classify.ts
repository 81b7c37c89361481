/**
 * classify: ImagePullFailed / ImagePullRecovered (from the forwarder, through a queue) →
 * the diagnosis engine → ImagePullClassified on the bus, for dedupe and anyone else.
 */
import { ContractViolation, DETAIL_TYPE, type PullwatchEvent, parsePullwatchEvent } from '#shared/contract';
import { PIPELINE_DETAIL_TYPE, classifyPullEvent } from '#shared/incident-events';
import { createQueueHandler } from '../_common/batch';
import type { EventPublisher } from '../_common/event-publisher';
import { type Log, METRIC, type PipelineMetrics } from '../_common/observability';

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

export interface ClassifyDeps {
  publisher: EventPublisher;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
}

export const createClassifyHandler = (deps: ClassifyDeps) =>
  createQueueHandler(deps, {
    stage: 'classify',
    parse: parsePullEvent,
    handle: async (items) => {
      const entries = items.map(({ item }) => ({
        detailType: PIPELINE_DETAIL_TYPE.classified,
        detail: classifyPullEvent(item),
      }));
      const outcomes = await deps.publisher.publish(entries);
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
      return failed;
    },
  });
