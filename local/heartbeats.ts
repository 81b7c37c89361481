/** The status line's count of failing containers, from the forwarder's heartbeats (local rule `status`). */
import { heartbeatDetailSchema } from '#shared/contract';
import type { QueueHandler } from './bus';

export interface FailingCount {
  handler: QueueHandler;
  /** Containers failing to pull in the cluster, as the last heartbeat said; undefined before one. */
  current(): number | undefined;
}

export const failingCountFromHeartbeats = (cluster: string): FailingCount => {
  let failingContainers: number | undefined;
  return {
    handler: (event) => {
      for (const record of event.Records) {
        const parsed = heartbeatDetailSchema.safeParse(
          (JSON.parse(record.body) as { detail?: unknown }).detail,
        );
        if (parsed.success && parsed.data.cluster === cluster)
          failingContainers = parsed.data.failingContainers;
      }
      return Promise.resolve();
    },
    current: () => failingContainers,
  };
};
