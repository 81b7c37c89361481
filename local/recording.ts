/**
 * Recordings: a cluster's pod and event changes over time, as JSON lines, for `--replay`.
 *
 *   {"recording": 1, "cluster": "demo", "startedAt": "2026-03-01T10:00:00Z", "description": "…"}
 *   {"at": "0s", "type": "ADDED", "object": {"apiVersion": "apps/v1", "kind": "ReplicaSet", …}}
 *   {"at": "4s", "type": "MODIFIED", "object": {"apiVersion": "v1", "kind": "Pod", …}}
 *   {"at": "4s", "type": "ADDED", "object": {"apiVersion": "v1", "kind": "Event", …}}
 *
 * The first line is the header. Every other line is one watch event (`ADDED`, `MODIFIED` or
 * `DELETED`) of a Pod, an Event, a ReplicaSet or a Job, `at` a time after `startedAt` (a duration
 * like `90s` or milliseconds, at most 30 days). Timestamps inside the objects are real times on the
 * recording's clock; a replay moves them to its own (see `shiftTimes`). A line longer than 4 Mi
 * characters or nested deeper than 100 levels is refused (shared/json-limits.ts), so that a bad file
 * is one line before local mode starts, not a stack overflow while it plays. Pure.
 */
import { DurationError, MAX_SETTING_MS, boundedMilliseconds, parseDuration } from '#shared/duration';
import { MAX_JSON_DEPTH, MAX_JSON_LINE_CHARS, nestedDeeperThan, tooLong } from '#shared/json-limits';

export const RECORDING_VERSION = 1;
export const RECORDED_KINDS = ['Pod', 'Event', 'ReplicaSet', 'Job'] as const;
export type RecordedKind = (typeof RECORDED_KINDS)[number];
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface RecordedObject {
  apiVersion?: string;
  kind: RecordedKind;
  metadata: { name: string; namespace?: string; uid?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface RecordedChange {
  /** Milliseconds after the recording started. */
  at: number;
  type: ChangeType;
  object: RecordedObject;
}

export interface Recording {
  cluster?: string;
  /** Epoch ms of the recording's start. */
  startedAt: number;
  description?: string;
  changes: RecordedChange[];
}

export class RecordingError extends Error {
  override readonly name = 'RecordingError';
}

const fail = (file: string, line: number, problem: string): never => {
  throw new RecordingError(`${file}:${line}: ${problem}`);
};

const isObject = (value: unknown): value is Record<string, unknown> & object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const parseRecording = (text: string, file = 'recording'): Recording => {
  const lines = text.split('\n');
  let header: Record<string, unknown> | undefined;
  const changes: RecordedChange[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.length > MAX_JSON_LINE_CHARS) fail(file, index + 1, tooLong(MAX_JSON_LINE_CHARS));
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      fail(file, index + 1, `not JSON (${(error as Error).message})`);
    }
    if (!isObject(parsed)) {
      fail(file, index + 1, 'expected a JSON object');
    }
    if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) {
      fail(file, index + 1, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const entry = parsed as Record<string, unknown>;
    if (header === undefined) {
      if (entry.recording !== RECORDING_VERSION) {
        fail(
          file,
          index + 1,
          `the first line must be the header {"recording": ${RECORDING_VERSION}, "startedAt": …}`,
        );
      }
      header = entry;
      return;
    }
    if (typeof entry.at !== 'number' && typeof entry.at !== 'string') {
      return fail(file, index + 1, '"at" must be a duration after the start (e.g. "12s") or milliseconds');
    }
    let at: number;
    try {
      at =
        typeof entry.at === 'number'
          ? boundedMilliseconds(entry.at, 'a duration')
          : parseDuration(entry.at, undefined, MAX_SETTING_MS);
    } catch (error) {
      if (error instanceof DurationError) return fail(file, index + 1, `"at": ${error.message}`);
      throw error;
    }
    if (entry.type !== 'ADDED' && entry.type !== 'MODIFIED' && entry.type !== 'DELETED') {
      fail(file, index + 1, '"type" must be ADDED, MODIFIED or DELETED');
    }
    const object = entry.object as RecordedObject | null | undefined;
    if (
      !isObject(object) ||
      !(RECORDED_KINDS as readonly string[]).includes(String(object.kind)) ||
      !isObject(object.metadata) ||
      typeof object.metadata.name !== 'string' ||
      !['string', 'undefined'].includes(typeof object.metadata.namespace)
    ) {
      fail(file, index + 1, `"object" must be a ${RECORDED_KINDS.join(' | ')} with metadata.name`);
    }
    const previous = changes[changes.length - 1];
    if (previous !== undefined && at < previous.at) fail(file, index + 1, '"at" goes back in time');
    changes.push({ at, type: entry.type as ChangeType, object: object! });
  });
  if (header === undefined) throw new RecordingError(`${file}: empty recording`);
  const startedAt = typeof header.startedAt === 'string' ? Date.parse(header.startedAt) : NaN;
  if (Number.isNaN(startedAt)) throw new RecordingError(`${file}:1: "startedAt" must be an ISO time`);
  return {
    ...(typeof header.cluster === 'string' && header.cluster !== '' ? { cluster: header.cluster } : {}),
    startedAt,
    ...(typeof header.description === 'string' ? { description: header.description } : {}),
    changes,
  };
};

