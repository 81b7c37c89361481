/**
 * Shipping to EventBridge: a bounded queue that coalesces by container when full, batches of at
 * most 10 entries and under 256 KB, retries of whole calls and of single entries with exponential
 * back-off and jitter, and a flush with a deadline for SIGTERM.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DETAIL_TYPE, MESSAGE_LIMIT_BYTES, SOURCE } from '#shared/contract';
import { PUT_EVENTS_MAX_ENTRIES, fitsInCall, putEventsEntrySize } from '#shared/put-events';
import { backoffDelay } from './delays';
import { type Logger, describeError, silentLogger } from './log';
import type { OutgoingEvent } from './outgoing-events';

export interface PutEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time: Date;
}

export interface PutResult {
  FailedEntryCount?: number;
  Entries?: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

/** The one thing the shipper needs from EventBridge. */
export interface PutEventsSender {
  putEvents(entries: PutEntry[], signal?: AbortSignal): Promise<PutResult>;
}

/** The real publisher. Whole-call throttling, 5xx and network errors are retried by the SDK itself. */
export const eventBridgePublisher = (client: EventBridgeClient): PutEventsSender => ({
  putEvents: (entries, signal) =>
    client.send(
      new PutEventsCommand({ Entries: entries }),
      signal === undefined ? {} : { abortSignal: signal },
    ),
});

const ELLIPSIS = '…';

