/**
 * A local EventBridge endpoint that speaks the PutEvents wire protocol (AWS JSON 1.1,
 * `X-Amz-Target: AWSEvents.PutEvents`), so the real @aws-sdk/client-eventbridge can talk to it.
 * It enforces the real limits (10 entries, < 256 KB per call), records what it accepted, and can be
 * told to throttle, fail with 5xx, or fail single entries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LocalServer, readBody, sendAwsJson } from './local-server';

export interface AcceptedEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  eventBusName: string;
  time?: number;
  id: string;
  /** The PutEvents call (1-based) that delivered it. */
  call: number;
}

export interface CallRecord {
  call: number;
  entries: number;
  /** Size by EventBridge's rule: Source + DetailType + Detail bytes, plus 14 for Time. */
  bytes: number;
  status: number;
  failedEntries: number;
  signed: boolean;
}

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'server-error'; status?: 500 | 503 }
  /** Fails the entries at these positions of the call with the error code. */
  | { kind: 'fail-entries'; positions: number[]; errorCode?: string }
  /** Fails every entry matching the predicate (any call) with the error code. */
  | { kind: 'fail-matching'; matches: (entry: WireEntry) => boolean; errorCode?: string };

export interface WireEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: number;
  Resources?: string[];
}

const MAX_ENTRIES = 10;
const CALL_LIMIT = 256 * 1024;

const entryBytes = (entry: WireEntry): number =>
  (entry.Time === undefined ? 0 : 14) +
  Buffer.byteLength(entry.Source ?? '', 'utf8') +
  Buffer.byteLength(entry.DetailType ?? '', 'utf8') +
  Buffer.byteLength(entry.Detail ?? '', 'utf8') +
  (entry.Resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource, 'utf8'), 0);

export class FakeEventBridge extends LocalServer {
  readonly events: AcceptedEvent[] = [];
  readonly calls: CallRecord[] = [];
  private readonly faults: Fault[] = [];
  private readonly standing: Array<Extract<Fault, { kind: 'fail-matching' }>> = [];
  private listeners: Array<() => void> = [];
  /** PutEvents requests received so far, counted when they arrive (before any latency). */
  received = 0;
  /** Milliseconds each call takes before answering. */
  latencyMs = 0;

  constructor() {
    super('fake EventBridge');
  }

  get endpoint(): string {
    return this.origin;
  }

  /** Faults for the next calls, one per call, in order. */
  inject(...faults: Fault[]): void {
    for (const fault of faults) {
      if (fault.kind === 'fail-matching') this.standing.push(fault);
      else this.faults.push(fault);
    }
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.standing.length = 0;
  }

  /** Accepted events of one detail-type. */
  ofType(detailType: string): AcceptedEvent[] {
    return this.events.filter((event) => event.detailType === detailType);
  }

  /** Resolves once `predicate` holds for the accepted events; rejects after `timeoutMs`. */
  async waitFor(
    predicate: (events: AcceptedEvent[]) => boolean,
    timeoutMs = 10_000,
    what = 'events',
  ): Promise<void> {
    if (predicate(this.events)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((listener) => listener !== check);
        reject(new Error(`timed out waiting for ${what}; bus has ${JSON.stringify(this.summary())}`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate(this.events)) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((listener) => listener !== check);
        resolve();
      };
      this.listeners.push(check);
    });
  }

  /** detail-type and key fields of every accepted event, for readable failures. */
  summary(): string[] {
    return this.events.map((event) => {
      const detail = event.detail as { pod?: string; container?: string; recovery?: string; reason?: string };
      return [event.detailType, detail.pod, detail.container, detail.reason, detail.recovery]
        .filter(Boolean)
        .join(' ');
    });
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    this.received++;
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const target = request.headers['x-amz-target'];
    const fail = (status: number, type: string, message: string): void =>
      sendAwsJson(response, status, { __type: type, message }, type);

    if (request.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      fail(400, 'UnknownOperationException', `unsupported operation ${String(target)}`);
      return;
    }
    const contentType = request.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/x-amz-json-1.1')) {
      fail(400, 'SerializationException', `unexpected content-type ${contentType}`);
      return;
    }
    const call = this.calls.length + 1;
    const signed = String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256');
    let body: { Entries?: WireEntry[] };
    try {
      body = JSON.parse(text) as { Entries?: WireEntry[] };
    } catch {
      fail(400, 'SerializationException', 'body is not JSON');
      return;
    }
    const entries = body.Entries ?? [];
    const bytes = entries.reduce((sum, entry) => sum + entryBytes(entry), 0);
    const record: CallRecord = {
      call,
      entries: entries.length,
      bytes,
      status: 200,
      failedEntries: 0,
      signed,
    };
    this.calls.push(record);

    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      record.status = 400;
      fail(400, 'ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} items, got ${entries.length}`);
      return;
    }
    if (bytes >= CALL_LIMIT) {
      record.status = 400;
      fail(400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
      return;
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'throttle') {
      record.status = 400;
      fail(400, 'ThrottlingException', 'Rate exceeded');
      return;
    }
    if (fault?.kind === 'server-error') {
      record.status = fault.status ?? 500;
      fail(record.status, 'InternalException', 'injected server error');
      return;
    }
    const results = entries.map((entry, position) => {
      const standing = this.standing.find((candidate) => candidate.matches(entry));
      const failPosition = fault?.kind === 'fail-entries' && fault.positions.includes(position);
      if (failPosition || standing !== undefined) {
        const errorCode = (failPosition ? fault.errorCode : standing?.errorCode) ?? 'InternalFailure';
        return { ErrorCode: errorCode, ErrorMessage: `injected ${errorCode}` };
      }
      if (!entry.Source || !entry.DetailType) {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Source and DetailType are required' };
      }
      let detail: Record<string, unknown>;
      try {
        detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      const id = randomUUID();
      this.events.push({
        source: entry.Source,
        detailType: entry.DetailType,
        detail,
        eventBusName: entry.EventBusName ?? 'default',
        ...(entry.Time === undefined ? {} : { time: entry.Time }),
        id,
        call,
      });
      return { EventId: id };
    });
    record.failedEntries = results.filter((result) => 'ErrorCode' in result).length;
    sendAwsJson(response, 200, { FailedEntryCount: record.failedEntries, Entries: results });
    for (const listener of [...this.listeners]) listener();
  }
}
