/**
 * The shipper against a local PutEvents endpoint, through the real @aws-sdk/client-eventbridge.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  DETAIL_TYPE,
  type FailedDetail,
  MESSAGE_LIMIT_BYTES,
  SCHEMA_VERSION,
  failedDetailSchema,
} from '#shared/contract';
import { PUT_EVENTS_MAX_BYTES, putEventsEntrySize } from '#shared/put-events';
import { type OutgoingEvent, heartbeatEvent } from '../../forwarder/outgoing-events';
import {
  Shipper,
  type ShipperOptions,
  eventBridgePublisher,
  toEntry,
  truncateUtf8,
} from '../../forwarder/ship';
import { FakeEventBridge } from '../support/fake-eventbridge';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const failedDetail = (
  pod: string,
  message = `Failed to pull image "x/${pod}:1": not found`,
): FailedDetail => ({
  schemaVersion: SCHEMA_VERSION,
  cluster: 'test',
  namespace: 'shop',
  pod,
  podUid: `uid-${pod}`,
  container: 'app',
  containerType: 'regular',
  image: `x/${pod}:1`,
  reason: 'ErrImagePull',
  message,
  messageTruncated: false,
  node: 'node-1',
  workload: { kind: 'Deployment', name: pod },
  pullSecrets: [],
  serviceAccount: 'default',
  annotations: {},
  firstSeen: '2026-03-01T10:00:00.000Z',
  lastSeen: '2026-03-01T10:00:00.000Z',
  count: 1,
  observedAt: '2026-03-01T10:00:01.000Z',
});

const failure = (pod: string, message?: string): OutgoingEvent => ({
  detailType: DETAIL_TYPE.failed,
  key: `uid-${pod}/app`,
  detail: failedDetail(pod, message),
});

const recovery = (pod: string): OutgoingEvent => ({
  detailType: DETAIL_TYPE.recovered,
  key: `uid-${pod}/app`,
  detail: { ...failedDetail(pod), recovery: 'started' },
});

let bus: FakeEventBridge;
let client: EventBridgeClient;
let shipper: Shipper | undefined;

const rejected: string[] = [];
const retried: Array<['call' | 'entry', number]> = [];

const makeShipper = (options: Partial<ShipperOptions> = {}): Shipper => {
  shipper = new Shipper({
    publisher: eventBridgePublisher(client),
    busName: 'pullwatch-test',
    lingerMs: 10,
    retryBaseMs: 10,
    retryMaxMs: 100,
    onRejected: (event, code) => rejected.push(`${event.detail.cluster}:${event.key}:${code}`),
    onRetry: (scope, count) => retried.push([scope, count]),
    ...options,
  });
  return shipper;
};

const pods = (events = bus.events) =>
  events.map((event) => `${event.detailType}:${String(event.detail.pod ?? '')}`);

beforeEach(async () => {
  bus = await new FakeEventBridge().start();
  client = new EventBridgeClient({
    region: 'eu-west-1',
    endpoint: bus.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 2,
  });
  rejected.length = 0;
  retried.length = 0;
});

afterEach(async () => {
  shipper?.stop();
  shipper = undefined;
  client.destroy();
  await bus.stop();
});

describe('entries', () => {
  it('sizes an entry as EventBridge does', () => {
    const entry = toEntry(failure('web'), 'bus');
    expect(putEventsEntrySize(entry)).toBe(
      14 + 'pullwatch'.length + 'ImagePullFailed'.length + Buffer.byteLength(entry.Detail),
    );
  });

  it('cuts an oversized message on a character boundary and marks it truncated', () => {
    const long = `Failed to pull image "x": ${'é'.repeat(MESSAGE_LIMIT_BYTES)}`;
    const detail = JSON.parse(toEntry(failure('web', long), 'bus').Detail);
    expect(detail.messageTruncated).toBe(true);
    expect(Buffer.byteLength(detail.message)).toBeLessThanOrEqual(MESSAGE_LIMIT_BYTES);
    expect(detail.message.endsWith('…')).toBe(true);
    expect(long.startsWith(detail.message.slice(0, -1))).toBe(true);
    expect(failedDetailSchema.safeParse(detail).success).toBe(true);
    expect(truncateUtf8('short', 100)).toBe('short');
    expect(Buffer.byteLength(truncateUtf8('😀'.repeat(10), 9))).toBeLessThanOrEqual(9);
  });
});

describe('shipping to the PutEvents endpoint', () => {
  it('batches at most 10 entries per call, in order, signed', async () => {
    // A long linger: the last five must still be waiting for company when the 25th arrives, however
    // slowly a loaded machine runs the loop (with 10 ms, a partial batch sometimes left early).
    const ship = makeShipper({ lingerMs: 1000 });
    for (let i = 0; i < 25; i++) await ship.enqueue(failure(`p${String(i).padStart(2, '0')}`));
    await ship.idle();
    expect(bus.calls.map((call) => call.entries)).toEqual([10, 10, 5]);
    expect(bus.calls.every((call) => call.signed && call.status === 200)).toBe(true);
    expect(pods()).toEqual(
      Array.from({ length: 25 }, (_, i) => `ImagePullFailed:p${String(i).padStart(2, '0')}`),
    );
    expect(bus.events[0]).toMatchObject({ source: 'pullwatch', eventBusName: 'pullwatch-test' });
  });

  it('keeps every call under 256 KB, and truncates oversized messages', async () => {
    const ship = makeShipper();
    const big = `Failed to pull image "x": ${'x'.repeat(MESSAGE_LIMIT_BYTES * 4)}`;
    for (let i = 0; i < 40; i++) {
      const event = failure(`big${i}`, big);
      // ~30 KB of routing annotations per entry: ten entries would not fit in one call.
      if (event.detailType === DETAIL_TYPE.failed)
        event.detail.annotations = { 'pullwatch.io/notes': 'n'.repeat(30_000) };
      await ship.enqueue(event);
    }
    await ship.idle();
    expect(bus.events).toHaveLength(40);
    expect(bus.calls.every((call) => call.status === 200 && call.bytes < PUT_EVENTS_MAX_BYTES)).toBe(true);
    expect(Math.max(...bus.calls.map((call) => call.entries))).toBeLessThan(10);
    expect(bus.events.every((event) => event.detail.messageTruncated === true)).toBe(true);
    expect(
      bus.events.every((event) => Buffer.byteLength(String(event.detail.message)) <= MESSAGE_LIMIT_BYTES),
    ).toBe(true);
  });

  it('lets the SDK retry a throttled call', async () => {
    bus.inject({ kind: 'throttle' });
    const ship = makeShipper();
    await ship.enqueue(failure('web'));
    await ship.idle();
    expect(bus.calls.map((call) => call.status)).toEqual([400, 200]);
    expect(pods()).toEqual(['ImagePullFailed:web']);
  });

  it('retries a call with its own back-off after the SDK gives up on 5xx', async () => {
    bus.inject({ kind: 'server-error' }, { kind: 'server-error', status: 503 }, { kind: 'server-error' });
    const ship = makeShipper();
    await ship.enqueue(failure('web'));
    await ship.enqueue(failure('api'));
    await ship.idle();
    expect(bus.calls.map((call) => call.status)).toEqual([500, 503, 500, 200]);
    expect(retried.filter(([scope]) => scope === 'call').length).toBeGreaterThan(0);
    expect(pods()).toEqual(['ImagePullFailed:web', 'ImagePullFailed:api']);
  });

  it('retries only the entries that failed (FailedEntryCount), exactly once each', async () => {
    bus.inject({ kind: 'fail-entries', positions: [1, 3], errorCode: 'ThrottlingException' });
    bus.inject({ kind: 'fail-entries', positions: [0], errorCode: 'InternalFailure' });
    const ship = makeShipper();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await ship.enqueue(failure(name));
    await ship.idle();
    expect(bus.calls.map((call) => [call.entries, call.failedEntries])).toEqual([
      [5, 2],
      [2, 1],
      [1, 0],
    ]);
    expect(pods().sort()).toEqual(['a', 'b', 'c', 'd', 'e'].map((name) => `ImagePullFailed:${name}`));
    expect(retried).toEqual([
      ['entry', 2],
      ['entry', 1],
    ]);
  });

  it('gives up on entries EventBridge rejects for good, and says so', async () => {
    bus.inject({
      kind: 'fail-matching',
      matches: (entry) => (entry.Detail ?? '').includes('"pod":"forbidden"'),
      errorCode: 'NotAuthorizedForSourceException',
    });
    const ship = makeShipper();
    await ship.enqueue(failure('forbidden'));
    await ship.enqueue(failure('fine'));
    await ship.idle();
    expect(pods()).toEqual(['ImagePullFailed:fine']);
    expect(rejected).toEqual(['test:uid-forbidden/app:NotAuthorizedForSourceException']);
    expect(bus.calls).toHaveLength(1);
  });

  it('never lets a later state of a container overtake an earlier one under retry', async () => {
    bus.inject({ kind: 'fail-entries', positions: [0], errorCode: 'InternalFailure' });
    // The failure waits ~300 ms for its retry; the recovery arrives meanwhile and must wait behind it.
    const ship = makeShipper({ concurrency: 4, retryBaseMs: 300, random: () => 0.99 });
    await ship.enqueue(failure('web'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bus.calls).toHaveLength(1);
    await ship.enqueue(recovery('web'));
    await ship.idle();
    expect(pods()).toEqual(['ImagePullFailed:web', 'ImagePullRecovered:web']);
  });
});

describe('lingering', () => {
  it('sends a lingering event however much time passes between two readings of the clock', async () => {
    // Time moves on while the shipper works (a loaded machine, a GC pause): here 3 ms between any
    // two readings. An event not due when the next batch is formed must still get its wake-up, even
    // if the linger deadline has passed by the time the wake-up is planned.
    let clock = Date.now();
    const ship = makeShipper({ lingerMs: 5, now: () => (clock += 3) });
    await ship.enqueue(failure('web'));
    await bus.waitFor((events) => events.length === 1, 2000, 'the lingering event');
    expect(pods()).toEqual(['ImagePullFailed:web']);
  });
});

describe('the bounded queue', () => {
  it('coalesces to the latest state per container when full, counts it, and makes producers wait', async () => {
    bus.latencyMs = 300;
    const coalesced: number[] = [];
    const ship = makeShipper({ capacity: 10, concurrency: 1, onCoalesced: (n) => coalesced.push(n) });
    // The first ten leave at once and are in flight for 300 ms.
    for (let i = 0; i < 10; i++) await ship.enqueue(failure(`first${i}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Ten more fill the queue.
    for (let i = 0; i < 10; i++) await ship.enqueue(failure(`next${i}`));
    // Full: newer states of queued containers replace the old ones…
    await ship.enqueue(failure('next3', 'Failed to pull image "x": newer text'));
    await ship.enqueue(recovery('next7'));
    expect(ship.coalesced).toBe(2);
    // …and a new container waits for room instead of being dropped.
    let admitted = false;
    const waiting = ship.enqueue(failure('late')).then(() => (admitted = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(admitted).toBe(false);
    await waiting;
    await ship.idle();

    expect(coalesced).toEqual([1, 1]);
    expect(bus.events).toHaveLength(21);
    const next3 = bus.events.filter((event) => event.detail.pod === 'next3');
    expect(next3.map((event) => event.detail.message)).toEqual(['Failed to pull image "x": newer text']);
    const next7 = bus.events.filter((event) => event.detail.pod === 'next7');
    expect(next7.map((event) => event.detailType)).toEqual(['ImagePullRecovered']);
    expect(pods().at(-1)).toBe('ImagePullFailed:late');
  });

  it('keeps only the newest unsent heartbeat', async () => {
    bus.latencyMs = 200;
    const ship = makeShipper({ concurrency: 1 });
    await ship.enqueue(failure('web'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const failing of [1, 2, 3])
      ship.offerHeartbeat(heartbeatEvent('test', failing, '0.1.0', new Date()));
    await ship.idle();
    const heartbeats = bus.ofType(DETAIL_TYPE.heartbeat);
    expect(heartbeats.map((event) => event.detail.failingContainers)).toEqual([3]);
    expect(ship.coalesced).toBe(2);
  });
});

describe('flush', () => {
  it('sends lingering events at once', async () => {
    const ship = makeShipper({ lingerMs: 60_000 });
    await ship.enqueue(failure('web'));
    expect(bus.calls).toHaveLength(0);
    const result = await ship.flush(Date.now() + 5000);
    expect(result).toEqual({ unsent: 0 });
    expect(pods()).toEqual(['ImagePullFailed:web']);
  });

  it('stops at the deadline and reports what it could not ship', async () => {
    bus.inject({ kind: 'fail-matching', matches: () => true, errorCode: 'ThrottlingException' });
    const ship = makeShipper({ retryBaseMs: 50 });
    await ship.enqueue(failure('web'));
    await ship.enqueue(failure('api'));
    const started = Date.now();
    const result = await ship.flush(started + 400);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toEqual({ unsent: 2 });
    expect(bus.events).toHaveLength(0);
  });
});