export const serializeRecording = (recording: Recording): string =>
  [
    JSON.stringify({
      recording: RECORDING_VERSION,
      ...(recording.cluster === undefined ? {} : { cluster: recording.cluster }),
      startedAt: new Date(recording.startedAt).toISOString(),
      ...(recording.description === undefined ? {} : { description: recording.description }),
    }),
    ...recording.changes.map((change) =>
      JSON.stringify({ at: `${change.at / 1000}s`, type: change.type, object: change.object }),
    ),
    '',
  ].join('\n');

/** Fields that hold times in the objects we record. */
const TIME_FIELDS = new Set([
  'creationTimestamp',
  'deletionTimestamp',
  'firstTimestamp',
  'lastTimestamp',
  'eventTime',
  'lastObservedTime',
  'startedAt',
  'finishedAt',
]);

/** A copy of `value` whose time fields went through `shift` (epoch ms → epoch ms). */
export const shiftTimes = <T>(value: T, shift: (ms: number) => number): T => {
  const visit = (node: unknown, key?: string): unknown => {
    if (typeof node === 'string' && key !== undefined && TIME_FIELDS.has(key)) {
      const ms = Date.parse(node);
      return Number.isNaN(ms) ? node : new Date(shift(ms)).toISOString();
    }
    if (Array.isArray(node)) return node.map((item) => visit(item));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([field, item]) => [field, visit(item, field)]));
    }
    return node;
  };
  return visit(value) as T;
};

/**
 * Several recordings as one, each starting `offsetMs` into it: their changes merged in time order,
 * and the times inside each one's objects moved onto the merged clock. The first one's header (cluster,
 * start) is the merged one's.
 */
export const interleave = (
  parts: ReadonlyArray<{ recording: Recording; offsetMs: number }>,
  description?: string,
): Recording => {
  const first = parts[0];
  if (first === undefined) throw new RangeError('nothing to interleave');
  const startedAt = first.recording.startedAt;
  const changes = parts.flatMap(({ recording, offsetMs }) =>
    recording.changes.map((change) => ({
      at: change.at + offsetMs,
      type: change.type,
      object: shiftTimes(change.object, (ms) => ms - recording.startedAt + startedAt + offsetMs),
    })),
  );
  // A stable sort: changes at the same time keep their recording's order.
  changes.sort((a, b) => a.at - b.at);
  return {
    ...(first.recording.cluster === undefined ? {} : { cluster: first.recording.cluster }),
    startedAt,
    ...(description === undefined ? {} : { description }),
    changes,
  };
};
