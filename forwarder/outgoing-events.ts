/** The events the forwarder ships, as details in the contract. */
import {
  DETAIL_TYPE,
  type FailedDetail,
  type HeartbeatDetail,
  type RecoveredDetail,
  SCHEMA_VERSION,
} from '#shared/contract';
import type { Decision, Episode } from './container-tracker';

const pullDetail = (episode: Episode, cluster: string, observedAt: Date): FailedDetail => ({
  schemaVersion: SCHEMA_VERSION,
  cluster,
  namespace: episode.namespace,
  pod: episode.pod,
  podUid: episode.podUid,
  container: episode.container,
  containerType: episode.containerType,
  image: episode.image,
  reason: episode.reason,
  message: episode.message,
  messageTruncated: false,
  ...(episode.pullSecretWarning === undefined ? {} : { pullSecretWarning: episode.pullSecretWarning }),
  node: episode.node,
  workload: episode.workload,
  pullSecrets: [...episode.pullSecrets],
  serviceAccount: episode.serviceAccount,
  annotations: { ...episode.annotations },
  firstSeen: episode.firstSeen,
  lastSeen: episode.lastSeen,
  count: episode.count,
  observedAt: observedAt.toISOString(),
});

/** An event to ship; failures and recoveries keep their episode (not shipped) for the checkpoint. */
export type OutgoingEvent =
  | { detailType: typeof DETAIL_TYPE.failed; key: string; detail: FailedDetail; episode?: Episode }
  | { detailType: typeof DETAIL_TYPE.recovered; key: string; detail: RecoveredDetail; episode?: Episode }
  | { detailType: typeof DETAIL_TYPE.heartbeat; key: string; detail: HeartbeatDetail; episode?: undefined };

/** The event to ship for a decision. */
export const eventFor = (decision: Decision, cluster: string, observedAt: Date): OutgoingEvent => {
  const detail = pullDetail(decision.episode, cluster, observedAt);
  const { episode } = decision;
  return decision.kind === 'failed'
    ? { detailType: DETAIL_TYPE.failed, key: episode.key, detail, episode }
    : {
        detailType: DETAIL_TYPE.recovered,
        key: episode.key,
        detail: { ...detail, recovery: decision.recovery },
        episode,
      };
};

export const HEARTBEAT_KEY = 'heartbeat';

export const heartbeatEvent = (
  cluster: string,
  failingContainers: number,
  forwarderVersion: string,
  observedAt: Date,
): OutgoingEvent => ({
  detailType: DETAIL_TYPE.heartbeat,
  key: HEARTBEAT_KEY,
  detail: {
    schemaVersion: SCHEMA_VERSION,
    cluster,
    observedAt: observedAt.toISOString(),
    failingContainers,
    forwarderVersion,
  },
});
