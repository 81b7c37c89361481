/**
 * The rules match the contract: the synthesized rule patterns are evaluated against sample events
 * built from shared/ (every detail type of both sources, forged combinations and strangers), and
 * each rule must match exactly the events it exists for. The same events go through the archive's
 * pattern. Also: each rule's queue feeds the function the chain in functions/README.md says.
 */
import {
  DETAIL_TYPE,
  type FailedDetail,
  type HeartbeatDetail,
  SOURCE,
  heartbeatPattern,
  matchesPattern,
  parsePullwatchEvent,
  pullEventsPattern,
} from '#shared/contract';
import {
  INCIDENT_DETAIL_TYPES,
  PIPELINE_DETAIL_TYPE,
  WATCHDOG_DETAIL_TYPES,
  PIPELINE_SOURCE,
  classifiedPattern,
  incidentEventsPattern,
  rejectedPattern,
} from '#shared/incident-events';
import { BUS_RULES } from '#shared/bus-rules';
import { eventPatternOf } from '../../../infra/constructs/event-bus';
import { LOCAL_RULES } from '../../../local/pipeline';
import { matchesEventPattern } from '../support/event-pattern';
import {
  type Resource,
  type Synthesized,
  exampleWith,
  referencedId,
  resourcesOf,
  synthesize,
} from '../support/synth';

const CENTRAL_BUS = 'arn:aws:events:eu-west-1:999999999999:event-bus/pullwatch-central';

let example: Synthesized;
let central: Synthesized;
beforeAll(() => {
  example = synthesize('example');
  central = synthesize(exampleWith((raw) => (raw.centralBusArn = CENTRAL_BUS)));
});

// ---------------------------------------------------------------------------------------------
// Sample events

const failedDetail: FailedDetail = {
  schemaVersion: 1,
  cluster: 'prod-eu',
  namespace: 'shop',
  pod: 'web-7d9c6b5f4-p4vdn',
  podUid: '0b8f4c9e-2f3d-4a57-9d1e-6f1f2d7c8a90',
  container: 'web',
  containerType: 'regular',
  image: 'nginx:1.27-alpin',
  reason: 'ErrImagePull',
  message: 'failed to resolve reference "docker.io/library/nginx:1.27-alpin": not found',
  messageTruncated: false,
  node: 'ip-10-0-1-23',
  workload: { kind: 'Deployment', name: 'web' },
  pullSecrets: [],
  serviceAccount: 'default',
  annotations: {},
  firstSeen: '2026-03-01T10:00:00Z',
  lastSeen: '2026-03-01T10:04:00Z',
  count: 4,
  observedAt: '2026-03-01T10:04:01Z',
};
const heartbeatDetail: HeartbeatDetail = {
  schemaVersion: 1,
  cluster: 'prod-eu',
  observedAt: '2026-03-01T10:04:01Z',
  failingContainers: 3,
  forwarderVersion: '0.1.0',
};
const forwarderDetails: Record<string, unknown> = {
  [DETAIL_TYPE.failed]: failedDetail,
  [DETAIL_TYPE.recovered]: { ...failedDetail, recovery: 'started' },
  [DETAIL_TYPE.heartbeat]: heartbeatDetail,
};

interface SampleEvent {
  source: string;
  'detail-type': string;
  detail: unknown;
  [field: string]: unknown;
}

/** An event as EventBridge would deliver it to a rule. */
const envelope = (source: string, detailType: string, detail: unknown): SampleEvent => ({
  version: '0',
  id: `${source}/${detailType}`,
  account: '111111111111',
  time: '2026-03-01T10:04:02Z',
  region: 'eu-west-1',
  resources: [],
  source,
  'detail-type': detailType,
  detail,
});

const FORWARDER_TYPES = Object.values(DETAIL_TYPE) as string[];
const PIPELINE_TYPES = Object.values(PIPELINE_DETAIL_TYPE) as string[];
const ALL_TYPES = [...FORWARDER_TYPES, ...PIPELINE_TYPES, 'ImagePullFailedV2', 'Scheduled Event'];
const SOURCES = [SOURCE, PIPELINE_SOURCE, 'aws.events', `${SOURCE}.forged`, 'PULLWATCH'];

/** Every source × detail type; the forwarder's real events carry details valid under the contract. */
const SAMPLES: SampleEvent[] = SOURCES.flatMap((source) =>
  ALL_TYPES.map((detailType) =>
    envelope(source, detailType, forwarderDetails[detailType] ?? { schemaVersion: 1, sample: detailType }),
  ),
);

