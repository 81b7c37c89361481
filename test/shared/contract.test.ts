import fc from 'fast-check';
import {
  ANNOTATION_PREFIX,
  ContractViolation,
  DETAIL_TYPE,
  SCHEMA_VERSION,
  SOURCE,
  containerKey,
  failedDetailSchema,
  failedPattern,
  heartbeatDetailSchema,
  heartbeatPattern,
  matchesPattern,
  parsePullwatchEvent,
  pullEventsPattern,
  recoveredDetailSchema,
  recoveredPattern,
  toRulePattern,
} from '#shared/contract';
import { failedDetail as failed } from '../support/failed-detail';

describe('the event contract', () => {
  it('fixes source and detail-types', () => {
    expect(SOURCE).toBe('pullwatch');
    expect(DETAIL_TYPE).toEqual({
      failed: 'ImagePullFailed',
      recovered: 'ImagePullRecovered',
      heartbeat: 'ForwarderHeartbeat',
    });
    expect(ANNOTATION_PREFIX).toBe('pullwatch.io/');
  });

  it('accepts a complete failure, with or without a pull-secret warning', () => {
    expect(failedDetailSchema.parse(failed)).toEqual(failed);
    const warned = { ...failed, pullSecretWarning: 'Unable to retrieve some image pull secrets (regcred)' };
    expect(failedDetailSchema.parse(warned)).toEqual(warned);
  });

  it.each([
    ['an annotation outside pullwatch.io/', { annotations: { team: 'shop' } }],
    ['an unknown container type', { containerType: 'sidecar' }],
    ['another schema version', { schemaVersion: 2 }],
    ['a count of zero', { count: 0 }],
    ['a timestamp that is not ISO 8601', { firstSeen: 'yesterday' }],
    ['a missing workload', { workload: undefined }],
    ['an empty pod name', { pod: '' }],
  ])('rejects %s', (_case, change) => {
    expect(failedDetailSchema.safeParse({ ...failed, ...change }).success).toBe(false);
  });

  it('requires a recovery kind on recoveries', () => {
    expect(recoveredDetailSchema.safeParse(failed).success).toBe(false);
    for (const recovery of ['started', 'left-pull-failure', 'pod-deleted']) {
      expect(recoveredDetailSchema.parse({ ...failed, recovery }).recovery).toBe(recovery);
    }
    expect(recoveredDetailSchema.safeParse({ ...failed, recovery: 'fixed' }).success).toBe(false);
  });

  it('describes heartbeats with the count of failing containers', () => {
    const heartbeat = {
      schemaVersion: SCHEMA_VERSION,
      cluster: 'prod-eu',
      observedAt: '2026-03-01T10:05:01.000Z',
      failingContainers: 3,
      forwarderVersion: '0.1.0',
    };
    expect(heartbeatDetailSchema.parse(heartbeat)).toEqual(heartbeat);
    expect(heartbeatDetailSchema.safeParse({ ...heartbeat, failingContainers: -1 }).success).toBe(false);
  });

  it('parses a delivered event by its detail-type and throws ContractViolation otherwise', () => {
    const event = { source: SOURCE, 'detail-type': DETAIL_TYPE.failed, detail: failed, account: '1' };
    expect(parsePullwatchEvent(event)).toEqual({
      source: SOURCE,
      'detail-type': DETAIL_TYPE.failed,
      detail: failed,
    });
    expect(() => parsePullwatchEvent({ ...event, source: 'aws.ecr' })).toThrow(ContractViolation);
    expect(() => parsePullwatchEvent({ ...event, 'detail-type': DETAIL_TYPE.recovered })).toThrow(
      /invalid ImagePullRecovered detail: recovery/,
    );
  });

  it('offers rule patterns built from the constants, in CDK and EventBridge JSON shapes', () => {
    expect(failedPattern).toEqual({ source: ['pullwatch'], detailType: ['ImagePullFailed'] });
    expect(toRulePattern(pullEventsPattern)).toEqual({
      source: ['pullwatch'],
      'detail-type': ['ImagePullFailed', 'ImagePullRecovered'],
    });
    const recoveredEvent = { source: SOURCE, 'detail-type': DETAIL_TYPE.recovered };
    expect(matchesPattern(recoveredPattern, recoveredEvent)).toBe(true);
    expect(matchesPattern(pullEventsPattern, recoveredEvent)).toBe(true);
    expect(matchesPattern(failedPattern, recoveredEvent)).toBe(false);
    expect(matchesPattern(heartbeatPattern, { ...recoveredEvent, source: 'other' })).toBe(false);
  });

  it('keys containers by pod UID and container name', () => {
    expect(containerKey(failed)).toBe('0b6f4a52-4a4e-4c5f-9f1e-6f0e0c1a2b3c/web');
  });

  it('round-trips any valid failure through JSON', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.constantFrom('init', 'regular', 'ephemeral'),
        fc.dictionary(
          fc.string().map((key) => `${ANNOTATION_PREFIX}${key}`),
          fc.string(),
        ),
        (message, containerType, annotations) => {
          const detail = { ...failed, message, containerType, annotations };
          expect(failedDetailSchema.parse(JSON.parse(JSON.stringify(detail)))).toEqual(detail);
        },
      ),
    );
  });
});
