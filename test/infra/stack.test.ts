/**
 * Template assertions on the whole stack: IAM least privilege, the forwarder roles, delivery
 * guarantees (dead-letter queues, retries, redrive, partial batch failures, on-failure
 * destinations), the functions' runtime and environment, the table, the Slack token, the history
 * API and the alarms. Two configs: the shipped example, and a variant with the other options.
 */
import { workerSettings } from '../../functions/actions/config';
import { receiverSettings } from '../../functions/interactions/config';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { SOURCE } from '#shared/contract';
import { PIPELINE_SOURCE } from '#shared/incident-events';
import type { Env, Setting } from '#shared/config-table';
import { classifySettings } from '../../functions/classify/config';
import { dedupeSettings, loadDedupeConfig } from '../../functions/dedupe/config';
import { historySettings } from '../../functions/history/config';
import { loadNotifyConfig, notifySettings } from '../../functions/notify/config';
import { watchdogSettings } from '../../functions/watchdog/config';
import { METRIC } from '../../functions/_common/observability';
import { INCIDENT_TABLE, incidentTableDefinition } from '../../functions/_common/incident-table';
import type { PipelineFunction } from '../../infra/constructs/pipeline-function';
import {
  ROOT,
  type Resource,
  type Statement,
  type Synthesized,
  asList,
  exampleWith,
  referencedId,
  resourcesOf,
  statementsOfRole,
  synthesize,
} from './support/synth';

