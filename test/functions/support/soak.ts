/**
 * The soak's model: a small cluster (a few workloads, a few pods each) failing, then quiet, under a
 * random fault schedule, through the real handlers (classify, dedupe, notify and their ticks) over
 * dynalite and the fake Slack, with SQS simulated (3 receives, then the dead-letter queue).
 *
 * Faults: crashes of notify at its store writes (before or after the write lands), Slack answers
 * lost, refused or rate-limited (posts and updates), and deliveries to notify dropped, duplicated
 * and reordered (forwarder events duplicated and reordered too).
 *
 * Invariants, checked while the failures are fresh and again once everything has resolved:
 * - no lost incident: every failing workload has its incident, posted;
 * - no duplicate post: each post (incident, post id) is in Slack at most once;
 * - no false resolve: nothing resolves before its quiet period, everything after it;
 * - Slack converges to the store: one first post per incident, showing its status, and one
 *   resolution reply per resolution, nothing else.
 */
import fc from 'fast-check';
import { IncidentQueries } from '../../../functions/history/queries';
import type { SlackFault, StoredMessage } from '../../support/fake-slack';
import { INCIDENT_DETAIL_TYPES } from '#shared/incident-events';
import { MINUTE, type Pipeline, T0, deliver, delivered, failed, recovered, shuffle } from './pipeline';

export const SOAK_WINDOWS = {
  quietPeriodMs: 60 * MINUTE,
  updateIntervalMs: MINUTE,
  stormHoldMs: 0,
  // No storm: each incident's first post is at the top level.
  stormThreshold: 1000,
};

const CRASH_POINTS = [
  'claimPost',
  'completePost',
  'markPost',
  'releasePost',
  'getIncident',
  'markRenderDue',
] as const;
type CrashPoint = (typeof CRASH_POINTS)[number];

export interface Crash {
  method: CrashPoint;
  /** The nth call of the method in the schedule (0-based). */
  call: number;
  /** Whether the write lands before the process dies. */
  landed: boolean;
}

export type Delivery = 'once' | 'drop' | 'twice';

export interface Schedule {
  /** Per workload, its failure events: pod and minute (from the schedule's start). */
  failures: Array<Array<{ pod: number; at: number }>>;
  /** Workloads whose pods recover (a recovery event each) before the quiet period. */
  recovers: boolean[];
  forwarderOrder: number;
  forwarderTwice: boolean;
  deliveries: Delivery[];
  notifyOrder: number;
  postFaults: SlackFault[];
  updateFaults: SlackFault[];
  crashes: Crash[];
}

const slackFault = fc.oneof(
  fc.constant<SlackFault>({ kind: 'status', status: 500 }),
  fc.constant<SlackFault>({ kind: 'status', status: 503 }),
  fc.constant<SlackFault>({ kind: 'hang' }),
  fc.constant<SlackFault>({ kind: 'hang', processed: true }),
  fc.constant<SlackFault>({ kind: 'error', error: 'internal_error' }),
  fc.constant<SlackFault>({ kind: 'error', error: 'invalid_auth' }),
  fc
    .integer({ min: 1, max: 90 })
    .map((retryAfterSeconds): SlackFault => ({ kind: 'rate-limit', retryAfterSeconds })),
);