const key = (event: { source: string; 'detail-type': string }) => `${event.source} / ${event['detail-type']}`;
const keysOf = (source: string, detailTypes: readonly string[]) =>
  detailTypes.map((detailType) => `${source} / ${detailType}`).sort();

test('the forwarder samples are valid events of the contract', () => {
  for (const detailType of FORWARDER_TYPES) {
    expect(() =>
      parsePullwatchEvent(envelope(SOURCE, detailType, forwarderDetails[detailType])),
    ).not.toThrow();
  }
});

// ---------------------------------------------------------------------------------------------
// The evaluator itself

describe('the pattern evaluator', () => {
  test('follows EventBridge: lists are alternatives, fields are all required, arrays match any element', () => {
    const pattern = { source: ['a', 'b'], detail: { kind: ['x'], tags: ['t2'] } };
    expect(matchesEventPattern(pattern, { source: 'b', detail: { kind: 'x', tags: ['t1', 't2'] } })).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, { source: 'c', detail: { kind: 'x', tags: ['t2'] } })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'a', detail: { kind: 'y', tags: ['t2'] } })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'a' })).toBe(false);
    expect(matchesEventPattern({ source: [{ prefix: 'pull' }] }, { source: 'pullwatch' })).toBe(true);
    expect(matchesEventPattern({ source: [{ 'anything-but': ['a'] }] }, { source: 'a' })).toBe(false);
    expect(matchesEventPattern({ detail: { x: [{ exists: false }] } }, { detail: {} })).toBe(true);
    expect(() => matchesEventPattern({ source: [{ wildcard: '*' }] }, { source: 'a' })).toThrow(/wildcard/);
  });
});

// ---------------------------------------------------------------------------------------------
// The synthesized rules

interface RuleUnderTest {
  /** The rule's construct id in infra/constructs/pipeline.ts or stack.ts. */
  id: string;
  /** Exactly the events it must match. */
  expected: string[];
  /** The shared/ pattern object it is built from, and shared's own matcher for it. */
  matchesShared: (event: SampleEvent) => boolean;
}

const RULES: RuleUnderTest[] = [
  {
    id: 'PullEventsToClassify',
    expected: keysOf(SOURCE, [DETAIL_TYPE.failed, DETAIL_TYPE.recovered]),
    matchesShared: (event) => matchesPattern(pullEventsPattern, event),
  },
  {
    id: 'ClassifiedToDedupe',
    expected: keysOf(PIPELINE_SOURCE, [PIPELINE_DETAIL_TYPE.classified]),
    matchesShared: (event) => matchesPattern(classifiedPattern, event),
  },
  {
    id: 'IncidentsToNotify',
    expected: keysOf(PIPELINE_SOURCE, INCIDENT_DETAIL_TYPES),
    matchesShared: (event) => matchesPattern(incidentEventsPattern, event),
  },
  {
    id: 'HeartbeatsToWatchdog',
    expected: keysOf(SOURCE, [DETAIL_TYPE.heartbeat]),
    matchesShared: (event) => matchesPattern(heartbeatPattern, event),
  },
  {
    id: 'RejectedToDeadLetters',
    expected: keysOf(PIPELINE_SOURCE, [PIPELINE_DETAIL_TYPE.rejected]),
    matchesShared: (event) => matchesPattern(rejectedPattern, event),
  },
];

