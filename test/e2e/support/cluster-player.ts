/**
 * Plays a recording (local/recording.ts) into the fake Kubernetes API server, on today's clock:
 * each change is applied at its time (divided by `speed`), with the objects' timestamps moved as a
 * replay moves them. The e2e test and the benchmark drive a cluster this way, so the forwarder under
 * test sees real list + watch traffic of a realistic timeline.
 */
import { type Recording, type RecordedChange, shiftTimes } from '../../../local/recording';
import type { FakeKubeApi, KubeObject, Resource } from '../../support/fake-kube-api';

const RESOURCES: Record<RecordedChange['object']['kind'], Resource> = {
  Pod: 'pods',
  Event: 'events',
  ReplicaSet: 'replicasets',
  Job: 'jobs',
};

export const applyChange = (
  api: FakeKubeApi,
  change: RecordedChange,
  shift: (ms: number) => number,
): void => {
  const object = shiftTimes(change.object, shift) as unknown as KubeObject;
  const resource = RESOURCES[change.object.kind];
  if (change.type === 'DELETED') {
    api.remove(resource, object.metadata.namespace ?? 'default', object.metadata.name);
  } else {
    api.apply(resource, object);
  }
};

export interface Player {
  /** Plays the changes with `at` in [from, to) seconds of the recording, at their times. */
  play(fromSeconds: number, toSeconds: number): Promise<void>;
  /** Milliseconds on today's clock of a time in the recording. */
  timeOf(seconds: number): number;
}

export const cluster = (api: FakeKubeApi, recording: Recording, speed = 1, start = Date.now()): Player => {
  const shift = (ms: number) => start + (ms - recording.startedAt) / speed;
  return {
    timeOf: (seconds) => start + (seconds * 1000) / speed,
    play: async (fromSeconds, toSeconds) => {
      for (const change of recording.changes) {
        if (change.at < fromSeconds * 1000 || change.at >= toSeconds * 1000) continue;
        const due = start + change.at / speed;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        applyChange(api, change, shift);
      }
    },
  };
};
