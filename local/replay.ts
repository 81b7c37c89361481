/**
 * `--replay`: a recording stands in for the cluster. Its changes are fed, at the recorded pace
 * (divided by `speed`), to the forwarder's own reconciler, tracker and shipper (the pieces the
 * informers feed in a live run), so what reaches the bus is exactly what the forwarder would ship.
 * Object times are moved onto today's clock, as if the recording were happening now.
 */
import { ContainerTracker, DEFAULT_HOLD_MS } from '../forwarder/container-tracker';
import { PodEventIndex } from '../forwarder/event-index';
import type { EventLike, OwnerReference, PodLike } from '../forwarder/kube-objects';
import { heartbeatEvent } from '../forwarder/outgoing-events';
import { projectEvent, projectPod } from '../forwarder/projection';
import type { Logger } from '../forwarder/log';
import { PodReconciler } from '../forwarder/reconciler';
import { type PutEventsSender, Shipper } from '../forwarder/ship';
import { WorkloadDirectory } from '../forwarder/workloads';
import { sleepStepMs } from '#shared/duration';
import { type Recording, shiftTimes } from './recording';

export interface ReplayOptions {
  recording: Recording;
  cluster: string;
  publisher: PutEventsSender;
  log: Logger;
  /** 2 plays twice as fast (also shortens the forwarder's hold on bare back-off lines). */
  speed?: number;
  forwarderVersion?: string;
  now?: () => number;
  /** Called after each change is applied. */
  onProgress?: (applied: number, total: number) => void;
}

export interface ReplayHandle {
  /** Resolves when every change was applied and everything it caused was shipped. */
  done: Promise<void>;
  /** Pods and namespaces of the recording right now, and containers failing to pull. */
  census(): { pods: number; namespaces: number; failingContainers: number };
  stop(): Promise<void>;
}

const ownerKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export const startReplay = (options: ReplayOptions): ReplayHandle => {
  const { recording, cluster, log } = options;
  const speed = options.speed ?? 1;
  const now = options.now ?? Date.now;
  const started = now();
  // Recording time t happens at started + (t - recording start) / speed.
  const shift = (ms: number) => started + (ms - recording.startedAt) / speed;

  const pods = new Map<string, PodLike>();
  const owners = new Map<string, OwnerReference[]>();
  const events = new PodEventIndex();
  const tracker = new ContainerTracker([], DEFAULT_HOLD_MS / speed);
  const workloads = new WorkloadDirectory(
    (kind, namespace, name) => Promise.resolve(owners.get(ownerKey(kind, namespace, name)) ?? null),
    log,
  );
  const shipper = new Shipper({
    publisher: options.publisher,
    busName: 'pullwatch-local',
    log,
    lingerMs: 20,
  });
  const reconciler = new PodReconciler({
    cluster,
    tracker,
    events,
    workloads,
    podByName: (namespace, name) => pods.get(`${namespace}/${name}`),
    ship: (event) => shipper.enqueue(event),
    log,
    now: () => new Date(now()),
  });
  const heartbeat = () =>
    shipper.offerHeartbeat(
      heartbeatEvent(cluster, tracker.failingCount, options.forwarderVersion ?? 'replay', new Date(now())),
    );

  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  // In steps a Node timer holds: a slow replay of a long recording waits longer than one timeout.
  const sleepUntil = async (at: number) => {
    while (!stopped && at - now() > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, sleepStepMs(at - now()));
      });
    }
  };

  const apply = (type: string, object: Recording['changes'][number]['object']) => {
    const namespace = object.metadata.namespace ?? 'default';
    const name = object.metadata.name;
    switch (object.kind) {
      case 'Pod': {
        const pod = projectPod(object as unknown as PodLike);
        if (type === 'DELETED') {
          pods.delete(`${namespace}/${name}`);
          reconciler.podDeleted(pod);
        } else {
          pods.set(`${namespace}/${name}`, pod);
          reconciler.podChanged(pod);
        }
        break;
      }
      case 'Event': {
        const event = projectEvent(object as unknown as EventLike);
        if (type === 'DELETED') reconciler.eventDeleted(event);
        else reconciler.eventChanged(event);
        break;
      }
      case 'ReplicaSet':
      case 'Job': {
        const key = ownerKey(object.kind, namespace, name);
        if (type === 'DELETED') owners.delete(key);
        else owners.set(key, (object.metadata.ownerReferences as OwnerReference[] | undefined) ?? []);
        break;
      }
    }
  };

  // Where recording time 0 fell on this clock: what the replay showed can be held against it.
  log.info('replay started', {
    startedAt: new Date(started).toISOString(),
    speed,
    changes: recording.changes.length,
  });
  const beat = setInterval(heartbeat, 5000);
  beat.unref();
  const done = (async () => {
    const total = recording.changes.length;
    for (const [index, change] of recording.changes.entries()) {
      await sleepUntil(started + change.at / speed);
      if (stopped) return;
      try {
        apply(change.type, shiftTimes(change.object, shift));
      } catch (error) {
        // An object the forwarder cannot read is skipped, as a live watch would: the rest still plays.
        log.warn('recorded change skipped: the object cannot be read', {
          change: index + 1,
          kind: change.object.kind,
          name: change.object.metadata.name,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      options.onProgress?.(index + 1, total);
    }
    // Let held failures (bare back-off lines) reach the end of their hold.
    await sleepUntil(now() + DEFAULT_HOLD_MS / speed + 50);
    await reconciler.drained();
    heartbeat();
    await shipper.idle();
  })();

  return {
    done,
    census: () => {
      const namespaces = new Set([...pods.values()].map((pod) => pod.metadata?.namespace ?? ''));
      return { pods: pods.size, namespaces: namespaces.size, failingContainers: tracker.failingCount };
    },
    stop: async () => {
      stopped = true;
      clearInterval(beat);
      if (timer !== undefined) clearTimeout(timer);
      wake?.();
      reconciler.close();
      await shipper.flush(Date.now() + 5000);
    },
  };
};
