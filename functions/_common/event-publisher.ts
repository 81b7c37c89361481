/**
 * Puts the pipeline's events on the EventBridge bus, in as few PutEvents calls as the limits allow
 * (shared/put-events.ts). Every entry carries `pullwatch.pipeline` as its source; consumers drop
 * repeats by the detail's `eventId` (delivery is at-least-once anyway).
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PIPELINE_SOURCE, type PipelineDetailType } from '#shared/incident-events';
import { chunkPutEvents, putEventsEntrySize } from '#shared/put-events';
import { errorText } from './observability';

export interface PipelineEntry {
  detailType: PipelineDetailType;
  detail: object;
}

export type PublishOutcome = { ok: true } | { ok: false; error: string };

export interface EventPublisher {
  /** Publishes every entry; the outcomes are in the same order (a failed entry can be retried alone). */
  publish(entries: readonly PipelineEntry[]): Promise<PublishOutcome[]>;
}

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(entries: readonly PipelineEntry[]): Promise<PublishOutcome[]> {
    const requests = entries.map((entry, index) => ({
      index,
      entry: {
        EventBusName: this.eventBusName,
        Source: PIPELINE_SOURCE,
        DetailType: entry.detailType,
        Detail: JSON.stringify(entry.detail),
      } satisfies PutEventsRequestEntry,
    }));
    const outcomes: PublishOutcome[] = new Array(entries.length);
    const send = async (call: typeof requests) => {
      try {
        const response = await this.client.send(
          new PutEventsCommand({ Entries: call.map((request) => request.entry) }),
        );
        call.forEach(({ index }, position) => {
          const result = response.Entries?.[position];
          outcomes[index] =
            result?.ErrorCode === undefined && result?.EventId !== undefined
              ? { ok: true }
              : { ok: false, error: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? ''}` };
        });
      } catch (error) {
        const message = errorText(error);
        for (const { index } of call) outcomes[index] = { ok: false, error: message };
      }
    };
    await Promise.all(chunkPutEvents(requests, (request) => putEventsEntrySize(request.entry)).map(send));
    return outcomes;
  }
}

/** Publishes and throws if any entry failed, for callers that retry all or nothing. */
export const publishAll = async (
  publisher: EventPublisher,
  entries: readonly PipelineEntry[],
): Promise<void> => {
  const outcomes = await publisher.publish(entries);
  const failed = outcomes.filter((outcome): outcome is { ok: false; error: string } => !outcome.ok);
  if (failed.length > 0) {
    throw new PublishFailed(
      `${failed.length} of ${entries.length} events not published: ${failed[0]!.error}`,
    );
  }
};

export class PublishFailed extends Error {
  override readonly name = 'PublishFailed';
}
