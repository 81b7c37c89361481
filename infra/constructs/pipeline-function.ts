/**
 * One Lambda function of pullwatch: `functions/<name>/handler.ts`, bundled by the local esbuild
 * (minified, `@aws-sdk/*` left to the runtime), nodejs24.x on arm64, its own role and log group,
 * Powertools settings, and the environment that `functions/<name>/config.ts`'s table writes for the
 * config the stack wants the function to run with.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Setting } from '#shared/config-table';

export const REPO_ROOT = join(__dirname, '..', '..');

/** The Lambda runtime, and the esbuild options CDK bundles with (bench/lambda.ts uses the same). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;
export const BUNDLING = {
  target: 'node24',
  format: 'cjs',
  minify: true,
  sourceMap: false,
  /** Provided by the Lambda runtime. */
  externalModules: ['@aws-sdk/*', '@smithy/*'],
} as const;

/** The CloudWatch namespace of the functions' metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'pullwatch';

export const handlerEntry = (name: string): string => join(REPO_ROOT, 'functions', name, 'handler.ts');

export interface PipelineFunctionProps<C> {
  /** The folder under functions/, e.g. `notify`. */
  name: string;
  /** The export of handler.ts (`handler`, or `tick` for the scheduled entry points). */
  handler?: string;
  description: string;
  /** `notifySettings` from functions/notify/config.ts… */
  settings: Setting<C>;
  /** …and the config the function must run with; its environment is what the settings write for it. */
  config: C;
  timeout: Duration;
  memorySize: number;
  logRetentionDays: number;
  /** Only where rate or ordering needs it (the scheduled ticks run one at a time). */
  reservedConcurrency?: number;
}

export class PipelineFunction<C = unknown> extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The function's own variables (without Powertools'), as its settings write its config. */
  readonly environment: Record<string, string>;
  /** `functions/<name>/handler.<export>`. */
  readonly entryPoint: string;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps<C>) {
    super(scope, id);
    const handler = props.handler ?? 'handler';
    this.entryPoint = `functions/${props.name}/handler.${handler}`;
    this.environment = props.settings.write(props.config);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role: writes to its own log group only (no AWSLambdaBasicExecutionRole and its `*`).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pullwatch ${this.entryPoint}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.name),
      handler,
      description: props.description,
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        target: BUNDLING.target,
        format: nodejs.OutputFormat.CJS,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        externalModules: [...BUNDLING.externalModules],
        tsconfig: join(REPO_ROOT, 'tsconfig.json'),
      },
      environment: {
        ...this.environment,
        POWERTOOLS_SERVICE_NAME: props.name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    // The role's policy is attached before the function exists, or CloudFormation may start it
    // (and its event source mapping) without its permissions.
    this.function.node.addDependency(this.role);
  }
}
