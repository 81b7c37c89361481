/**
 * A function run every minute by EventBridge Scheduler: the schedule (retries, dead-letter queue),
 * a role that may invoke exactly that function (CDK's default also allows `<arn>:*`), and, since the
 * invocation is asynchronous, the function's retries and on-failure destination.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { PipelineFunction } from './pipeline-function';
import type { DeadLetterQueue } from './queues';

export interface MinuteScheduleProps {
  fn: PipelineFunction;
  /** Where the schedule puts an invocation it could not make. */
  undelivered: DeadLetterQueue;
  /** Where Lambda puts an invocation that failed after its retries. */
  failedInvocations: DeadLetterQueue;
}

export class MinuteSchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MinuteScheduleProps) {
    super(scope, id);
    const { fn } = props;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: `pullwatch: EventBridge Scheduler running ${fn.entryPoint}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.function.functionArn] }),
    );
    props.undelivered.queue.grantSendMessages(this.role);

    // A failed tick is retried once; the next tick comes a minute later anyway.
    fn.function.configureAsyncInvoke({
      retryAttempts: 1,
      maxEventAge: Duration.minutes(5),
      onFailure: new destinations.SqsDestination(props.failedInvocations.queue),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `pullwatch: runs ${fn.entryPoint} every minute`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new schedulerTargets.LambdaInvoke(fn.function, {
        role: this.role.withoutPolicyUpdates(),
        deadLetterQueue: props.undelivered.queue,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(5),
      }),
    });
  }
}