const ruleNamed = (synthesized: Synthesized, id: string): [string, Resource] => {
  const found = resourcesOf(synthesized.template, 'AWS::Events::Rule').filter(([logicalId]) =>
    logicalId.includes(id),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
};

const matchedBy = (pattern: unknown): string[] =>
  SAMPLES.filter((event) => matchesEventPattern(pattern, event))
    .map(key)
    .sort();

describe.each(RULES)('rule $id', ({ id, expected, matchesShared }) => {
  test('matches exactly the events it is for, and agrees with shared/', () => {
    const [, rule] = ruleNamed(example, id);
    const pattern = rule.Properties!.EventPattern;
    expect(matchedBy(pattern)).toEqual(expected);
    expect(SAMPLES.filter(matchesShared).map(key).sort()).toEqual(expected);
  });

  test('is on the pullwatch bus', () => {
    const [, rule] = ruleNamed(example, id);
    expect(referencedId(rule.Properties!.EventBusName)).toBe(
      example.stack.getLogicalId(example.stack.bus.bus.node.defaultChild as never),
    );
  });
});

test('no rule lets a forwarder (source pullwatch) pass for the pipeline (source pullwatch.pipeline)', () => {
  const forged = SAMPLES.filter(
    (event) => event.source === SOURCE && PIPELINE_TYPES.includes(event['detail-type']),
  );
  for (const [, rule] of resourcesOf(example.template, 'AWS::Events::Rule')) {
    for (const event of forged) expect(matchesEventPattern(rule.Properties!.EventPattern, event)).toBe(false);
  }
});

test('the archive keeps exactly the forwarder’s failures and recoveries (what replay needs)', () => {
  const archives = resourcesOf(example.template, 'AWS::Events::Archive');
  expect(archives).toHaveLength(1);
  expect(matchedBy(archives[0]![1].Properties!.EventPattern)).toEqual(
    keysOf(SOURCE, [DETAIL_TYPE.failed, DETAIL_TYPE.recovered]),
  );
});

test('the central forwarding rules send exactly the incident and watchdog events to the central bus', () => {
  expect(resourcesOf(example.template, 'AWS::Events::Rule').some(([id]) => id.includes('Central'))).toBe(
    false,
  );
  for (const [id, detailTypes] of [
    ['IncidentsToCentralBus', INCIDENT_DETAIL_TYPES],
    ['WatchdogEventsToCentralBus', WATCHDOG_DETAIL_TYPES],
  ] as const) {
    const [, rule] = ruleNamed(central, id);
    expect(matchedBy(rule.Properties!.EventPattern)).toEqual(keysOf(PIPELINE_SOURCE, detailTypes));
    const targets = rule.Properties!.Targets as Array<Record<string, unknown>>;
    expect(targets).toHaveLength(1);
    expect(targets[0]!.Arn).toBe(CENTRAL_BUS);
  }
});

test('rules are built from the shared/ pattern objects themselves', () => {
  expect(eventPatternOf(pullEventsPattern)).toEqual({
    source: [...pullEventsPattern.source],
    detailType: [...pullEventsPattern.detailType],
  });
});

// ---------------------------------------------------------------------------------------------
// Rule → queue → function

test('each rule’s queue feeds the function functions/README.md names', () => {
  const { template, stack } = example;
  const functionsById = new Map(
    stack.functions.map((fn) => [stack.getLogicalId(fn.function.node.defaultChild as never), fn.entryPoint]),
  );
  const consumerOf = (queueId: string): string[] =>
    resourcesOf(template, 'AWS::Lambda::EventSourceMapping')
      .filter(([, mapping]) => referencedId(mapping.Properties!.EventSourceArn) === queueId)
      .map(([, mapping]) => functionsById.get(referencedId(mapping.Properties!.FunctionName)!)!);
  const queueOf = (ruleId: string): string => {
    const [, rule] = ruleNamed(example, ruleId);
    const targets = rule.Properties!.Targets as Array<{ Arn: unknown }>;
    expect(targets).toHaveLength(1);
    return referencedId(targets[0]!.Arn)!;
  };
  expect(consumerOf(queueOf('PullEventsToClassify'))).toEqual(['functions/classify/handler.handler']);
  expect(consumerOf(queueOf('ClassifiedToDedupe'))).toEqual(['functions/dedupe/handler.handler']);
  expect(consumerOf(queueOf('IncidentsToNotify'))).toEqual(['functions/notify/handler.handler']);
  expect(consumerOf(queueOf('HeartbeatsToWatchdog'))).toEqual(['functions/watchdog/handler.record']);
  // Rejected events wait in a dead-letter queue for a person: nothing consumes it.
  expect(queueOf('RejectedToDeadLetters')).toBe(
    stack.getLogicalId(stack.pipeline.rejected.queue.node.defaultChild as never),
  );
  expect(consumerOf(queueOf('RejectedToDeadLetters'))).toEqual([]);
});

test('one rule table: every rule of shared/bus-rules.ts is in the stack and on the local bus, with its pattern', () => {
  for (const rule of BUS_RULES) {
    const [, deployed] = ruleNamed(example, rule.id);
    expect({ id: rule.id, matched: matchedBy(deployed.Properties!.EventPattern) }).toEqual({
      id: rule.id,
      matched: SAMPLES.filter((event) => matchesPattern(rule.pattern, event))
        .map(key)
        .sort(),
    });
    expect(LOCAL_RULES).toContainEqual(
      expect.objectContaining({ target: rule.target, pattern: rule.pattern }),
    );
  }
});
