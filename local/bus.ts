/**
 * The in-process event bus of local mode: EventBridge rules in front of SQS queues in front of the
 * Lambda handlers, in one process.
 *
 * - A rule is a pattern object from shared/ and the matcher shared/ exports for it, so local and AWS
 *   routing cannot drift (see ./pipeline.ts for the rules).
 * - Each rule target has its own queue, worked by one consumer: records are handed to the handler in
 *   arrival order, in SQS-shaped batches (as the event source mapping does), so the handlers run
 *   unchanged.
 * - At-least-once, kept simple: a record the handler reports as failed (or every record of a batch
 *   whose handler threw) stays in its place in the queue and is handed out again after an
 *   exponential back-off (SQS's visibility timeout, shortened); records behind it are not held
 *   back meanwhile, which the handlers allow (every event is a poke: they read the incident and
 *   converge). After `maxReceiveCount` attempts it is dead-lettered (the `onDeadLetter` hook), as
 *   SQS's redrive policy would.
 * - Scheduled targets (the ticks) run on a timer and never overlap themselves.
 * - Nothing here survives the process. So whoever needs to know that an event is durable asks when
 *   a target has handled everything queued so far (`handled`): the forwarder's PutEvents, for
 *   instance, is acknowledged only once dedupe has stored what classify made of it.
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** An event as EventBridge delivers it to a rule target. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface BusEntry {
  source: string;
  detailType: string;
  detail: unknown;
  time?: Date;
}

export type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface RuleTarget {
  /** The target's name (the Lambda it stands for): `classify`, `dedupe`, `notify`… */
  name: string;
  /** Whether an event matches the rule, e.g. `(event) => matchesPattern(pullEventsPattern, event)`. */
  matches: (event: Pick<BusEvent, 'source' | 'detail-type'>) => boolean;
  handler: QueueHandler;
  /** Records per handler call (the event source mapping's batch size). */
  batchSize?: number;
}

export interface DeadLetter {
  target: string;
  event: BusEvent;
  attempts: number;
  reason: string;
}

export interface BusOptions {
  /** Attempts before a record is dead-lettered (SQS maxReceiveCount). */
  maxReceiveCount?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  onDeadLetter?: (letter: DeadLetter) => void;
  /** Called after each handler call: which target, how many records, how many failed, how long. */
  onBatch?: (target: string, records: number, failed: number, ms: number) => void;
  /** Called when a handler throws (the whole batch is retried). */
  onHandlerError?: (target: string, error: unknown) => void;
  now?: () => Date;
}

interface Message {
  /** Increasing per queue, in arrival order. */
  seq: number;
  enqueuedAt: number;
  event: BusEvent;
  record: SQSRecord;
  attempts: number;
  /** Epoch ms before which a failed record is not handed out again (its back-off). */
  notBefore: number;
  reason?: string;
}

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'local';

/** One target's queue and its single consumer. */
class LocalQueue {
  private readonly messages: Message[] = [];
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private lastSeq = 0;
  private readonly handledWaiters: Array<{ seq: number; resolve: (handled: boolean) => void }> = [];

  constructor(
    readonly target: RuleTarget,
    private readonly options: Required<Pick<BusOptions, 'maxReceiveCount' | 'retryBaseMs' | 'retryMaxMs'>> &
      BusOptions,
  ) {}

  get depth(): number {
    return this.messages.length;
  }

  get idle(): boolean {
    return this.messages.length === 0 && this.running === undefined;
  }

  /** Epoch ms at which the oldest record still queued (or being handled) arrived; undefined if none. */
  get oldestEnqueuedAt(): number | undefined {
    return this.messages[0]?.enqueuedAt;
  }