const ACCOUNT = '222222222222';
const CENTRAL_BUS = 'arn:aws:events:eu-west-1:999999999999:event-bus/pullwatch-central';
const OIDC_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF`;

let example: Synthesized;
let variant: Synthesized;
beforeAll(() => {
  example = synthesize('example');
  variant = synthesize(
    exampleWith((raw) => {
      raw.account = ACCOUNT;
      raw.region = 'eu-west-1';
      raw.clusters = [
        {
          name: 'prod-us',
          auth: { type: 'pod-identity', eksClusterName: 'eks-prod-us', createAssociation: true },
        },
        { name: 'legacy_1', auth: { type: 'irsa', oidcProviderArn: OIDC_ARN } },
      ];
      raw.slack = {
        defaultChannel: 'C0123ABCD',
        token: { source: 'existing', secretName: 'team/slack-bot' },
      };
      raw.windows = { updateInterval: '10m', quietPeriod: '7m', reopenWindow: '1h', stormWindow: '3m' };
      raw.stormThreshold = 8;
      raw.historyRetention = '30d';
      raw.logRetention = '90d';
      raw.alarmEmails = [];
      raw.centralBusArn = CENTRAL_BUS;
    }),
  );
});

const idOf = (synthesized: Synthesized, construct: { node: { defaultChild?: unknown } }): string =>
  synthesized.stack.getLogicalId(construct.node.defaultChild as never);

const functionsOf = (synthesized: Synthesized): PipelineFunction[] => synthesized.stack.functions;

/** The functions EventBridge Scheduler runs (invoked asynchronously). */
const scheduledIds = (synthesized: Synthesized): string[] =>
  resourcesOf(synthesized.template, 'AWS::Scheduler::Schedule')
    .map(([, schedule]) => referencedId((schedule.Properties!.Target as { Arn: unknown }).Arn)!)
    .sort();

const resourceOf = (synthesized: Synthesized, logicalId: string): Resource =>
  synthesized.template.toJSON().Resources[logicalId] as Resource;

const allStatements = (synthesized: Synthesized): Array<{ where: string; statement: Statement }> => {
  const found: Array<{ where: string; statement: Statement }> = [];
  for (const [id, resource] of Object.entries(
    synthesized.template.toJSON().Resources as Record<string, Resource>,
  )) {
    const documents: unknown[] = [];
    const properties = resource.Properties ?? {};
    for (const field of ['PolicyDocument', 'KeyPolicy', 'AssumeRolePolicyDocument']) {
      if (properties[field] !== undefined) documents.push(properties[field]);
    }
    for (const inline of asList(properties.Policies as Array<{ PolicyDocument: unknown }>)) {
      documents.push(inline.PolicyDocument);
    }
    for (const document of documents) {
      for (const statement of asList((document as { Statement: Statement | Statement[] }).Statement)) {
        found.push({ where: `${id} (${resource.Type})`, statement });
      }
    }
  }
  return found;
};

// ---------------------------------------------------------------------------------------------
// IAM

describe('IAM', () => {
  test.each(['example', 'variant'])(
    '%s: no statement grants `*` actions; `*` resources only in the alarm key’s own policy',
    (name) => {
      const synthesized = name === 'example' ? example : variant;
      const statements = allStatements(synthesized);
      expect(statements.length).toBeGreaterThan(20);
      for (const { where, statement } of statements) {
        expect({ where, notAction: statement.NotAction, notResource: statement.NotResource }).toEqual({
          where,
        });
        // A Deny may be broad (the queues' "TLS only" guard denies `sqs:*`); an Allow may not, except
        // the key policy's standard statement that lets the account's own IAM policies manage the key.
        const accountAdministersKey =
          where.includes('AWS::KMS::Key') && JSON.stringify(statement.Principal).includes(':root');
        if (statement.Effect === 'Allow' && !accountAdministersKey) {
          for (const action of asList(statement.Action)) {
            expect({ where, action }).toEqual({ where, action: expect.not.stringMatching(/^\*$|:\*$/) });
          }
        }
        const wildcard = asList(statement.Resource).some((resource) => resource === '*');
        // In a key policy `*` means "this key": there is nothing narrower to write.
        if (wildcard) expect(where).toMatch(/AWS::KMS::Key/);
      }
    },
  );

  test('no role uses managed policies (each function writes only to its own log group)', () => {
    for (const [, role] of resourcesOf(example.template, 'AWS::IAM::Role')) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    }
    for (const fn of functionsOf(example)) {
      const logs = statementsOfRole(example.template, idOf(example, fn.role)).filter((statement) =>
        asList(statement.Action).some((action) => action.startsWith('logs:')),
      );
      expect(logs).toEqual([
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [idOf(example, fn.logGroup), 'Arn'] },
        }),
      ]);
    }
  });

  test('functions publish only pipeline events, only to this bus', () => {
    const busId = idOf(example, example.stack.bus.bus);
    for (const fn of [...example.stack.pipeline.functions, ...example.stack.watchdog.functions]) {
      const puts = statementsOfRole(example.template, idOf(example, fn.role)).filter((statement) =>
        asList(statement.Action).includes('events:PutEvents'),
      );
      expect(puts).toEqual([
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: { 'Fn::GetAtt': [busId, 'Arn'] },
          Condition: { StringEquals: { 'events:source': PIPELINE_SOURCE } },
        },
      ]);
    }
  });

  test('the history function can only read the table', () => {
    const actions = statementsOfRole(example.template, idOf(example, example.stack.history.function.role))
      .flatMap((statement) => asList(statement.Action))
      .filter((action) => action.startsWith('dynamodb:'))
      .sort();
    expect(actions).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
  });
});

// ---------------------------------------------------------------------------------------------
// Forwarder roles

describe('forwarder roles', () => {
  const busArn = (synthesized: Synthesized) => ({
    'Fn::GetAtt': [idOf(synthesized, synthesized.stack.bus.bus), 'Arn'],
  });

  test.each(['example', 'variant'])(
    '%s: each can do nothing but PutEvents with source pullwatch on this bus',
    (name) => {
      const synthesized = name === 'example' ? example : variant;
      const roles = synthesized.stack.forwarders.roles;
      expect([...roles.keys()]).toEqual(synthesized.config.clusters.map((cluster) => cluster.name));
      for (const role of roles.values()) {
        const roleId = idOf(synthesized, role);
        expect(resourceOf(synthesized, roleId).Properties!.Policies).toBeUndefined();
        expect(statementsOfRole(synthesized.template, roleId)).toEqual([
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: busArn(synthesized),
            Condition: { StringEquals: { 'events:source': SOURCE } },
          },
        ]);
      }
    },
  );

  test('EKS Pod Identity trust: pods.eks.amazonaws.com for exactly this cluster’s forwarder service account', () => {
    const role = variant.stack.forwarders.roles.get('prod-us')!;
    expect(resourceOf(variant, idOf(variant, role)).Properties!.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:SourceAccount': ACCOUNT,
              'aws:RequestTag/eks-cluster-name': 'eks-prod-us',
              'aws:RequestTag/kubernetes-namespace': 'pullwatch',
              'aws:RequestTag/kubernetes-service-account': 'pullwatch-forwarder',
            },
          },
        },
      ],
    });
    variant.template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      ClusterName: 'eks-prod-us',
      Namespace: 'pullwatch',
      ServiceAccount: 'pullwatch-forwarder',
      RoleArn: { 'Fn::GetAtt': [idOf(variant, role), 'Arn'] },
    });
    // Opt-in only: the example does not create associations.
    example.template.resourceCountIs('AWS::EKS::PodIdentityAssociation', 0);
  });

  test('IRSA trust: the cluster’s OIDC provider, sub = the forwarder service account, aud = sts', () => {
    const role = variant.stack.forwarders.roles.get('legacy_1')!;
    const issuer = 'oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF';
    expect(resourceOf(variant, idOf(variant, role)).Properties!.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: OIDC_ARN },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${issuer}:sub`]: 'system:serviceaccount:pullwatch:pullwatch-forwarder',
              [`${issuer}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    });
  });

  test('each role’s ARN is a stack output, named after its cluster', () => {
    const outputs = variant.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ForwarderRoleArnProdUs!.Value).toEqual({
      'Fn::GetAtt': [idOf(variant, variant.stack.forwarders.roles.get('prod-us')!), 'Arn'],
    });
    expect(outputs.ForwarderRoleArnLegacy1!.Value).toEqual({
      'Fn::GetAtt': [idOf(variant, variant.stack.forwarders.roles.get('legacy_1')!), 'Arn'],
    });
    expect(
      Object.keys(example.template.toJSON().Outputs).filter((name) => name.startsWith('ForwarderRoleArn')),
    ).toEqual(['ForwarderRoleArnProdEu', 'ForwarderRoleArnStagingEu']);
  });
});

// ---------------------------------------------------------------------------------------------
// Delivery: dead-letter queues, retries, redrive

interface RuleTarget {
  Arn: unknown;
  DeadLetterConfig?: { Arn: unknown };
  RetryPolicy?: unknown;
}

describe('delivery', () => {
  test.each(['example', 'variant'])(
    '%s: every rule target has a dead-letter queue, and a retry policy with a maximum event age',
    (name) => {
      const synthesized = name === 'example' ? example : variant;
      const undelivered = idOf(synthesized, synthesized.stack.bus.undelivered.queue);
      const rules = resourcesOf(synthesized.template, 'AWS::Events::Rule');
      expect(rules.length).toBeGreaterThanOrEqual(4);
      for (const [ruleId, rule] of rules) {
        for (const target of rule.Properties!.Targets as RuleTarget[]) {
          expect({ ruleId, dlq: referencedId(target.DeadLetterConfig?.Arn) }).toEqual({
            ruleId,
            dlq: undelivered,
          });
          if (target.Arn === CENTRAL_BUS) {
            // EventBridge accepts no RetryPolicy for an event bus target (it retries for 24 h itself).
            expect(target.RetryPolicy).toBeUndefined();
            continue;
          }
          expect({ ruleId, retry: target.RetryPolicy }).toEqual({
            ruleId,
            retry: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
          });
        }
      }
    },
  );

  test('every schedule target has a dead-letter queue and a retry policy', () => {
    const schedules = resourcesOf(example.template, 'AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(3);
    for (const [, schedule] of schedules) {
      expect(schedule.Properties).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        Target: {
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [idOf(example, example.stack.bus.undelivered.queue), 'Arn'] },
          },
          RetryPolicy: {
            MaximumRetryAttempts: expect.any(Number),
            MaximumEventAgeInSeconds: expect.any(Number),
          },
        },
      });
    }
  });

  test('every asynchronously invoked function (the scheduled ticks) has an on-failure destination', () => {
    const scheduled = scheduledIds(example);
    const byEntry = (entry: string) =>
      idOf(example, functionsOf(example).find((fn) => fn.entryPoint === entry)!.function);
    expect(scheduled).toEqual(
      [
        byEntry('functions/dedupe/handler.tick'),
        byEntry('functions/notify/handler.tick'),
        byEntry('functions/watchdog/handler.handler'),
      ].sort(),
    );
    const configs = resourcesOf(example.template, 'AWS::Lambda::EventInvokeConfig');
    expect(configs).toHaveLength(scheduled.length);
    const failedTicks = idOf(example, example.stack.pipeline.failedTicks.queue);
    for (const functionId of scheduled) {
      const config = configs.find(([, c]) => referencedId(c.Properties!.FunctionName) === functionId);
      expect(config?.[1].Properties).toMatchObject({
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failedTicks, 'Arn'] } } },
        MaximumRetryAttempts: expect.any(Number),
        MaximumEventAgeInSeconds: expect.any(Number),
      });
    }
  });

  test('each schedule’s role may invoke its own function only', () => {
    for (const [, schedule] of resourcesOf(example.template, 'AWS::Scheduler::Schedule')) {
      const target = schedule.Properties!.Target as { Arn: unknown; RoleArn: unknown };
      const invokes = statementsOfRole(example.template, referencedId(target.RoleArn)!).filter((statement) =>
        asList(statement.Action).includes('lambda:InvokeFunction'),
      );
      expect(invokes).toEqual([expect.objectContaining({ Resource: target.Arn })]);
    }
  });

  test('every queue is encrypted and TLS-only, and is either redriven to its own dead-letter queue or is one', () => {
    const queues = resourcesOf(example.template, 'AWS::SQS::Queue');
    const deadLetterTargets = new Set<string>();
    for (const [id, queue] of queues) {
      expect({ id, sse: queue.Properties!.SqsManagedSseEnabled }).toEqual({ id, sse: true });
      const redrive = queue.Properties!.RedrivePolicy as
        { deadLetterTargetArn: unknown; maxReceiveCount: number } | undefined;
      if (redrive === undefined) continue;
      expect(redrive.maxReceiveCount).toBe(5);
      const target = referencedId(redrive.deadLetterTargetArn)!;
      expect(deadLetterTargets.has(target)).toBe(false);
      deadLetterTargets.add(target);
    }
    expect(deadLetterTargets.size).toBe(5);
    const tlsOnly = resourcesOf(example.template, 'AWS::SQS::QueuePolicy').flatMap(([, policy]) =>
      asList((policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter(
          (statement) =>
            statement.Effect === 'Deny' &&
            JSON.stringify(statement.Condition).includes('aws:SecureTransport'),
        )
        .flatMap((statement) => asList(statement.Resource).map(referencedId)),
    );
    expect(new Set(tlsOnly)).toEqual(new Set(queues.map(([id]) => id)));
  });

  test('queue consumers report batch item failures; visibility timeout is 6 × the function timeout', () => {
    const mappings = resourcesOf(example.template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(5);
    for (const [, mapping] of mappings) {
      expect(mapping.Properties!.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      const fn = resourceOf(example, referencedId(mapping.Properties!.FunctionName)!);
      const queue = resourceOf(example, referencedId(mapping.Properties!.EventSourceArn)!);
      expect(queue.Properties!.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * (fn.Properties!.Timeout as number),
      );
      expect(queue.Properties!.RedrivePolicy).toBeDefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Functions

describe('functions', () => {
  const SETTINGS: Record<string, Setting<unknown>> = {
    classify: classifySettings,
    dedupe: dedupeSettings,
    notify: notifySettings,
    watchdog: watchdogSettings,
    history: historySettings,
    interactions: receiverSettings,
    actions: workerSettings,
  };
  const POWERTOOLS = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];

  test('every function: nodejs24.x on arm64, its own log group with the configured retention, the Powertools settings', () => {
    for (const synthesized of [example, variant]) {
      for (const fn of functionsOf(synthesized)) {
        const properties = resourceOf(synthesized, idOf(synthesized, fn.function)).Properties!;
        expect(properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          LoggingConfig: { LogGroup: { Ref: idOf(synthesized, fn.logGroup) } },
          Environment: {
            Variables: expect.objectContaining({
              POWERTOOLS_METRICS_NAMESPACE: 'pullwatch',
              POWERTOOLS_LOG_LEVEL: 'INFO',
            }),
          },
        });
        expect(resourceOf(synthesized, idOf(synthesized, fn.logGroup)).Properties!.RetentionInDays).toBe(
          synthesized.config.logRetention,
        );
      }
    }
  });

  test('every functions/<name>/handler.ts is deployed', () => {
    const withHandler = readdirSync(join(ROOT, 'functions'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, 'functions', entry.name, 'handler.ts')))
      .map((entry) => entry.name)
      .sort();
    const deployed = [...new Set(functionsOf(example).map((fn) => fn.entryPoint.split('/')[1]!))].sort();
    expect(deployed).toEqual(withHandler);
  });

  test('the environment names are exactly what each function’s config table reads, plus Powertools', () => {
    const deployed = functionsOf(example).map((fn) => fn.entryPoint.split('/')[1]!);
    expect([...new Set(deployed)].sort()).toEqual(Object.keys(SETTINGS).sort());
    for (const fn of functionsOf(example)) {
      const name = fn.entryPoint.split('/')[1]!;
      const variables = resourceOf(example, idOf(example, fn.function)).Properties!.Environment as {
        Variables: Record<string, unknown>;
      };
      expect({ function: fn.entryPoint, names: Object.keys(variables.Variables).sort() }).toEqual({
        function: fn.entryPoint,
        names: [...SETTINGS[name]!.names, ...POWERTOOLS].sort(),
      });
    }
  });

  test('the config’s windows reach the functions: the loaders read back exactly the configured values', () => {
    const env = (fn: PipelineFunction): Env =>
      Object.fromEntries(
        Object.entries(
          (
            resourceOf(variant, idOf(variant, fn.function)).Properties!.Environment as {
              Variables: Record<string, unknown>;
            }
          ).Variables,
        ).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : `resolved-${name.toLowerCase()}`,
        ]),
      );
    const [, dedupe, , notify] = variant.stack.pipeline.functions;
    const dedupeConfig = loadDedupeConfig(env(dedupe!));
    expect(dedupeConfig.windows.quietPeriodMs).toBe(7 * 60_000);
    expect(dedupeConfig.windows.reopenWindowMs).toBe(60 * 60_000);
    expect(dedupeConfig.retentionDays).toBe(30);
    const notifyConfig = loadNotifyConfig(env(notify!));
    expect(notifyConfig.windows.updateIntervalMs).toBe(10 * 60_000);
    expect(notifyConfig.windows.stormThreshold).toBe(8);
    expect(notifyConfig.windows.stormWindowMs).toBe(3 * 60_000);
    expect(notifyConfig.routing.defaultChannel).toBe('C0123ABCD');
    expect(notifyConfig.slackTokenSecretId).toBe('team/slack-bot');
    // A claim on a Slack post outlives the invocation holding it.
    expect(notifyConfig.leaseMs).toBeGreaterThan(
      1000 * (resourceOf(variant, idOf(variant, notify!.function)).Properties!.Timeout as number),
    );
  });

  test('reserved concurrency: the scheduled ticks run one at a time; nothing else reserves', () => {
    const scheduled = scheduledIds(example);
    for (const fn of functionsOf(example)) {
      const fnId = idOf(example, fn.function);
      const reserved = resourceOf(example, fnId).Properties!.ReservedConcurrentExecutions;
      expect({ fn: fn.entryPoint, reserved }).toEqual({
        fn: fn.entryPoint,
        reserved: scheduled.includes(fnId) ? 1 : undefined,
      });
    }
    example.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Table

test('the incident table has the definition’s keys and indexes, on-demand, PITR, encryption and TTL', () => {
  const tables = resourcesOf(example.template, 'AWS::DynamoDB::Table');
  expect(tables).toHaveLength(1);
  const [, table] = tables[0]!;
  const definition = incidentTableDefinition('unused');
  const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[] | undefined) =>
    [...(items ?? [])].sort((a, b) =>
      String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)),
    );
  const properties = table.Properties!;
  expect(properties.KeySchema).toEqual(definition.KeySchema);
  expect(byName(properties.AttributeDefinitions as never)).toEqual(byName(definition.AttributeDefinitions));
  expect(byName(properties.GlobalSecondaryIndexes as never)).toEqual(
    byName(definition.GlobalSecondaryIndexes),
  );
  expect(properties).toMatchObject({
    BillingMode: 'PAY_PER_REQUEST',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
    TimeToLiveSpecification: { AttributeName: INCIDENT_TABLE.ttlAttribute, Enabled: true },
    DeletionProtectionEnabled: true,
  });
  expect(table.DeletionPolicy).toBe('Retain');
  expect((properties.GlobalSecondaryIndexes as unknown[]).length).toBe(5);
});

// ---------------------------------------------------------------------------------------------
// Slack token

describe('the Slack token', () => {
  /** The functions that post to Slack. */
  const notifyOf = (synthesized: Synthesized) =>
    synthesized.stack.functions.filter((fn) => /^functions\/(notify|watchdog)\//.test(fn.entryPoint));

  test('created empty: no value in the template, only the secret’s ARN in notify’s environment', () => {
    const secrets = resourcesOf(example.template, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    expect(secret.Properties!.SecretString).toBeUndefined();
    expect(secret.Properties!.GenerateSecretString).toBeUndefined();
    for (const fn of notifyOf(example)) {
      const variables = (
        resourceOf(example, idOf(example, fn.function)).Properties!.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(Object.values(variables).filter((value) => JSON.stringify(value).includes(secretId))).toEqual([
        { Ref: secretId },
      ]);
      expect(statementsOfRole(example.template, idOf(example, fn.role))).toContainEqual({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: secretId },
      });
    }
    expect(JSON.stringify(example.template.toJSON())).not.toMatch(/xox[abpe]-\d/);
  });

  test('referenced by name: no secret created, notify gets the name and may read exactly that secret', () => {
    variant.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const fn of notifyOf(variant)) {
      const reads = statementsOfRole(variant.template, idOf(variant, fn.role)).filter((statement) =>
        asList(statement.Action).includes('secretsmanager:GetSecretValue'),
      );
      expect(reads).toHaveLength(1);
      expect(JSON.stringify(reads[0]!.Resource)).toMatch(/:secret:team\/slack-bot-\?\?\?\?\?\?"/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// History API, outputs, alarms

test('the history API is a Function URL with AWS_IAM auth, and its URL is an output', () => {
  const historyId = idOf(example, example.stack.history.function.function);
  example.template.hasResourceProperties('AWS::Lambda::Url', {
    AuthType: 'AWS_IAM',
    TargetFunctionArn: { 'Fn::GetAtt': [historyId, 'Arn'] },
  });
  example.template.hasOutput('HistoryUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionUrl'] } });
});

test('outputs: the bus the forwarders use, the table, the token secret, the alarm topic', () => {
  const outputs = Object.keys(example.template.toJSON().Outputs);
  expect(outputs).toEqual(
    expect.arrayContaining([
      'EventBusName',
      'EventBusArn',
      'IncidentTableName',
      'SlackTokenSecret',
      'AlarmTopicArn',
      'HistoryUrl',
    ]),
  );
  example.template.hasResourceProperties('AWS::Events::EventBus', { Name: example.config.busName });
});

describe('alarms', () => {
  const alarmsOf = (synthesized: Synthesized) =>
    resourcesOf(synthesized.template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);
  const topicId = () => idOf(example, example.stack.alarms.topic);

  test('every alarm notifies the encrypted topic, which the configured addresses are subscribed to', () => {
    for (const alarm of alarmsOf(example)) expect(alarm.AlarmActions).toEqual([{ Ref: topicId() }]);
    example.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    example.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'platform-oncall@example.com',
      TopicArn: { Ref: topicId() },
    });
    variant.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('every dead-letter queue has a depth alarm', () => {
    const watched = new Set(
      alarmsOf(example)
        .filter((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible')
        .map((alarm) => referencedId((alarm.Dimensions as Array<{ Value: unknown }>)[0]!.Value)),
    );
    const deadLetterQueues = resourcesOf(example.template, 'AWS::SQS::Queue')
      .filter(([, queue]) => queue.Properties!.RedrivePolicy === undefined)
      .map(([id]) => id);
    expect(deadLetterQueues).toHaveLength(8);
    expect(watched).toEqual(new Set(deadLetterQueues));
  });

  test('every function has an errors and a throttles alarm', () => {
    for (const fn of functionsOf(example)) {
      const fnId = idOf(example, fn.function);
      for (const metric of ['Errors', 'Throttles']) {
        expect(
          alarmsOf(example).filter(
            (alarm) =>
              alarm.Namespace === 'AWS/Lambda' &&
              alarm.MetricName === metric &&
              referencedId((alarm.Dimensions as Array<{ Value: unknown }>)[0]!.Value) === fnId,
          ),
        ).toHaveLength(1);
      }
    }
  });

  test.each([
    ['notify', METRIC.slackPostsFailed],
    ['notify', METRIC.slackAuthRefused],
    ['watchdog', METRIC.slackPostsFailed],
    ['watchdog', METRIC.silentForwarders],
  ])('%s’s %s: the metric as the function emits it (namespace, service dimension)', (service, metricName) => {
    expect(alarmsOf(example)).toContainEqual(
      expect.objectContaining({
        Namespace: 'pullwatch',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: service }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
  });
});
