/**
 * The custom EventBridge bus the forwarders and the pipeline share, its archive, and the rules.
 *
 * Every rule is built from a pattern object in shared/ (`failedPattern`, `pullEventsPattern`,
 * `classifiedPattern`…: the same objects local mode and the tests use), and every target gets a
 * retry policy, a maximum event age and a dead-letter queue for events it could not take.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type PullwatchPattern, SOURCE, pullEventsPattern } from '#shared/contract';
import type { PipelinePattern } from '#shared/incident-events';
import { DeadLetterQueue } from './queues';

/** How a rule target retries before its event goes to the dead-letter queue. */
export const TARGET_RETRY = { retryAttempts: 20, maxEventAge: Duration.hours(6) } as const;

export type BusPattern = PullwatchPattern | PipelinePattern;

/** A shared/ pattern in the shape CDK's rules take. */
export const eventPatternOf = (pattern: BusPattern): events.EventPattern => ({
  source: [...pattern.source],
  detailType: [...pattern.detailType],
});

export interface PullwatchBusProps {
  busName: string;
  /** Days the forwarder's failures and recoveries are archived, to replay them after an outage. */
  archiveRetentionDays: number;
}

export class PullwatchBus extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  /** Events a rule target (or a schedule) could not deliver after its retries. */
  readonly undelivered: DeadLetterQueue;
  private readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: PullwatchBusProps) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.busName,
      description: `pullwatch: image-pull failures from the forwarders (source ${SOURCE}) and the pipeline's events`,
    });
    // Only what the forwarders send: replaying it re-runs the pipeline, which is idempotent.
    this.archive = this.bus.archive('Archive', {
      description: 'Forwarder failures and recoveries, to replay after an outage',
      eventPattern: eventPatternOf(pullEventsPattern),
      retention: Duration.days(props.archiveRetentionDays),
    });
    this.undelivered = new DeadLetterQueue(this, 'Undelivered', {
      holds: 'events a rule or a schedule could not deliver to its target after its retries',
      notARedriveTarget: true,
    });
  }

  /** A rule sending the events `pattern` matches to a queue. */
  routeToQueue(id: string, pattern: BusPattern, queue: sqs.IQueue, description: string): events.Rule {
    const rule = new events.Rule(this, id, {
      eventBus: this.bus,
      eventPattern: eventPatternOf(pattern),
      description,
    });
    rule.addTarget(new targets.SqsQueue(queue, { deadLetterQueue: this.undelivered.queue, ...TARGET_RETRY }));
    this.rules.push(rule);
    return rule;
  }

  /**
   * A rule forwarding the events `pattern` matches to another account's bus. EventBridge takes no
   * retry policy for a bus target (it retries for 24 hours itself), so it has the dead-letter queue only.
   */
  forwardToBus(id: string, pattern: BusPattern, busArn: string, description: string): events.Rule {
    const rule = new events.Rule(this, id, {
      eventBus: this.bus,
      eventPattern: eventPatternOf(pattern),
      description,
    });
    rule.addTarget(
      new targets.EventBus(events.EventBus.fromEventBusArn(this, `${id}Target`, busArn), {
        deadLetterQueue: this.undelivered.queue,
      }),
    );
    this.rules.push(rule);
    return rule;
  }
}
