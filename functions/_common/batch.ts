/**
 * SQS batches with partial failures (ReportBatchItemFailures), shared by the queue-fed functions.
 *
 * Each record ends one of three ways:
 * - handled: deleted from the queue;
 * - rejected (it breaks the contract): logged with the reason and the offending field, counted,
 *   published as `PipelineEventRejected` (the dead-letter path: a rule sends it to the dead-letter
 *   queue), and deleted; it is never retried, because retrying cannot make it valid;
 * - failed (a transient error): reported back so SQS retries only that record; after the queue's
 *   maxReceiveCount, SQS moves it to the dead-letter queue, so nothing is retried forever.
 * No record's failure affects the others in its batch.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ContractViolation } from '#shared/contract';
import {
  PIPELINE_DETAIL_TYPE,
  PIPELINE_SCHEMA_VERSION,
  type PipelineStage,
  REJECTED_ORIGINAL_LIMIT,
  type RejectedDetail,
  offendingField,
} from '#shared/incident-events';
import type { EventPublisher } from './event-publisher';
import { type Log, METRIC, type PipelineMetrics, describeError } from './observability';

export interface Parsed<T> {
  record: SQSRecord;
  item: T;
}

/** What a queue-fed function gives processBatch besides its own parsing and handling. */
export interface BatchDeps {
  publisher: EventPublisher;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
}

export interface BatchStage<T> {
  stage: PipelineStage;
  /** Validates one event (the record's body, as JSON); throws ContractViolation when it is invalid. */
  parse: (event: unknown) => T;
  /** Handles the valid records; returns the message ids that failed (to be retried). */
  handle: (items: Array<Parsed<T>>) => Promise<ReadonlySet<string>>;
}

export interface BatchOptions<T> extends BatchStage<T>, BatchDeps {}

interface Rejection {
  record: SQSRecord;
  reason: string;
  issues: readonly string[];
}

const rejectedDetail = (stage: PipelineStage, rejection: Rejection, now: Date): RejectedDetail => {
  const { record, reason, issues } = rejection;
  const field = offendingField(issues);
  const body = record.body ?? '';
  const truncated = body.length > REJECTED_ORIGINAL_LIMIT;
  return {
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    stage,
    reason,
    issues: issues.slice(0, 20).map((issue) => issue.slice(0, 500)),
    ...(field === undefined ? {} : { field }),
    messageId: record.messageId,
    rejectedAt: now.toISOString(),
    original: truncated ? body.slice(0, REJECTED_ORIGINAL_LIMIT) : body,
    originalTruncated: truncated,
  };
};

export const processBatch = async <T>(
  event: SQSEvent,
  options: BatchOptions<T>,
): Promise<SQSBatchResponse> => {
  const { stage, log, metrics } = options;
  const valid: Array<Parsed<T>> = [];
  const rejections: Rejection[] = [];
  for (const record of event.Records ?? []) {
    try {
      const body: unknown = JSON.parse(record.body);
      valid.push({ record, item: options.parse(body) });
    } catch (error) {
      if (error instanceof ContractViolation) {
        rejections.push({ record, reason: error.message, issues: error.issues });
      } else if (error instanceof SyntaxError) {
        rejections.push({
          record,
          reason: 'the message body is not JSON',
          issues: [`(root): ${error.message}`],
        });
      } else {
        throw error;
      }
    }
  }

  const failed = new Set<string>();
  if (rejections.length > 0) {
    const details = rejections.map((rejection) => rejectedDetail(stage, rejection, options.now()));
    const outcomes = await options.publisher.publish(
      details.map((detail) => ({ detailType: PIPELINE_DETAIL_TYPE.rejected, detail })),
    );
    rejections.forEach((rejection, index) => {
      const detail = details[index]!;
      const outcome = outcomes[index];
      log.warn('invalid event rejected', {
        stage,
        messageId: rejection.record.messageId,
        reason: detail.reason,
        field: detail.field,
        issues: detail.issues.slice(0, 5),
        deadLettered: outcome?.ok === true,
      });
      // Not dead-lettered yet: let SQS retry the record so the rejection is published next time.
      if (outcome?.ok !== true) failed.add(rejection.record.messageId);
    });
    metrics.count(METRIC.invalidEvents, rejections.length);
  }

  if (valid.length > 0) {
    try {
      for (const messageId of await options.handle(valid)) failed.add(messageId);
    } catch (error) {
      log.error('batch handling failed; every valid record will be retried', describeError(error));
      for (const { record } of valid) failed.add(record.messageId);
    }
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
};

/** Runs tasks with at most `limit` in flight. */
export const inParallel = async <T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/** An invocation that flushes the function's metrics when it ends, however it ends. */
export const flushingMetrics =
  <A extends unknown[], R>(deps: { metrics: PipelineMetrics }, invoke: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await invoke(...args);
    } finally {
      deps.metrics.flush();
    }
  };

/** A queue-fed Lambda handler: each SQS event through processBatch, then the metrics flushed. */
export const createQueueHandler = <T>(
  deps: BatchDeps,
  stage: BatchStage<T>,
): ((event: SQSEvent) => Promise<SQSBatchResponse>) =>
  flushingMetrics(deps, (event: SQSEvent) => processBatch(event, { ...stage, ...deps }));

/**
 * Handles valid records in groups (`groupOf`: the records about one incident, one cluster…), at most
 * `concurrency` groups at a time. A group that throws fails only its own records: `failed` reports
 * it, and their message ids are returned for SQS to retry.
 */
export const handleGroups = async <T>(
  items: ReadonlyArray<Parsed<T>>,
  options: {
    groupOf: (item: T) => string;
    concurrency: number;
    handle: (group: Array<Parsed<T>>, id: string) => Promise<void>;
    failed: (error: unknown, group: Array<Parsed<T>>, id: string) => void;
  },
): Promise<Set<string>> => {
  const groups = new Map<string, Array<Parsed<T>>>();
  for (const parsed of items) {
    const id = options.groupOf(parsed.item);
    groups.set(id, [...(groups.get(id) ?? []), parsed]);
  }
  const failed = new Set<string>();
  await inParallel([...groups], options.concurrency, async ([id, group]) => {
    try {
      await options.handle(group, id);
    } catch (error) {
      options.failed(error, group, id);
      for (const { record } of group) failed.add(record.messageId);
    }
  });
  return failed;
};
