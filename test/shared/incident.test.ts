import fc from 'fast-check';
import { diagnose } from '#shared/diagnosis/diagnose';
import {
  DEFAULT_WINDOWS,
  type Incident,
  MAX_EPISODES,
  MAX_SAMPLED,
  type PullObservation,
  type TrackedContainer,
  absorb,
  changedContainers,
  changesBetween,
  containerIdOf,
  figuresOf,
  foldObservation,
  inContainerGroups,
  incidentWindows,
  journalBytesOf,
  keyState,
  latestOfKey,
  moveContainer,
  newIncident,
  pendingWrites,
  sameIncident,
  settle,
  settleKey,
  sameValue,
} from '#shared/incident';
import { type IncidentKey, incidentKeyOf, keyIdOf } from '#shared/incident-key';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const windows = DEFAULT_WINDOWS;

const message =
  'Failed to pull image "nginx:1.27-alpin": rpc error: code = NotFound desc = docker.io/library/nginx:1.27-alpin: not found';
const verdict = diagnose({ reason: 'ErrImagePull', message, image: 'nginx:1.27-alpin' });
const key: IncidentKey = incidentKeyOf(
  {
    cluster: 'prod-eu',
    namespace: 'shop',
    workload: { kind: 'Deployment', name: 'web' },
    container: 'web',
    image: 'nginx:1.27-alpin',
  },
  verdict.cause,
);
const keyId = keyIdOf(key);

interface Event {
  kind: 'failed' | 'recovered';
  pod: number;
  /** Minutes after T0. */
  at: number;
  firstSeen?: number;
  count?: number;
}

const observation = ({ kind, pod, at, firstSeen = 0, count = 1 }: Event): PullObservation => ({
  kind,
  key,
  podUid: `uid-${pod}`,
  pod: `web-${pod}`,
  node: 'node-1',
  containerType: 'regular',
  reason: 'ErrImagePull',
  message,
  firstSeen: T0 + firstSeen * MIN,
  lastSeen: T0 + Math.max(firstSeen, kind === 'failed' ? at : firstSeen) * MIN,
  count,
  observedAt: T0 + at * MIN,
  ...(kind === 'recovered' ? { recovery: 'started' as const } : {}),
  annotations: {},
  verdict,
});

/** Folds observations the way dedupe does, writes included, and returns every generation. */
const foldAll = (events: readonly PullObservation[], stored: readonly Incident[] = []): Incident[] => {
  const state = keyState(keyId, key, stored);
  for (const event of events) foldObservation(state, event, windows);
  return [...state.generations.values()].map((g) => g.after).sort((a, b) => a.generation - b.generation);
};

const only = (incidents: Incident[]): Incident => {
  expect(incidents).toHaveLength(1);
  return incidents[0]!;
};

describe('windows', () => {
  it('defaults to the issue’s values and accepts overrides', () => {
    expect(DEFAULT_WINDOWS).toEqual({
      updateIntervalMs: 5 * MIN,
      quietPeriodMs: 2 * MIN,
      reopenWindowMs: 30 * MIN,
      stormThreshold: 5,
      stormWindowMs: 2 * MIN,
      stormHoldMs: 30_000,
      silenceMs: 10 * MIN,
    });
    expect(incidentWindows({ quietPeriodMs: 1000 }).quietPeriodMs).toBe(1000);
    expect(() => incidentWindows({ reopenWindowMs: -1 })).toThrow('reopenWindowMs');
    expect(() => incidentWindows({ stormThreshold: 1 })).toThrow('stormThreshold');
  });
});

