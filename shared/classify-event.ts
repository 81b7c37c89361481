/**
 * classify's step: the diagnosis engine's verdict on a failure (or on the failure a recovery
 * repeats), as the ImagePullClassified detail of the contract (shared/incident-events.ts). Kept out
 * of the contract so that what only needs the contract (the CDK app's rules) does not load the engine.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { DETAIL_TYPE, type PullwatchEvent, type RecoveredDetail } from '#shared/contract';
import { diagnose } from '#shared/diagnosis/diagnose';
import { type ClassifiedDetail, PIPELINE_SCHEMA_VERSION } from '#shared/incident-events';

/** Applies the diagnosis engine to a failure (or to the failure a recovery repeats). */
export const classifyPullEvent = (
  event: Extract<PullwatchEvent, { 'detail-type': 'ImagePullFailed' | 'ImagePullRecovered' }>,
): ClassifiedDetail => {
  const observation = event.detail;
  const verdict = diagnose({
    reason: observation.reason,
    message: observation.message,
    image: observation.image,
    namespace: observation.namespace,
    pod: observation.pod,
    container: observation.container,
    node: observation.node,
    serviceAccount: observation.serviceAccount,
    workload: observation.workload,
    pullSecrets: observation.pullSecrets,
    ...(observation.pullSecretWarning === undefined
      ? {}
      : { pullSecretWarning: observation.pullSecretWarning }),
  });
  return event['detail-type'] === DETAIL_TYPE.failed
    ? { schemaVersion: PIPELINE_SCHEMA_VERSION, kind: 'failed', observation: event.detail, verdict }
    : {
        schemaVersion: PIPELINE_SCHEMA_VERSION,
        kind: 'recovered',
        observation: event.detail as RecoveredDetail,
        verdict,
      };
};
