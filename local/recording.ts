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
 * like `90s` or milliseconds). Timestamps inside the objects are real times on the recording's clock;
 * a replay moves them to its own (see `shiftTimes`). Pure.
 */
import { DurationError, parseDuration } from '#shared/duration';

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

export const parseRecording = (text: string, file = 'recording'): Recording => {
  const lines = text.split('\n');
  let header: Record<string, unknown> | undefined;
  const changes: RecordedChange[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      fail(file, index + 1, `not JSON (${(error as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      fail(file, index + 1, 'expected a JSON object');
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
    let at: number;
    if (typeof entry.at === 'number' && Number.isFinite(entry.at) && entry.at >= 0) at = entry.at;
    else if (typeof entry.at === 'string') {
      try {
        at = parseDuration(entry.at);
      } catch (error) {
        if (error instanceof DurationError) return fail(file, index + 1, `"at": ${error.message}`);
        throw error;
      }
    } else
      return fail(file, index + 1, '"at" must be a duration after the start (e.g. "12s") or milliseconds');
    if (entry.type !== 'ADDED' && entry.type !== 'MODIFIED' && entry.type !== 'DELETED') {
      fail(file, index + 1, '"type" must be ADDED, MODIFIED or DELETED');
    }
    const object = entry.object as RecordedObject | undefined;
    if (
      object === undefined ||
      typeof object !== 'object' ||
      !(RECORDED_KINDS as readonly string[]).includes(String(object.kind)) ||
      typeof object.metadata?.name !== 'string'
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
