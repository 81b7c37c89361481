/**
 * SQS queues as pullwatch uses them: encrypted (SSE-SQS), TLS only, and either a work queue with its
 * own dead-letter queue and redrive, or a dead-letter queue that holds what failed for two weeks.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledgements';

/** How long a dead-lettered message is kept: the SQS maximum, time enough to look and redrive. */
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** Receives before a message moves to the dead-letter queue (functions/README.md: about 5). */
export const MAX_RECEIVE_COUNT = 5;

const secure = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;

export interface DeadLetterQueueProps {
  /** What lands here, for the acknowledgement and the queue's description in alarms. */
  holds: string;
  /**
   * Set when nothing redrives into this queue (an EventBridge target's or a Lambda destination's
   * dead-letter queue): cdk-nag cannot see that it is one, so its SQS3 finding is acknowledged.
   */
  notARedriveTarget?: boolean;
}

/** A queue that keeps what could not be delivered or processed, for a person to inspect and redrive. */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly holds: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.holds = props.holds;
    this.queue = new sqs.Queue(this, 'Queue', { ...secure, retentionPeriod: DEAD_LETTER_RETENTION });
    if (props.notARedriveTarget) {
      acknowledge(
        this.queue,
        'AwsSolutions-SQS3',
        `This queue is itself a dead-letter queue: it holds ${props.holds}.`,
      );
    }
  }
}

export interface WorkQueueProps {
  /** At least the consuming function's timeout × 6 (AWS's advice for Lambda event sources). */
  visibilityTimeout: Duration;
  /** What the dead-letter queue holds, e.g. "classify-queue messages that failed 5 times". */
  holds: string;
}

/** A queue between the bus and a function, with its own dead-letter queue and redrive policy. */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { holds: props.holds });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...secure,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetters.queue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}
