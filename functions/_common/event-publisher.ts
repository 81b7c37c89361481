/**
 * Puts the pipeline's events on the EventBridge bus. Every entry carries `pullwatch.pipeline` as its
 * source; consumers drop repeats by the detail's `eventId` (delivery is at-least-once anyway).
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PIPELINE_SOURCE, type PipelineDetailType } from '#shared/incident-events';

export interface PipelineEntry {
  detailType: PipelineDetailType;
  detail: object;
}

export type PublishOutcome = { ok: true } | { ok: false; error: string };

export interface EventPublisher {
  /** Publishes every entry; the outcomes are in the same order (a failed entry can be retried alone). */
  publish(entries: readonly PipelineEntry[]): Promise<PublishOutcome[]>;
}

/** PutEvents takes at most 10 entries and 256 KiB per call. */
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;

const entrySize = (entry: PutEventsRequestEntry): number =>
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Detail ?? '') +
  Buffer.byteLength(entry.EventBusName ?? '');

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(entries: readonly PipelineEntry[]): Promise<PublishOutcome[]> {
    const requests: PutEventsRequestEntry[] = entries.map((entry) => ({
      EventBusName: this.eventBusName,
      Source: PIPELINE_SOURCE,
      DetailType: entry.detailType,
      Detail: JSON.stringify(entry.detail),
    }));
    const outcomes: PublishOutcome[] = new Array(entries.length);
    let chunk: number[] = [];
    let bytes = 0;
    const send = async (indexes: number[]) => {
      if (indexes.length === 0) return;
      try {
        const response = await this.client.send(
          new PutEventsCommand({ Entries: indexes.map((index) => requests[index]!) }),
        );
        indexes.forEach((index, position) => {
          const result = response.Entries?.[position];
          outcomes[index] =
            result?.ErrorCode === undefined && result?.EventId !== undefined
              ? { ok: true }
              : { ok: false, error: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? ''}` };
        });
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        for (const index of indexes) outcomes[index] = { ok: false, error: message };
      }
    };
    const sends: Array<Promise<void>> = [];
    requests.forEach((request, index) => {
      const size = entrySize(request);
      if (chunk.length === MAX_ENTRIES || (chunk.length > 0 && bytes + size > MAX_BYTES)) {
        sends.push(send(chunk));
        chunk = [];
        bytes = 0;
      }
      chunk.push(index);
      bytes += size;
    });
    sends.push(send(chunk));
    await Promise.all(sends);
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
