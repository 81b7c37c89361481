import { ContractViolation, DETAIL_TYPE, type FailedDetail, SOURCE, matchesPattern } from '#shared/contract';
import { DEFAULT_WINDOWS, absorb, newIncident } from '#shared/incident';
import { classifyPullEvent } from '#shared/classify-event';
import { incidentDetailOf } from '#shared/incident-detail';
import {
  INCIDENT_DETAIL_TYPES,
  PIPELINE_DETAIL_TYPE,
  PIPELINE_SOURCE,
  classifiedPattern,
  incidentDetailSchema,
  incidentEventsPattern,
  observationOf,
  offendingField,
  parseClassifiedEvent,
  parseIncidentEvent,
  rejectedPattern,
  toPipelineRulePattern,
} from '#shared/incident-events';
import { keyIdOf } from '#shared/incident-key';
import { failedDetail } from '../support/failed-detail';
import { join } from 'node:path';

/** A rate-limited pull, its times written with an offset and without milliseconds. */
const failure: FailedDetail = {
  ...failedDetail,
  message: 'Failed to pull image "nginx:1.27-alpin": toomanyrequests: You have reached your pull rate limit.',
  firstSeen: '2026-03-01T11:00:00+01:00',
  lastSeen: '2026-03-01T10:05:00Z',
};

describe('pipeline events', () => {
  it('have their own source, so the forwarder cannot forge them', () => {
    expect(PIPELINE_SOURCE).toBe('pullwatch.pipeline');
    expect(PIPELINE_SOURCE).not.toBe(SOURCE);
    expect(toPipelineRulePattern(incidentEventsPattern)).toEqual({
      source: ['pullwatch.pipeline'],
      'detail-type': ['IncidentOpened', 'IncidentUpdated', 'IncidentReopened', 'IncidentResolved'],
    });
    expect(
      matchesPattern(classifiedPattern, {
        source: PIPELINE_SOURCE,
        'detail-type': 'ImagePullClassified',
      }),
    ).toBe(true);
    expect(matchesPattern(classifiedPattern, { source: SOURCE, 'detail-type': 'ImagePullClassified' })).toBe(
      false,
    );
    expect(
      matchesPattern(rejectedPattern, { source: PIPELINE_SOURCE, 'detail-type': 'IncidentOpened' }),
    ).toBe(false);
  });

  it('classify a failure with the engine, and round-trip through the schema', () => {
    const detail = classifyPullEvent({ source: SOURCE, 'detail-type': DETAIL_TYPE.failed, detail: failure });
    expect(detail).toMatchObject({ kind: 'failed', verdict: { cause: 'rate-limited' } });
    const event = { source: PIPELINE_SOURCE, 'detail-type': PIPELINE_DETAIL_TYPE.classified, detail };
    expect(parseClassifiedEvent(JSON.parse(JSON.stringify(event))).detail).toEqual(detail);
  });

  it('turn a classified event into an observation in epoch milliseconds', () => {
    const detail = classifyPullEvent({
      source: SOURCE,
      'detail-type': DETAIL_TYPE.recovered,
      detail: { ...failure, recovery: 'pod-deleted' },
    });
    const observation = observationOf(detail);
    expect(observation).toMatchObject({
      kind: 'recovered',
      recovery: 'pod-deleted',
      firstSeen: Date.parse('2026-03-01T10:00:00Z'),
      observedAt: Date.parse('2026-03-01T10:05:01Z'),
      key: { cluster: 'prod-eu', cause: 'rate-limited' },
    });
  });

  it('describe an incident for other teams, with an id that names the state', () => {
    const classified = classifyPullEvent({
      source: SOURCE,
      'detail-type': DETAIL_TYPE.failed,
      detail: failure,
    });
    const observation = observationOf(classified);
    const incident = absorb(
      newIncident(keyIdOf(observation.key), 1, observation.key),
      observation,
      DEFAULT_WINDOWS,
    );
    const detail = incidentDetailOf(incident, 1, 'opened', DEFAULT_WINDOWS);
    expect(incidentDetailSchema.parse(detail)).toEqual(detail);
    expect(detail).toMatchObject({
      eventId: `${incident.keyId}@1:opened`,
      incidentId: incident.keyId,
      status: 'open',
      cause: 'rate-limited',
      title: 'Registry rate limit reached',
      registry: { kind: 'dockerhub', displayName: 'Docker Hub' },
      occurrences: 4,
      affectedPods: 1,
      firstSeen: '2026-03-01T10:00:00.000Z',
      lastSeen: '2026-03-01T10:05:00.000Z',
    });
    for (const detailType of INCIDENT_DETAIL_TYPES) {
      expect(
        parseIncidentEvent({ source: PIPELINE_SOURCE, 'detail-type': detailType, detail }).detail,
      ).toEqual(detail);
    }
  });

  it('reject what breaks the schema, naming the field', () => {
    try {
      parseIncidentEvent({
        source: PIPELINE_SOURCE,
        'detail-type': 'IncidentOpened',
        detail: { schemaVersion: 1 },
      });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ContractViolation);
      expect(offendingField((error as ContractViolation).issues)).toBe('eventId');
    }
    expect(() =>
      parseClassifiedEvent({ source: SOURCE, 'detail-type': 'ImagePullClassified', detail: {} }),
    ).toThrow('not an ImagePullClassified event: source');
    expect(offendingField([])).toBeUndefined();
  });
});

describe('the contract module', () => {
  it('is the contract only: loading it (as the CDK app does for its rules) loads no diagnosis engine', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(__dirname, '../../shared/incident-events.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.endsWith('shared/incident-events.ts'))).toBe(true);
    expect(inputs.filter((input) => /shared\/diagnosis\/(?!causes\.ts)/.test(input))).toEqual([]);
  });
});