describe('absorbing observations', () => {
  it('opens on the first failure and tracks pods, occurrences, firstSeen and lastSeen', () => {
    const incident = only(
      foldAll([
        observation({ kind: 'failed', pod: 1, at: 1, count: 3 }),
        observation({ kind: 'failed', pod: 2, at: 2, firstSeen: 1, count: 2 }),
        observation({ kind: 'failed', pod: 1, at: 4, count: 5 }),
      ]),
    );
    expect(incident.status).toBe('open');
    expect(incident.generation).toBe(1);
    expect(figuresOf(incident)).toMatchObject({
      occurrences: 7,
      affectedPods: 2,
      failingContainers: 2,
      firstSeen: T0,
      lastSeen: T0 + 4 * MIN,
    });
  });

  it('absorbs a duplicate without change (the same object comes back)', () => {
    const first = observation({ kind: 'failed', pod: 1, at: 1 });
    const opened = absorb(newIncident(keyId, 1, key), first, windows);
    expect(absorb(opened, { ...first }, windows)).toBe(opened);
    expect(changesBetween(opened, absorb(opened, first, windows))).toEqual([]);
  });

  it('converges when a recovery is delivered before its failure', () => {
    const failed = observation({ kind: 'failed', pod: 1, at: 1 });
    const recovered = observation({ kind: 'recovered', pod: 1, at: 3 });
    const inOrder = only(foldAll([failed, recovered]));
    const reversed = only(foldAll([recovered, failed]));
    expect(reversed).toEqual(inOrder);
    expect(reversed.containers['uid-1/web']?.state).toBe('recovered');
    expect(figuresOf(reversed)).toMatchObject({ failingContainers: 0, endedAt: T0 + 3 * MIN });
  });

  it('resolves only after the quiet period with nothing failing', () => {
    const incident = only(
      foldAll([
        observation({ kind: 'failed', pod: 1, at: 1 }),
        observation({ kind: 'failed', pod: 2, at: 1 }),
        observation({ kind: 'recovered', pod: 1, at: 3 }),
      ]),
    );
    expect(settle(incident, T0 + 60 * MIN, windows)).toBe(incident); // pod 2 still fails
    const quiet = absorb(incident, observation({ kind: 'recovered', pod: 2, at: 4 }), windows);
    expect(quiet.status).toBe('open');
    expect(settle(quiet, T0 + 5 * MIN, windows)).toBe(quiet);
    const resolved = settle(quiet, T0 + 6 * MIN, windows);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedAt: T0 + 6 * MIN, resolutions: 1 });
    expect(changesBetween(quiet, resolved)).toEqual(['resolved']);
  });

  it('reopens the same incident when it fails again within the reopen window (flapping)', () => {
    const state = keyState(keyId, key, []);
    foldObservation(state, observation({ kind: 'failed', pod: 1, at: 0 }), windows);
    foldObservation(state, observation({ kind: 'recovered', pod: 1, at: 1 }), windows);
    settleKey(state, T0 + 4 * MIN, windows);
    expect(latestOfKey(state)?.status).toBe('resolved');
    const resolved = latestOfKey(state)!;
    foldObservation(state, observation({ kind: 'failed', pod: 1, at: 10, firstSeen: 10 }), windows);
    const reopened = latestOfKey(state)!;
    expect(reopened).toMatchObject({ generation: 1, status: 'open', reopenCount: 1 });
    expect(changesBetween(resolved, reopened)).toEqual(['reopened']);
    expect(figuresOf(reopened).occurrences).toBe(2);
  });

  it('resolves before a late failure when the quiet period had already passed at the failure’s time', () => {
    const incident = only(
      foldAll([
        observation({ kind: 'failed', pod: 1, at: 0 }),
        observation({ kind: 'recovered', pod: 1, at: 1 }),
        observation({ kind: 'failed', pod: 2, at: 10, firstSeen: 10 }),
      ]),
    );
    expect(incident).toMatchObject({
      status: 'open',
      resolutions: 1,
      reopenCount: 1,
      resolvedAt: T0 + 3 * MIN,
    });
  });

  it('starts a new incident of the same key after the reopen window', () => {
    const [first, second] = foldAll([
      observation({ kind: 'failed', pod: 1, at: 0 }),
      observation({ kind: 'recovered', pod: 1, at: 1 }),
      observation({ kind: 'failed', pod: 1, at: 45, firstSeen: 45 }),
    ]);
    expect(first).toMatchObject({ generation: 1, status: 'resolved' });
    expect(second).toMatchObject({ generation: 2, status: 'open', floor: T0 + MIN });
    // A stale duplicate from the first incident changes neither.
    const again = foldAll([observation({ kind: 'failed', pod: 1, at: 0 })], [first!, second!]);
    expect(again).toEqual([first, second]);
  });

  it('records a cause change: the container stops failing here and the incident says where it went', () => {
    const opened = absorb(
      newIncident(keyId, 1, key),
      observation({ kind: 'failed', pod: 1, at: 1 }),
      windows,
    );
    const moved = moveContainer(
      opened,
      'uid-1/web',
      {
        at: T0 + 2 * MIN,
        pod: 'web-1',
        node: 'node-1',
        cause: 'rate-limited',
        incidentId: 'pw-0000000000ab',
      },
      windows,
    );
    expect(figuresOf(moved)).toMatchObject({
      failingContainers: 0,
      occurrences: 1,
      causeChanges: [
        { cause: 'rate-limited', incidentId: 'pw-0000000000ab', at: T0 + 2 * MIN, containers: 1 },
      ],
    });
    expect(settle(moved, T0 + 4 * MIN, windows).status).toBe('resolved');
    // An older failure of that container cannot undo the move.
    expect(absorb(moved, observation({ kind: 'failed', pod: 1, at: 1, count: 1 }), windows)).toBe(moved);
  });

  it('keeps only the latest episodes of a flapping container', () => {
    let incident = newIncident(keyId, 1, key);
    for (let i = 0; i < MAX_EPISODES + 4; i++) {
      incident = absorb(incident, observation({ kind: 'failed', pod: 1, at: i, firstSeen: i }), windows);
    }
    expect(Object.keys(incident.containers['uid-1/web']!.episodes)).toHaveLength(MAX_EPISODES);
    // The register forgets old episodes; the incident's first sighting stays the true one.
    expect(figuresOf(incident).firstSeen).toBe(T0);
  });

  it('writes nothing for a stale or duplicate observation', () => {
    const [stored] = foldAll([observation({ kind: 'failed', pod: 1, at: 1 })]);
    const state = keyState(keyId, key, [stored!]);
    foldObservation(state, observation({ kind: 'failed', pod: 1, at: 1 }), windows);
    expect(pendingWrites(state)).toEqual([]);
  });
});

