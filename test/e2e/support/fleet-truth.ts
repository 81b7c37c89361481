/**
 * The truth of a recording, from its pods' statuses alone: how many containers fail to pull at
 * each moment (waiting in ErrImagePull or ImagePullBackOff), how many pods were ever affected, and
 * when the last one recovered. The fleet test and `bench:fleet` hold what Slack shows against it.
 */
import type { Recording } from '../../../local/recording';

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff']);

interface ContainerStatus {
  name: string;
  state?: { waiting?: { reason?: string } };
}

export interface FleetTruth {
  /** Pods with a container that ever failed to pull. */
  affectedPods: number;
  /** The most containers failing at once. */
  peakFailing: number;
  /** Recording ms of the first failure and of the last recovery (nothing fails after it). */
  firstFailureAt: number;
  lastRecoveryAt: number;
  /** Containers failing right after the changes at or before `ms` (recording time). */
  failingAt(ms: number): number;
  /** Pods with a container that failed at or before `ms` (recording time). */
  affectedAt(ms: number): number;
  /**
   * The longest stretch during which a constant share of the containers fail (neither none nor
   * the peak): e.g. after a third recovered. Recording ms.
   */
  plateau: { from: number; to: number; failing: number };
}

export const fleetTruth = (recording: Recording): FleetTruth => {
  /** Failing containers per pod. */
  const failing = new Map<string, number>();
  let failingNow = 0;
  const affected = new Set<string>();
  /** Recording ms at which each affected pod first failed, in order. */
  const firstFailures: number[] = [];
  /** [recording ms, failing containers from then on], one per change of the count. */
  const steps: Array<[number, number]> = [];
  for (const change of recording.changes) {
    if (change.object.kind !== 'Pod') continue;
    const pod = `${change.object.metadata.namespace ?? 'default'}/${change.object.metadata.name}`;
    const statuses =
      change.type === 'DELETED'
        ? []
        : ((change.object.status as { containerStatuses?: ContainerStatus[] } | undefined)
            ?.containerStatuses ?? []);
    const podFailing = statuses.filter((status) =>
      PULL_FAILURES.has(status.state?.waiting?.reason ?? ''),
    ).length;
    if (podFailing > 0 && !affected.has(pod)) {
      affected.add(pod);
      firstFailures.push(change.at);
    }
    failingNow += podFailing - (failing.get(pod) ?? 0);
    failing.set(pod, podFailing);
    if (steps.at(-1)?.[1] === failingNow) continue;
    if (steps.at(-1)?.[0] === change.at) steps.at(-1)![1] = failingNow;
    else steps.push([change.at, failingNow]);
  }
  const peakFailing = Math.max(0, ...steps.map(([, count]) => count));
  const firstFailureAt = steps.find(([, count]) => count > 0)?.[0] ?? 0;
  const lastRecoveryAt =
    [...steps]
      .reverse()
      .find(([, count], i, reversed) => count === 0 && (reversed[i + 1]?.[1] ?? 0) > 0)?.[0] ?? 0;
  let plateau = { from: 0, to: 0, failing: 0 };
  steps.forEach(([at, count], i) => {
    const to = steps[i + 1]?.[0] ?? at;
    if (count > 0 && count < peakFailing && to - at > plateau.to - plateau.from)
      plateau = { from: at, to, failing: count };
  });
  return {
    affectedPods: affected.size,
    peakFailing,
    firstFailureAt,
    lastRecoveryAt,
    failingAt: (ms) => {
      let count = 0;
      for (const [at, failingThen] of steps) {
        if (at > ms) break;
        count = failingThen;
      }
      return count;
    },
    affectedAt: (ms) => firstFailures.filter((at) => at <= ms).length,
    plateau,
  };
};