export const scheduleArbitrary: fc.Arbitrary<Schedule> = fc.integer({ min: 1, max: 2 }).chain((workloads) =>
  fc.record({
    failures: fc.array(
      fc.array(fc.record({ pod: fc.integer({ min: 1, max: 2 }), at: fc.integer({ min: 0, max: 3 }) }), {
        minLength: 1,
        maxLength: 2,
      }),
      { minLength: workloads, maxLength: workloads },
    ),
    recovers: fc.array(fc.boolean(), { minLength: workloads, maxLength: workloads }),
    forwarderOrder: fc.integer({ min: 0, max: 1000 }),
    forwarderTwice: fc.boolean(),
    deliveries: fc.array(fc.constantFrom<Delivery>('once', 'once', 'drop', 'twice'), { maxLength: 8 }),
    notifyOrder: fc.integer({ min: 0, max: 1000 }),
    postFaults: fc.array(slackFault, { maxLength: 3 }),
    updateFaults: fc.array(slackFault, { maxLength: 2 }),
    crashes: fc.array(
      fc.record({
        method: fc.constantFrom(...CRASH_POINTS),
        call: fc.integer({ min: 0, max: 4 }),
        landed: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
  }),
);

/** Crashes notify's store and post claims at the calls a schedule names (a thrown error, as a dying process leaves). */
export class CrashingStore {
  private crashes: Crash[] = [];
  private readonly calls = new Map<CrashPoint, number>();

  plan(crashes: readonly Crash[]): void {
    this.crashes = [...crashes];
    this.calls.clear();
  }

  /** Wraps what notify calls of `target` (its post claims, or its incident reads). */
  wrap = <T extends object>(target: T): T => {
    const crashing = Object.create(target) as T;
    for (const method of CRASH_POINTS) {
      const found = (target as Record<string, unknown>)[method];
      if (typeof found !== 'function') continue;
      const original = (found as (...args: unknown[]) => Promise<unknown>).bind(target);
      Object.assign(crashing, {
        [method]: async (...args: unknown[]) => {
          const call = this.calls.get(method) ?? 0;
          this.calls.set(method, call + 1);
          const crash = this.crashes.find((planned) => planned.method === method && planned.call === call);
          if (crash === undefined) return original(...args);
          if (crash.landed) await original(...args);
          throw new Error(
            `simulated crash at ${method} #${call} (${crash.landed ? 'after' : 'before'} the write)`,
          );
        },
      });
    }
    return crashing;
  };
}

const markerOf = (message: StoredMessage) => {
  const payload = message.metadata?.event_payload;
  return payload === undefined ? undefined : `${String(payload.incident_id)}/${String(payload.post_id)}`;
};

export interface SoakRun {
  pipeline: Pipeline;
  crashing: CrashingStore;
  queries: IncidentQueries;
}

/** SQS for notify: `receives` deliveries at most, the visibility timeout between them, then the DLQ. */
const throughQueue = async (run: SoakRun, bodies: readonly unknown[], receives = 3): Promise<void> => {
  let pending = [...bodies];
  for (let receive = 1; receive <= receives && pending.length > 0; receive++) {
    if (receive > 1) run.pipeline.clock.advance(2 * MINUTE);
    pending = await deliver(run.pipeline.notify, pending);
  }
};

/** The scheduled ticks, every 2 minutes of the clock, until notify's finds nothing to do. */
const tickUntilQuiet = async (run: SoakRun, rounds = 15): Promise<void> => {
  const { pipeline } = run;
  for (let round = 1; round <= rounds; round++) {
    pipeline.clock.advance(2 * MINUTE);
    pipeline.takeNew([]);
    await pipeline.tick();
    await throughQueue(run, pipeline.takeNew(INCIDENT_DETAIL_TYPES).map(delivered));
    const { due, owed, failed } = await pipeline.notifyTick();
    // After 2 minutes every retry is due (a lease, a Retry-After, the owed grace): none left means done.
    if (due === 0 && owed === 0 && failed === 0) return;
  }
  throw new Error(`notify's tick still busy after ${rounds} rounds`);
};

/** Runs one schedule on cluster `cluster`; throws on the first broken invariant. */
export const runSchedule = async (run: SoakRun, schedule: Schedule, cluster: string): Promise<void> => {
  const { pipeline, crashing } = run;
  const { slack, clock } = pipeline;
  slack.clearFaults();
  crashing.plan(schedule.crashes);
  const base = (clock.ms - T0) / MINUTE;
  const workloads = schedule.failures.map((_, index) => `w${index}`);

  // The forwarder's events: failures, then recoveries; duplicated and reordered as asked.
  const events = schedule.failures.flatMap((failures, index) =>
    failures.map(({ pod, at }) =>
      failed({ cluster, workload: workloads[index]!, pod, at: base + at, firstSeen: base }),
    ),
  );
  const recoveriesOf = (early: boolean, at: number) =>
    schedule.failures.flatMap((failures, index) =>
      schedule.recovers[index] === early
        ? [...new Set(failures.map(({ pod }) => pod))].map((pod) =>
            recovered({ cluster, workload: workloads[index]!, pod, at, firstSeen: base }),
          )
        : [],
    );
  const recoveries = recoveriesOf(true, base + 4);
  const shipped = shuffle(
    schedule.forwarderTwice ? [...events, ...events] : events,
    schedule.forwarderOrder + 1,
  );
  const notifyEvents = await pipeline.untilNotify([...shipped, ...recoveries]);

  // Deliveries to notify: dropped, duplicated, reordered; failing ones through SQS's receives.
  slack.inject('chat.postMessage', ...schedule.postFaults);
  slack.inject('chat.update', ...schedule.updateFaults);
  const faultily = (incidentEvents: readonly unknown[]) =>
    shuffle(
      incidentEvents.flatMap((event, index) => {
        const delivery = schedule.deliveries[index] ?? 'once';
        return delivery === 'drop' ? [] : delivery === 'twice' ? [event, event] : [event];
      }),
      schedule.notifyOrder + 1,
    );
  await throughQueue(run, faultily(notifyEvents));
  await tickUntilQuiet(run);
  crashing.plan([]);
  slack.clearFaults();
  await tickUntilQuiet(run);
  await checkConverged(run, cluster, workloads, 'open');

  // The other workloads recover too; after the quiet period everything resolves, once, and Slack
  // says so.
  slack.inject('chat.postMessage', ...schedule.postFaults);
  slack.inject('chat.update', ...schedule.updateFaults);
  crashing.plan(schedule.crashes);
  const late = recoveriesOf(false, (clock.ms - T0) / MINUTE);
  if (late.length > 0) await throughQueue(run, faultily(await pipeline.untilNotify(late)));
  clock.advance(SOAK_WINDOWS.quietPeriodMs);
  await tickUntilQuiet(run);
  crashing.plan([]);
  slack.clearFaults();
  await tickUntilQuiet(run);
  await checkConverged(run, cluster, workloads, 'resolved');
};

const checkConverged = async (
  run: SoakRun,
  cluster: string,
  workloads: readonly string[],
  expected: 'open' | 'resolved',
): Promise<void> => {
  const { incidents } = await run.queries.list({ cluster, limit: 100 });
  const fail = (what: string) => {
    throw new Error(`${cluster} (${expected}): ${what}`);
  };
  // No lost incident: one per failing workload.
  const byWorkload = new Map(incidents.map((incident) => [incident.workload, incident]));
  for (const workload of workloads) {
    if (![...byWorkload.keys()].some((name) => name.endsWith(`/${workload}`)))
      fail(`${workload} has no incident`);
  }
  if (incidents.length !== workloads.length)
    fail(`${incidents.length} incidents for ${workloads.length} workloads`);

  const ids = new Set(incidents.map((incident) => incident.incidentId));
  const messages = run.pipeline.slack.messages.filter((message) =>
    ids.has(String(message.metadata?.event_payload.incident_id)),
  );
  // No duplicate post.
  const markers = messages.map(markerOf);
  const repeated = markers.filter((marker, index) => markers.indexOf(marker) !== index);
  if (repeated.length > 0) fail(`posted more than once: ${repeated.join(', ')}`);

  for (const summary of incidents) {
    const record = await run.queries.get(summary.incidentId);
    if (record === undefined) fail(`${summary.incidentId} not readable`);
    const { incident, posts } = record!;
    // No false resolve, and no resolve forgotten.
    if (incident.status !== expected) fail(`${summary.incidentId} is ${incident.status}`);
    if (incident.status === 'resolved') {
      const lastFailure = incident.tally.lastSeen ?? 0;
      if ((incident.resolvedAt ?? 0) < lastFailure + SOAK_WINDOWS.quietPeriodMs) {
        fail(`${summary.incidentId} resolved before its quiet period`);
      }
    }
    // Slack converged to the store: the first post, showing the status; one reply per resolution.
    const main = posts.main;
    if (main?.state !== 'posted') fail(`${summary.incidentId}'s first post is ${main?.state ?? 'missing'}`);
    const shown = messages.find((message) => markerOf(message) === `${summary.incidentId}/main`);
    if (shown === undefined || shown.ts !== main!.ts)
      fail(`${summary.incidentId}'s first post is not in Slack`);
    if (shown!.threadTs !== undefined) fail(`${summary.incidentId}'s first post is a reply`);
    const header = (shown!.blocks as Array<{ type: string; text?: { text: string } }>).find(
      (block) => block.type === 'header',
    )?.text?.text;
    if ((header?.startsWith('Resolved: ') ?? false) !== (expected === 'resolved')) {
      fail(`${summary.incidentId}'s message shows "${header}"`);
    }
    const replies = messages
      .filter((message) => message.metadata?.event_payload.incident_id === summary.incidentId)
      .map((message) => String(message.metadata?.event_payload.post_id))
      .filter((postId) => postId !== 'main')
      .sort();
    const owed = Array.from({ length: incident.resolutions }, (_, index) => `resolved-${index + 1}`);
    if (JSON.stringify(replies) !== JSON.stringify(owed)) {
      fail(`${summary.incidentId} has replies ${JSON.stringify(replies)}, owes ${JSON.stringify(owed)}`);
    }
  }
};

export const newSoakRun = (pipeline: Pipeline, crashing: CrashingStore): SoakRun => ({
  pipeline,
  crashing,
  queries: new IncidentQueries(pipeline.dynamo.newClient(), { tableName: pipeline.dynamo.tableName }),
});
