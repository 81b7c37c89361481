/**
 * CloudWatch alarms, all to one SNS topic (subscribe email, chat or paging to it):
 * - any message in a dead-letter queue;
 * - any error or throttle of a function;
 * - the functions' own metrics that mean a person is needed (Slack posts that failed, a silent
 *   cluster reported by the watchdog), from the Powertools metrics in functions/_common/observability.ts.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type PipelineFunction } from './pipeline-function';
import type { DeadLetterQueue } from './queues';

const PERIOD = Duration.minutes(5);

export interface ServiceMetricAlarm {
  /** Construct id, e.g. `SlackPostsFailed`. */
  id: string;
  /** The metric name (`METRIC.slackPostsFailed`) as the function emits it… */
  metricName: string;
  /** …with the Powertools `service` dimension of the function that emits it. */
  service: string;
  description: string;
}

export interface AlarmsProps {
  emails: readonly string[];
  functions: readonly PipelineFunction[];
  deadLetterQueues: ReadonlyArray<{ name: string; queue: DeadLetterQueue }>;
  serviceMetrics: readonly ServiceMetricAlarm[];
}

export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // Encrypted with a key CloudWatch may use: alarms cannot publish to a topic under the AWS-managed SNS key.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'pullwatch alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'pullwatch alarms',
      masterKey: key,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    const action = new actions.SnsAction(this.topic);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    for (const { name, queue } of props.deadLetterQueues) {
      alarm(
        `${name}Depth`,
        queue.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        `pullwatch: a message is waiting in the ${name} dead-letter queue (${queue.holds}). Inspect it, fix the cause, then redrive it.`,
      );
    }
    for (const fn of props.functions) {
      const fnId = fn.node.id;
      alarm(
        `${fnId}Errors`,
        fn.function.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        `pullwatch: ${fn.entryPoint} failed (see its log group ${fn.logGroup.logGroupName}).`,
      );
      alarm(
        `${fnId}Throttles`,
        fn.function.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        `pullwatch: ${fn.entryPoint} was throttled (account concurrency, or its reserved concurrency).`,
      );
    }
    for (const metric of props.serviceMetrics) {
      alarm(
        metric.id,
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: metric.metricName,
          dimensionsMap: { service: metric.service },
          period: PERIOD,
          statistic: 'Sum',
        }),
        metric.description,
      );
    }
  }
}