/** An arbitrary failure or recovery of one of `pods` pods, within the reopen window. */
const eventOfPods = (pods: number) =>
  fc.record({
    kind: fc.constantFrom<'failed' | 'recovered'>('failed', 'recovered'),
    pod: fc.integer({ min: 1, max: pods }),
    at: fc.integer({ min: 0, max: 20 }),
    firstSeen: fc.integer({ min: 0, max: 3 }),
    count: fc.integer({ min: 1, max: 9 }),
  });

describe('properties', () => {
  // Events for a few pods within the reopen window, without scheduled ticks: the containers and
  // figures depend on the set of events only, not on their order or on repeats.
  const event = eventOfPods(4);
  // Failures and recoveries of one pod never share a timestamp in practice (one forwarder, one pod).
  const events = fc
    .array(event, { minLength: 1, maxLength: 25 })
    .map((list) =>
      list.map((e) => ({ ...e, firstSeen: Math.min(e.firstSeen, e.at) })).map((e) => observation(e)),
    );

  const trackedState = (incidents: Incident[]) =>
    incidents.map((incident) => ({
      containers: incident.containers,
      latest: incident.latest,
      figures: figuresOf(incident),
    }));

  it('is order-insensitive: any permutation gives the same containers and figures', () => {
    const permuted = events.chain((list) =>
      fc.tuple(
        fc.constant(list),
        fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
      ),
    );
    fc.assert(
      fc.property(permuted, ([list, shuffled]) => {
        expect(trackedState(foldAll(shuffled))).toEqual(trackedState(foldAll(list)));
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent: repeating any events changes nothing', () => {
    fc.assert(
      fc.property(events, fc.array(fc.nat(), { maxLength: 10 }), (list, picks) => {
        const once = foldAll(list);
        const repeats = picks.map((pick) => list[pick % list.length]!);
        const twice = foldAll([...list, ...repeats]);
        expect(twice).toEqual(once);
        const state = keyState(keyId, key, once);
        for (const repeat of repeats) foldObservation(state, repeat, windows);
        expect(pendingWrites(state)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('is one incident while everything stays within the reopen window', () => {
    fc.assert(
      fc.property(events, (list) => {
        const incidents = foldAll(list);
        expect(incidents).toHaveLength(1);
        expect(incidents[0]!.status).not.toBe('pending');
        const figures = figuresOf(incidents[0]!);
        const failingPods = new Set<number>();
        const last = new Map<string, PullObservation>();
        for (const e of list) {
          const seen = last.get(e.podUid);
          if (
            !seen ||
            e.observedAt > seen.observedAt ||
            (e.observedAt === seen.observedAt && e.kind === 'recovered')
          )
            last.set(e.podUid, e);
        }
        for (const e of last.values()) if (e.kind === 'failed') failingPods.add(Number(e.podUid.slice(4)));
        expect(figures.failingContainers).toBe(failingPods.size);
      }),
      { numRuns: 300 },
    );
  });

  it('compares incidents regardless of map key order', () => {
    const incident = only(foldAll([observation({ kind: 'failed', pod: 1, at: 1 })]));
    const reordered = JSON.parse(JSON.stringify(incident, Object.keys(incident).reverse())) as Incident;
    expect(sameIncident(incident, { ...reordered, ...incident })).toBe(true);
  });

  it('compares values structurally: key order and absent attributes do not count, everything else does', () => {
    expect(sameValue({ a: 1, b: { c: [1, { d: 2 }] } }, { b: { c: [1, { d: 2 }] }, a: 1 })).toBe(true);
    expect(sameValue({ a: 1, gone: undefined }, { a: 1 })).toBe(true);
    expect(sameValue({ a: 1 }, { b: 1 })).toBe(false);
    expect(sameValue({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameValue({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(sameValue({ a: null }, { a: {} })).toBe(false);
    expect(sameValue({ a: { b: { c: 1 } } }, { a: { b: { c: 2 } } })).toBe(false);
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const canonical = (value: unknown): string =>
          JSON.stringify(value, (_key, field: unknown) =>
            field !== null && typeof field === 'object' && !Array.isArray(field)
              ? Object.fromEntries(Object.entries(field).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
              : field,
          );
        expect(sameValue(a, b)).toBe(canonical(a) === canonical(b));
        expect(sameValue(a, JSON.parse(JSON.stringify(a)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('at fleet scale: the tally is exact with only a batch of registers in hand', () => {
  /** Figures recomputed from every register: what the tally must always equal. */
  const reference = (registers: Iterable<TrackedContainer>) => {
    let affected = 0;
    let failing = 0;
    let occurrences = 0;
    let lastChangeAt = 0;
    for (const register of registers) {
      const episodes = Object.values(register.episodes);
      if (register.state === 'failing' || episodes.length > 0) affected++;
      if (register.state === 'failing') failing++;
      occurrences += episodes.reduce((sum, episode) => sum + episode.count, 0);
      lastChangeAt = Math.max(lastChangeAt, register.at);
    }
    return { affected, failing, occurrences, lastChangeAt };
  };

  /**
   * Folds batches the way the store does: the head holds no registers between writes; each batch
   * loads only the registers it names (rows), and its changed registers go back to the rows.
   */
  const foldInBatches = (batches: readonly PullObservation[][], at?: (head: Incident) => void) => {
    const rows = new Map<string, TrackedContainer>();
    let head: Incident | undefined;
    for (const batch of batches) {
      const ids = batch.map(containerIdOf);
      const loaded = head && {
        ...head,
        containers: Object.fromEntries(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!]] : []))),
      };
      const state = keyState(keyId, key, loaded ? [loaded] : []);
      for (const event of batch) foldObservation(state, event, windows);
      const after = latestOfKey(state)!;
      for (const [id, register] of Object.entries(changedContainers(loaded, after))) rows.set(id, register);
      head = { ...after, containers: {} };
      at?.(head);
    }
    return { head: head!, rows };
  };

  const PODS = 5000;
  const podEvent = (pod: number, kind: 'failed' | 'recovered', atMs: number): PullObservation => ({
    ...observation({ kind, pod, at: 0 }),
    node: `node-${pod}`,
    observedAt: T0 + atMs,
    lastSeen: T0 + (kind === 'failed' ? atMs : 0),
    firstSeen: T0,
    count: 2,
  });
  const inBatches = (events: PullObservation[], size = 10) =>
    Array.from({ length: Math.ceil(events.length / size) }, (_, i) => events.slice(i * size, (i + 1) * size));

  it('counts 5,000 containers exactly, resolves only after the last recovery, and times it from that one', () => {
    const failures = Array.from({ length: PODS }, (_, pod) => podEvent(pod, 'failed', pod * 10));
    // A third recovers, then (after a pause shorter than the quiet period) the rest, the last at +119 s.
    const recoveries = Array.from({ length: PODS }, (_, pod) =>
      podEvent(pod, 'recovered', 60_000 + pod * 10 + (pod < PODS / 3 ? 0 : 9_000)),
    );
    const lastRecovery = Math.max(...recoveries.map((event) => event.observedAt));
    const statuses: string[] = [];
    const { head, rows } = foldInBatches(inBatches([...failures, ...recoveries]), (incident) =>
      statuses.push(`${incident.status}:${figuresOf(incident).failingContainers}`),
    );
    // Open with every container failing once all failures are in; never resolved before the end.
    expect(statuses[PODS / 10 - 1]).toBe(`open:${PODS}`);
    expect(statuses.filter((status) => status.startsWith('resolved'))).toEqual([]);
    expect(figuresOf(head)).toMatchObject({
      affectedPods: PODS,
      affectedContainers: PODS,
      failingContainers: 0,
      occurrences: 2 * PODS,
      firstSeen: T0,
      endedAt: lastRecovery,
    });
    expect(rows.size).toBe(PODS);
    expect(reference(rows.values())).toEqual({
      affected: head.tally.affected,
      failing: head.tally.failing,
      occurrences: head.tally.occurrences,
      lastChangeAt: head.tally.lastChangeAt,
    });
    // Resolves one quiet period after the LAST container recovered, not the first.
    expect(settle(head, lastRecovery + windows.quietPeriodMs - 1, windows).status).toBe('open');
    const resolved = settle(head, lastRecovery + windows.quietPeriodMs, windows);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedAt: lastRecovery + windows.quietPeriodMs });
    // The head stays small: a bounded sample, whatever the size.
    expect(head.sample.length).toBeLessThanOrEqual(MAX_SAMPLED);
    expect(Buffer.byteLength(JSON.stringify(head))).toBeLessThan(4096);
  });

  it('stays open while 2 of 5,000 containers still fail', () => {
    const failures = Array.from({ length: PODS }, (_, pod) => podEvent(pod, 'failed', pod));
    const recoveries = Array.from({ length: PODS - 2 }, (_, pod) => podEvent(pod, 'recovered', 60_000 + pod));
    const { head } = foldInBatches(inBatches([...failures, ...recoveries], 37));
    expect(figuresOf(head).failingContainers).toBe(2);
    expect(settle(head, T0 + 365 * 24 * 60 * MIN, windows).status).toBe('open');
  });

  it('gives the reference figures whatever the batches and their order, with repeats', () => {
    const event = eventOfPods(30);
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 12 }),
        (list, size) => {
          const events = list.map((e) => observation({ ...e, firstSeen: Math.min(e.firstSeen, e.at) }));
          const { head, rows } = foldInBatches(inBatches([...events, ...events.slice(0, 5)], size));
          const all = foldAll(events);
          const whole = all[all.length - 1]!;
          expect(reference(rows.values())).toMatchObject({
            affected: head.tally.affected,
            failing: head.tally.failing,
            occurrences: head.tally.occurrences,
          });
          expect(figuresOf(head)).toEqual(figuresOf(whole));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('inContainerGroups', () => {
  const observation = (podUid: string, node = 'ip-10-0-1-23.eu-west-1.compute.internal') =>
    ({ podUid, pod: `web-${podUid}`, node, key: { container: 'web' } }) as unknown as PullObservation;

  it('closes a group at the container count, a container counted once however often it is seen', () => {
    const seen = ['a', 'b', 'a', 'c', 'b', 'd'].map((id) => observation(id));
    const groups = inContainerGroups(seen, { containers: 2, bytes: 100_000 });
    expect(groups.map((group) => group.map((item) => item.podUid))).toEqual([
      ['a', 'b', 'a'],
      ['c', 'b'],
      ['d'],
    ]);
  });

  it('closes a group before its journal would pass the bytes, whatever the count allows', () => {
    const short = observation('s1', 'n1');
    const long = observation('l1', 'x'.repeat(253));
    const budget = { containers: 20, bytes: journalBytesOf(short) * 2 + 1 };
    const groups = inContainerGroups([short, observation('s2', 'n2'), long, observation('s3', 'n3')], budget);
    expect(groups.map((group) => group.map((item) => item.podUid))).toEqual([['s1', 's2'], ['l1'], ['s3']]);
  });

  it('keeps every observation, in order', () => {
    const seen = Array.from({ length: 57 }, (_, n) => observation(`p${n % 23}`));
    const groups = inContainerGroups(seen, { containers: 5, bytes: 900 });
    expect(groups.flat()).toEqual(seen);
    for (const group of groups) {
      const named = new Map(group.map((item) => [item.podUid, item]));
      expect(named.size).toBeLessThanOrEqual(5);
      const bytes = [...named.values()].reduce((sum, item) => sum + journalBytesOf(item), 0);
      expect(named.size === 1 || bytes <= 900).toBe(true);
    }
  });
});