/** Cuts a string to at most `limit` UTF-8 bytes (ellipsis included) without splitting a character. */
export const truncateUtf8 = (text: string, limit: number): string => {
  if (Buffer.byteLength(text, 'utf8') <= limit) return text;
  const budget = limit - Buffer.byteLength(ELLIPSIS, 'utf8');
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}${ELLIPSIS}`;
};

/** The event with its message cut to MESSAGE_LIMIT_BYTES (and marked so), ready for PutEvents. */
export const toEntry = (event: OutgoingEvent, busName: string): PutEntry => {
  let detail: OutgoingEvent['detail'] = event.detail;
  if (event.detailType !== DETAIL_TYPE.heartbeat && 'message' in detail) {
    const message = truncateUtf8(detail.message, MESSAGE_LIMIT_BYTES);
    if (message !== detail.message) detail = { ...detail, message, messageTruncated: true };
  }
  return {
    Source: SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(detail),
    EventBusName: busName,
    Time: new Date(detail.observedAt),
  };
};

const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);
const PERMANENT_ENTRY_ERRORS = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);

// ---------------------------------------------------------------------------------------------

interface Pending {
  event: OutgoingEvent;
  entry: PutEntry;
  size: number;
  attempts: number;
  /** Epoch ms before which a retry must not be sent. */
  notBefore: number;
  enqueuedAt: number;
  /** Sent alone after a whole-call ValidationException, to find the entry at fault. */
  alone: boolean;
}

interface Slot {
  pending: Pending | undefined;
}

/**
 * A FIFO of events, bounded. When full, an event for a container that already has one queued
 * replaces it in place (the latest state wins) and is counted; otherwise the producer waits for room.
 */
export class CoalescingQueue {
  private slots: Slot[] = [];
  private head = 0;
  private live = 0;
  private readonly latestByKey = new Map<string, Slot>();
  coalesced = 0;

  constructor(readonly capacity: number) {
    if (capacity < PUT_EVENTS_MAX_ENTRIES)
      throw new Error(`queue capacity must be at least ${PUT_EVENTS_MAX_ENTRIES}`);
  }

  get size(): number {
    return this.live;
  }

  get full(): boolean {
    return this.live >= this.capacity;
  }

  /** 'queued', 'coalesced' (replaced an older state of the same container), or 'full'. */
  offer(pending: Pending): 'queued' | 'coalesced' | 'full' {
    if (this.full) {
      const slot = this.latestByKey.get(pending.event.key);
      if (slot?.pending === undefined) return 'full';
      pending.enqueuedAt = slot.pending.enqueuedAt;
      slot.pending = pending;
      this.coalesced++;
      return 'coalesced';
    }
    const slot: Slot = { pending };
    this.slots.push(slot);
    this.latestByKey.set(pending.event.key, slot);
    this.live++;
    return 'queued';
  }

  /** Enqueued time of the oldest event, if any. */
  oldest(): number | undefined {
    this.skipTaken();
    return this.slots[this.head]?.pending?.enqueuedAt;
  }

  /**
   * Takes, in order, the events whose keys are not `busy` that fit in one PutEvents call with
   * `batch`. An event sent alone (see Pending.alone) is only taken into an empty batch.
   */
  take(busy: ReadonlySet<string>, batch: Pending[] = []): Pending[] {
    let used = batch.reduce((sum, item) => sum + item.size, 0);
    const keys = new Set(batch.map((item) => item.event.key));
    for (let i = this.head; i < this.slots.length && batch.length < PUT_EVENTS_MAX_ENTRIES; i++) {
      const slot = this.slots[i];
      const pending = slot?.pending;
      if (slot === undefined || pending === undefined) continue;
      const key = pending.event.key;
      if (busy.has(key) || keys.has(key)) continue;
      if (!fitsInCall(batch.length, used, pending.size)) continue;
      if (batch.length > 0 && (pending.alone || batch[0]?.alone === true)) continue;
      slot.pending = undefined;
      if (this.latestByKey.get(key) === slot) this.latestByKey.delete(key);
      this.live--;
      keys.add(key);
      used += pending.size;
      batch.push(pending);
    }
    this.skipTaken();
    return batch;
  }

  private skipTaken(): void {
    while (this.head < this.slots.length && this.slots[this.head]?.pending === undefined) this.head++;
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head).filter((slot) => slot.pending !== undefined);
      this.head = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------

export interface ShipperOptions {
  publisher: PutEventsSender;
  busName: string;
  log?: Logger;
  /** Events the queue holds before it coalesces and applies back-pressure. */
  capacity?: number;
  /** PutEvents calls in flight at once. */
  concurrency?: number;
  /** How long a partial batch waits for more events (not while flushing). */
  lingerMs?: number;
  /** Back-off of our own retries (per-entry failures, and whole calls after the SDK gave up). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Attempts for entries failing with an error code EventBridge does not document. */
  unknownErrorAttempts?: number;
  random?: () => number;
  now?: () => number;
  /** Hooks for metrics and the checkpoint. */
  onCall?: (entries: number) => void;
  onDelivered?: (events: OutgoingEvent[]) => void;
  onRetry?: (scope: 'call' | 'entry', events: number) => void;
  onFailedEntry?: (errorCode: string, permanent: boolean) => void;
  onCoalesced?: (events: number) => void;
  onRejected?: (event: OutgoingEvent, errorCode: string, errorMessage: string) => void;
}

export interface FlushResult {
  /** Events not acknowledged by EventBridge when the deadline came. */
  unsent: number;
}

/** Ships OutgoingEvents to a PutEventsSender; see the module comment. */
export class Shipper {
  private readonly queue: CoalescingQueue;
  private readonly retrying: Pending[] = [];
  private heartbeat: Pending | undefined;
  private readonly inFlightKeys = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private readonly waiters: Array<{ pending: Pending; admit: () => void }> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private flushing = false;
  private stopped = false;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly lingerMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly unknownErrorAttempts: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: ShipperOptions) {
    this.queue = new CoalescingQueue(options.capacity ?? 10_000);
    this.log = options.log ?? silentLogger;
    this.concurrency = options.concurrency ?? 4;
    this.lingerMs = options.lingerMs ?? 200;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.unknownErrorAttempts = options.unknownErrorAttempts ?? 8;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Events waiting or in flight. */
  get depth(): number {
    return (
      this.queue.size +
      this.retrying.length +
      this.waiters.length +
      (this.heartbeat ? 1 : 0) +
      this.inFlightKeys.size
    );
  }

  get coalesced(): number {
    return this.queue.coalesced;
  }

  private pendingOf(event: OutgoingEvent): Pending {
    const entry = toEntry(event, this.options.busName);
    const now = this.now();
    return {
      event,
      entry,
      size: putEventsEntrySize(entry),
      attempts: 0,
      notBefore: now,
      enqueuedAt: now,
      alone: false,
    };
  }

  /**
   * Queues an event. Resolves at once when there is room or when it replaced an older state of the
   * same container; otherwise when room frees up (back-pressure on the producer).
   */
  enqueue(event: OutgoingEvent): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the shipper is stopped'));
    const pending = this.pendingOf(event);
    if (!fitsInCall(0, 0, pending.size)) {
      this.reject(pending, 'EntryTooLarge', `${pending.size} bytes after truncating the message`);
      return Promise.resolve();
    }
    if (this.waiters.length === 0) {
      const outcome = this.queue.offer(pending);
      if (outcome === 'coalesced') this.options.onCoalesced?.(1);
      if (outcome !== 'full') {
        this.pump();
        return Promise.resolve();
      }
    }
    return new Promise((admit) => {
      this.waiters.push({ pending, admit });
      this.pump();
    });
  }

  /** Heartbeats take a slot of their own: only the newest unsent one is kept. */
  offerHeartbeat(event: OutgoingEvent): void {
    if (this.stopped) return;
    if (this.heartbeat !== undefined) {
      this.queue.coalesced++;
      this.options.onCoalesced?.(1);
    }
    this.heartbeat = this.pendingOf(event);
    this.pump();
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0) {
      const waiter = this.waiters[0];
      if (waiter === undefined) break;
      const outcome = this.queue.offer(waiter.pending);
      if (outcome === 'full') break;
      if (outcome === 'coalesced') this.options.onCoalesced?.(1);
      this.waiters.shift();
      waiter.admit();
    }
  }

  /** Forms batches and sends them while there is capacity; schedules itself for lingering/retries. */
  private pump(): void {
    if (this.stopped) return;
    // One reading of the clock for the whole pass, so the wake-up is planned for exactly what was
    // found not yet due. Read twice, the linger deadline could pass in between (a timer fires a
    // millisecond early by Date.now): the batch would be neither sent nor woken up for, and would
    // wait for the next event (forever, on a quiet cluster).
    const now = this.now();
    this.admitWaiters();
    while (this.inFlight.size < this.concurrency) {
      const batch = this.nextBatch(now);
      if (batch.length === 0) break;
      this.send(batch);
      this.admitWaiters();
    }
    this.schedule(now);
    if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private nextBatch(now: number): Pending[] {
    const batch: Pending[] = [];
    const busy = new Set(this.inFlightKeys);
    // Retries that are due go first, then the heartbeat, then the queue in order.
    for (let i = 0; i < this.retrying.length && batch.length < PUT_EVENTS_MAX_ENTRIES;) {
      const item = this.retrying[i];
      if (item !== undefined && item.notBefore <= now && !busy.has(item.event.key)) {
        const bytes = batch.reduce((sum, b) => sum + b.size, 0);
        const alone = item.alone || batch[0]?.alone === true;
        if (fitsInCall(batch.length, bytes, item.size) && (batch.length === 0 || !alone)) {
          batch.push(item);
          busy.add(item.event.key);
          this.retrying.splice(i, 1);
          continue;
        }
      }
      if (item !== undefined) busy.add(item.event.key); // keeps later states of that container behind it
      i++;
    }
    const heartbeat = this.heartbeat;
    if (heartbeat !== undefined && !busy.has(heartbeat.event.key) && batch[0]?.alone !== true) {
      const bytes = batch.reduce((sum, b) => sum + b.size, 0);
      if (fitsInCall(batch.length, bytes, heartbeat.size)) {
        batch.push(heartbeat);
        this.heartbeat = undefined;
      }
    }
    const ready =
      this.flushing ||
      batch.length > 0 ||
      this.queue.size >= PUT_EVENTS_MAX_ENTRIES ||
      this.waiters.length > 0 ||
      now - (this.queue.oldest() ?? now) >= this.lingerMs;
    if (ready) this.queue.take(busy, batch);
    return batch;
  }

  /**
   * Wakes the pump when a partial batch has lingered long enough or a retry is due. Events held
   * back only because their container has an entry in flight wait for that call to finish instead.
   * `now` is the pass's reading of the clock (see pump).
   */
  private schedule(now: number): void {
    let at = Infinity;
    const oldest = this.queue.oldest();
    if (oldest !== undefined && !this.flushing && oldest + this.lingerMs > now) at = oldest + this.lingerMs;
    for (const item of this.retrying) at = Math.min(at, Math.max(item.notBefore, now));
    if (at === Infinity || this.inFlight.size >= this.concurrency) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
  }

  private send(batch: Pending[]): void {
    for (const item of batch) this.inFlightKeys.add(item.event.key);
    const controller = new AbortController();
    this.controllers.add(controller);
    const call = this.call(batch, controller.signal).finally(() => {
      this.controllers.delete(controller);
      for (const item of batch) this.inFlightKeys.delete(item.event.key);
      this.inFlight.delete(call);
      this.pump();
    });
    this.inFlight.add(call);
  }

  private retryLater(items: Pending[], scope: 'call' | 'entry'): void {
    // One delay for the group, so entries that failed together are retried together (full batches).
    const attempts = Math.max(...items.map((item) => item.attempts));
    const notBefore = this.now() + backoffDelay(attempts, this.retryBaseMs, this.retryMaxMs, this.random);
    for (const item of items) {
      item.notBefore = notBefore;
      item.attempts++;
    }
    this.retrying.push(...items);
    this.retrying.sort((a, b) => a.enqueuedAt - b.enqueuedAt);
    this.options.onRetry?.(scope, items.length);
  }

  private async call(batch: Pending[], signal: AbortSignal): Promise<void> {
    this.options.onCall?.(batch.length);
    let result: PutResult;
    try {
      result = await this.options.publisher.putEvents(
        batch.map((item) => item.entry),
        signal,
      );
    } catch (error) {
      if (signal.aborted) {
        this.retrying.push(...batch);
        return;
      }
      const name = (error as { name?: string }).name;
      if (name === 'ValidationException' && batch.length === 1 && batch[0]?.alone === true) {
        this.reject(batch[0], name, (error as Error).message);
        return;
      }
      if (name === 'ValidationException') for (const item of batch) item.alone = true;
      this.log.warn('PutEvents failed; retrying with back-off', {
        entries: batch.length,
        ...describeError(error),
      });
      this.retryLater(batch, 'call');
      return;
    }
    const results = result.Entries ?? [];
    const delivered: OutgoingEvent[] = [];
    const again: Pending[] = [];
    batch.forEach((item, index) => {
      const outcome = results[index];
      if (outcome === undefined && (result.FailedEntryCount ?? 0) > 0) {
        again.push(item);
        return;
      }
      const code = outcome?.ErrorCode;
      if (code === undefined || code === '') {
        delivered.push(item.event);
        return;
      }
      const permanent =
        PERMANENT_ENTRY_ERRORS.has(code) ||
        (!RETRYABLE_ENTRY_ERRORS.has(code) && item.attempts + 1 >= this.unknownErrorAttempts);
      this.options.onFailedEntry?.(code, permanent);
      if (permanent) this.reject(item, code, outcome?.ErrorMessage ?? '');
      else again.push(item);
    });
    if (delivered.length > 0) this.options.onDelivered?.(delivered);
    if (again.length > 0) {
      this.log.warn('PutEvents entries failed; retrying with back-off', {
        failed: again.length,
        errorCodes: [...new Set(again.map((item) => results[batch.indexOf(item)]?.ErrorCode ?? 'missing'))],
      });
      this.retryLater(again, 'entry');
    }
  }

  private reject(item: Pending, code: string, message: string): void {
    this.log.error('EventBridge rejected an event; it will not be retried', {
      key: item.event.key,
      detailType: item.event.detailType,
      errorCode: code,
      errorMessage: message,
    });
    this.options.onRejected?.(item.event, code, message);
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Sends everything now (no lingering; retries still back off) until done or `deadline` (epoch ms).
   * Calls still in flight at the deadline are aborted. Returns what could not be shipped.
   */
  async flush(deadline: number): Promise<FlushResult> {
    this.flushing = true;
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - this.now()));
    });
    const outcome = await Promise.race([this.idle().then(() => 'idle' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      for (const controller of this.controllers) controller.abort();
      await Promise.allSettled([...this.inFlight]);
    }
    const unsent = this.depth;
    this.stop();
    return { unsent };
  }

  /** Stops sending; queued events are abandoned (use flush first). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const controller of this.controllers) controller.abort();
    for (const waiter of this.waiters.splice(0)) waiter.admit();
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