  /**
   * Resolves true once every record queued so far has left the queue (handled, or dead-lettered as
   * SQS would), false if the queue stops first.
   */
  handled(): Promise<boolean> {
    const seq = this.lastSeq;
    if (this.doneThrough(seq)) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.handledWaiters.push({ seq, resolve }));
  }

  private doneThrough(seq: number): boolean {
    const oldest = this.messages[0];
    return oldest === undefined || oldest.seq > seq;
  }

  private wakeHandled(): void {
    for (let index = this.handledWaiters.length - 1; index >= 0; index--) {
      const waiter = this.handledWaiters[index]!;
      if (!this.doneThrough(waiter.seq)) continue;
      this.handledWaiters.splice(index, 1);
      waiter.resolve(true);
    }
  }

  enqueue(event: BusEvent): void {
    if (this.stopped) return;
    const messageId = randomUUID();
    this.messages.push({
      seq: ++this.lastSeq,
      enqueuedAt: Date.now(),
      event,
      attempts: 0,
      notBefore: 0,
      record: {
        messageId,
        receiptHandle: `local-${messageId}`,
        body: JSON.stringify(event),
        attributes: {
          ApproximateReceiveCount: '0',
          SentTimestamp: String(Date.now()),
          SenderId: 'pullwatch-local',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:pullwatch-${this.target.name}`,
        awsRegion: LOCAL_REGION,
      },
    });
    this.kick();
  }

  private kick(): void {
    if (this.running !== undefined || this.stopped) return;
    // Start on the next turn of the event loop, so that a burst of puts makes one batch.
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.work())
      .finally(() => {
        this.running = undefined;
        if (this.messages.some((message) => message.notBefore <= Date.now()) && !this.stopped) this.kick();
        else if (this.idle) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** Wakes the consumer when the earliest retry is due. */
  private armRetry(): void {
    const next = Math.min(...this.messages.map((message) => message.notBefore));
    if (!Number.isFinite(next) || next >= this.retryAt || this.stopped) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryAt = next;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.retryAt = Infinity;
        this.kick();
      },
      Math.max(0, next - Date.now()),
    );
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      // The records that are due, in arrival order: a record waiting out its back-off does not hold
      // back the ones behind it (as with SQS's visibility timeout).
      const now = Date.now();
      const batch = this.messages
        .filter((message) => message.notBefore <= now)
        .slice(0, Math.max(1, this.target.batchSize ?? 10));
      if (batch.length === 0) break;
      for (const message of batch) {
        message.attempts++;
        message.record.attributes.ApproximateReceiveCount = String(message.attempts);
      }
      const started = Date.now();
      const failed = new Set<string>();
      try {
        const response = await this.target.handler({ Records: batch.map((message) => message.record) });
        for (const failure of response?.batchItemFailures ?? []) failed.add(failure.itemIdentifier);
        for (const message of batch)
          if (failed.has(message.record.messageId)) message.reason = 'reported as failed';
      } catch (error) {
        this.options.onHandlerError?.(this.target.name, error);
        for (const message of batch) {
          failed.add(message.record.messageId);
          message.reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
      this.options.onBatch?.(this.target.name, batch.length, failed.size, Date.now() - started);
      for (const message of batch) {
        const retry = failed.has(message.record.messageId);
        if (retry && message.attempts < this.options.maxReceiveCount) {
          message.notBefore =
            Date.now() +
            Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (message.attempts - 1));
          continue;
        }
        this.messages.splice(this.messages.indexOf(message), 1);
        if (retry) {
          this.options.onDeadLetter?.({
            target: this.target.name,
            event: message.event,
            attempts: message.attempts,
            reason: message.reason ?? 'failed',
          });
        }
      }
      this.wakeHandled();
    }
    this.armRetry();
  }

  /** Resolves when the queue is empty and its consumer is not working. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.running;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.wakeHandled();
    for (const waiter of this.handledWaiters.splice(0)) waiter.resolve(false);
  }
}

interface Schedule {
  name: string;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

export class LocalBus {
  private readonly queues: LocalQueue[] = [];
  private readonly schedules: Schedule[] = [];
  private readonly options: Required<Pick<BusOptions, 'maxReceiveCount' | 'retryBaseMs' | 'retryMaxMs'>> &
    BusOptions;
  private stopped = false;
  private ticking = true;
  /** Events put on the bus, and how many of them matched no rule. */
  published = 0;
  unmatched = 0;

  constructor(options: BusOptions = {}) {
    this.options = { maxReceiveCount: 5, retryBaseMs: 200, retryMaxMs: 5000, ...options };
  }

  /** Adds a rule and its target's queue. */
  rule(target: RuleTarget): void {
    this.queues.push(new LocalQueue(target, this.options));
  }

  get targets(): string[] {
    return this.queues.map((queue) => queue.target.name);
  }

  /** Records waiting in each target's queue. */
  depths(): Record<string, number> {
    return Object.fromEntries(this.queues.map((queue) => [queue.target.name, queue.depth]));
  }

  private queueOf(target: string): LocalQueue {
    const queue = this.queues.find((candidate) => candidate.target.name === target);
    if (queue === undefined) throw new Error(`no rule targets ${target}`);
    return queue;
  }

  /** Resolves true once `target` has handled every record queued for it so far (false: stopped first). */
  handled(target: string): Promise<boolean> {
    return this.queueOf(target).handled();
  }

  /** When the oldest record `target` has not handled yet arrived (epoch ms); undefined if none. */
  oldestUnhandled(target: string): number | undefined {
    return this.queueOf(target).oldestEnqueuedAt;
  }

  /** Puts events on the bus: each goes to the queue of every rule it matches. Returns their ids. */
  put(entries: readonly BusEntry[]): string[] {
    return entries.map((entry) => {
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.detailType,
        source: entry.source,
        account: LOCAL_ACCOUNT,
        time: (entry.time ?? this.options.now?.() ?? new Date()).toISOString(),
        region: LOCAL_REGION,
        resources: [],
        detail: entry.detail,
      };
      if (this.stopped) return event.id;
      this.published++;
      let matched = false;
      for (const queue of this.queues) {
        if (queue.target.matches(event)) {
          matched = true;
          queue.enqueue(event);
        }
      }
      if (!matched) this.unmatched++;
      return event.id;
    });
  }

  /** Runs `task` every `intervalMs` (the next run waits for the previous one to finish). */
  schedule(
    name: string,
    intervalMs: number,
    task: () => Promise<unknown>,
    onError?: (error: unknown) => void,
  ): void {
    const schedule: Schedule = { name, timer: undefined, running: undefined };
    const arm = () => {
      if (!this.ticking) return;
      schedule.timer = setTimeout(() => {
        schedule.timer = undefined;
        schedule.running = task()
          .then(
            () => undefined,
            (error: unknown) => onError?.(error),
          )
          .finally(() => {
            schedule.running = undefined;
            arm();
          });
      }, intervalMs);
    };
    this.schedules.push(schedule);
    arm();
  }

  /** Resolves when every queue is empty and idle at the same moment (work may cascade between them). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.queues.every((queue) => queue.idle)) {
        // One more turn of the event loop: a handler's publish may still be on its way.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.queues.every((queue) => queue.idle)) return;
      }
      await Promise.all(this.queues.map((queue) => queue.whenIdle()));
    }
  }

  /** Stops the schedules, lets the queues drain until `deadline` (epoch ms), then stops them. */
  async stop(deadline = Date.now()): Promise<{ undelivered: number; byTarget: Record<string, number> }> {
    this.ticking = false;
    for (const schedule of this.schedules) if (schedule.timer !== undefined) clearTimeout(schedule.timer);
    await Promise.all(this.schedules.map((schedule) => schedule.running));
    const remaining = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, remaining);
      }),
    ]);
    clearTimeout(timer);
    this.stopped = true;
    for (const schedule of this.schedules) if (schedule.timer !== undefined) clearTimeout(schedule.timer);
    const byTarget = this.depths();
    const undelivered = this.queues.reduce((sum, queue) => sum + queue.depth, 0);
    await Promise.all(this.queues.map((queue) => queue.stop()));
    return { undelivered, byTarget };
  }
}
