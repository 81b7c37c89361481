/**
 * The watchdog's model: each cluster's forwarder sends a heartbeat every minute or so
 * (`ForwarderHeartbeat`, shared/contract.ts). A cluster that has sent none for the silence window is
 * *silent*: its image pull failures are not being reported, so people are told (once). When its
 * heartbeats return, they are told that too (once).
 *
 * Time: a heartbeat counts when it is *processed* (the watchdog's clock), not by the forwarder's
 * `observedAt`, so a forwarder whose clock is off cannot fake liveness or silence. `observedAt` only
 * orders one forwarder's own heartbeats: a heartbeat is fresh when it is newer than the newest seen,
 * so a duplicate, or an old heartbeat redelivered late, neither refreshes a cluster nor ends its
 * silence. (A forwarder whose clock jumps back is not heard until it catches up.)
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import type { HeartbeatDetail } from '#shared/contract';

export interface ForwarderState {
  cluster: string;
  /** When the newest fresh heartbeat was processed (epoch ms, the watchdog's clock). */
  lastHeartbeatAt: number;
  /** Its `observedAt` (the forwarder's clock): orders heartbeats. */
  lastObservedAt: number;
  forwarderVersion: string;
  /** Containers failing to pull, as the newest heartbeat said. */
  failingContainers: number;
  status: 'alive' | 'silent';
  /** How many silences so far; the latest (or current) one is number `silences`. */
  silences: number;
  /** The latest silence: since when nothing was heard (its last heartbeat), and when it was noticed. */
  silentSince?: number;
  declaredAt?: number;
  /** When heartbeats returned after the latest silence. */
  backAt?: number;
}

export type ForwarderChange = 'silent' | 'back';

export interface Transition {
  state: ForwarderState;
  /** Set when the state changed in a way people are told about. */
  change?: ForwarderChange;
  /** Whether anything must be written. */
  changed: boolean;
}

/** Folds a heartbeat in, processed at `now`. */
export const heartbeatArrived = (
  seen: ForwarderState | undefined,
  heartbeat: Pick<HeartbeatDetail, 'cluster' | 'observedAt' | 'failingContainers' | 'forwarderVersion'>,
  now: number,
): Transition => {
  const observedAt = Date.parse(heartbeat.observedAt);
  if (seen !== undefined && observedAt <= seen.lastObservedAt) return { state: seen, changed: false };
  const fresh = {
    lastHeartbeatAt: Math.max(now, seen?.lastHeartbeatAt ?? now),
    lastObservedAt: observedAt,
    forwarderVersion: heartbeat.forwarderVersion,
    failingContainers: heartbeat.failingContainers,
  };
  if (seen === undefined) {
    return {
      state: { cluster: heartbeat.cluster, ...fresh, status: 'alive', silences: 0 },
      changed: true,
    };
  }
  if (seen.status === 'silent') {
    return { state: { ...seen, ...fresh, status: 'alive', backAt: now }, change: 'back', changed: true };
  }
  return { state: { ...seen, ...fresh }, changed: true };
};

/** When the cluster counts as silent if nothing more is heard. */
export const silentAt = (state: ForwarderState, silenceMs: number): number =>
  state.lastHeartbeatAt + silenceMs;

/** Declares the cluster silent if nothing was heard for `silenceMs` by `now`. */
export const checkSilence = (state: ForwarderState, now: number, silenceMs: number): Transition => {
  if (state.status === 'silent' || now < silentAt(state, silenceMs)) return { state, changed: false };
  const { backAt: _previousReturn, ...rest } = state;
  return {
    state: {
      ...rest,
      status: 'silent',
      silences: state.silences + 1,
      silentSince: state.lastHeartbeatAt,
      declaredAt: now,
    },
    change: 'silent',
    changed: true,
  };
};

export const silencePostId = (silence: number): string => `silent-${silence}`;
export const backPostId = (silence: number): string => `back-${silence}`;

/** What the watchdog's messages show. */
export interface ForwarderView {
  cluster: string;
  status: 'alive' | 'silent';
  silence: number;
  silentSince: number;
  declaredAt: number;
  backAt?: number;
  silenceMs: number;
  forwarderVersion: string;
}

export const forwarderView = (state: ForwarderState, silenceMs: number): ForwarderView | undefined => {
  if (state.silences === 0 || state.silentSince === undefined || state.declaredAt === undefined) {
    return undefined;
  }
  return {
    cluster: state.cluster,
    status: state.status,
    silence: state.silences,
    silentSince: state.silentSince,
    declaredAt: state.declaredAt,
    ...(state.status === 'alive' && state.backAt !== undefined ? { backAt: state.backAt } : {}),
    silenceMs,
    forwarderVersion: state.forwarderVersion,
  };
};
