/**
 * The history query API: functions/history behind a Lambda Function URL with AWS_IAM auth (a caller
 * needs lambda:InvokeFunctionUrl on it), reading the incident table only.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { type HistoryConfig, historySettings } from '../../functions/history/config';
import type { IncidentTable } from './incident-table';
import { PipelineFunction } from './pipeline-function';

export interface HistoryApiProps {
  table: IncidentTable;
  logRetentionDays: number;
  /** Incidents one stats request reads at most. */
  statsLimit?: number;
}

export class HistoryApi extends Construct {
  readonly function: PipelineFunction<HistoryConfig>;
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: HistoryApiProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'History', {
      name: 'history',
      description: 'pullwatch: incident history and stats over a Function URL (AWS_IAM)',
      settings: historySettings,
      config: { tableName: props.table.table.tableName, statsLimit: props.statsLimit ?? 10_000 },
      timeout: Duration.seconds(15),
      memorySize: 512,
      logRetentionDays: props.logRetentionDays,
    });
    props.table.grantReadIncidents(this.function.role);
    this.url = this.function.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    new CfnOutput(scope, 'HistoryUrl', {
      value: this.url.url,
      description:
        'History API (AWS_IAM: sign with SigV4, service lambda): GET /incidents, /incidents/<id>, /stats',
    });
    new CfnOutput(scope, 'HistoryFunctionArn', {
      value: this.function.function.functionArn,
      description:
        'Grant lambda:InvokeFunctionUrl and lambda:InvokeFunction on this ARN to whoever may query history',
    });
  }
}
