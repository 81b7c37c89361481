/**
 * The registry check's deployment: the `registryCheck` section is validated at synth, the functions
 * that run the check (classify, and the actions worker's re-check) get it in their environment, and
 * only they may read ECR: the three read actions, on exactly the configured repositories, nothing
 * when the check is off or lists none.
 */
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { InfraConfigError, parseInfraConfig } from '../../infra/config';
import { ECR_CHECK_ACTIONS } from '../../infra/constructs/pipeline';
import { classifySettings } from '../../functions/classify/config';
import { workerSettings } from '../../functions/actions/config';
import {
  type Resource,
  asList,
  exampleWith,
  resourcesOf,
  statementsOfRole,
  synthesize,
} from './support/synth';

const minimal = (registryCheck: unknown) => ({
  clusters: [{ name: 'prod-eu', auth: { type: 'pod-identity' } }],
  slack: { defaultChannel: '#alerts', token: { source: 'create' } },
  registryCheck,
});

const problems = (registryCheck: unknown): string[] => {
  try {
    parseInfraConfig(minimal(registryCheck), 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(InfraConfigError);
    return (error as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error('the config was accepted');
};

describe('the registryCheck section', () => {
  test('off by default, with the defaults filled in', () => {
    expect(parseInfraConfig(minimal(undefined)).registryCheck).toEqual({
      enabled: false,
      allowedRegistries: ['*'],
      deniedRegistries: [],
      ecrRepositories: [],
      privateRegistries: [],
      plainHttpRegistries: [],
      timeoutSeconds: 5,
      cacheMinutes: 5,
    });
  });

  test('every mistake is named by its field', () => {
    expect(
      problems({
        enabled: true,
        allowedRegistries: ['ghcr.io', 'bad host/'],
        ecrRepositories: ['platform/agent', 'arn:aws:ecr:eu-west-1:123456789012:repository/team/*'],
        timeoutSeconds: 30,
        cacheMinutes: 1.5,
        retries: 3,
      }),
    ).toEqual([
      'registryCheck.allowedRegistries.1: must be a registry host (host or host:port; * and ? are globs)',
      'registryCheck.ecrRepositories.0: must be an ECR repository ARN: arn:aws:ecr:<region>:<account>:repository/<name> (a trailing * is a prefix)',
      'registryCheck.timeoutSeconds: must be at most 5 (seconds)',
      'registryCheck.cacheMinutes: must be a whole number',
      'registryCheck.retries: unknown field (check its spelling)',
    ]);
    expect(problems({ ecrRepositories: ['arn:aws:ecr:eu-west-1:123456789012:repository/team/app'] })).toEqual(
      [
        'registryCheck.ecrRepositories: grants ECR reads only for the check: set registryCheck.enabled to true, or remove them',
      ],
    );
  });
});

const ecrStatements = (template: ReturnType<typeof synthesize>['template']) =>
  resourcesOf(template, 'AWS::IAM::Role').flatMap(([roleId]) =>
    statementsOfRole(template, roleId)
      .filter((statement) => asList(statement.Action).some((action) => String(action).startsWith('ecr:')))
      .map((statement) => ({ roleId, statement })),
  );

const functionOf = (template: ReturnType<typeof synthesize>['template'], description: string): Resource => {
  const found = resourcesOf(template, 'AWS::Lambda::Function').find(([, fn]) =>
    String(fn.Properties?.Description ?? '').includes(description),
  );
  if (!found) throw new Error(`no function "${description}"`);
  return found[1];
};
const classifyOf = (template: ReturnType<typeof synthesize>['template']) =>
  functionOf(template, 'diagnoses image-pull failures');
const roleOf = (fn: Resource) => (fn.Properties!.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
const environmentOf = (fn: Resource) =>
  (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;

describe('least privilege', () => {
  const repositories = [
    'arn:aws:ecr:eu-west-1:111111111111:repository/platform/*',
    'arn:aws:ecr:us-east-1:222222222222:repository/shared/base',
  ];
  test("only the functions that run the check (classify, the actions worker's re-check) may read ECR: the three read actions on exactly the configured repositories", () => {
    const { template } = synthesize(
      exampleWith((raw) => {
        raw.registryCheck = { enabled: true, ecrRepositories: repositories, timeoutSeconds: 3 };
      }),
    );
    const statements = ecrStatements(template);
    const classify = classifyOf(template);
    const worker = functionOf(template, 'applies Slack actions');
    expect(statements.map((found) => found.roleId).sort()).toEqual([roleOf(classify), roleOf(worker)].sort());
    for (const { statement } of statements) {
      const { Action, ...rest } = statement;
      expect(asList(Action).sort()).toEqual([...ECR_CHECK_ACTIONS].sort());
      expect(rest).toEqual({ Effect: 'Allow', Resource: repositories });
    }
    // The section reaches both as its table writes it, and reads back to the validated config.
    for (const fn of [classify, worker]) {
      const environment = environmentOf(fn);
      expect(JSON.parse(String(environment.PULLWATCH_REGISTRY_CHECK))).toEqual(
        registryCheckConfigSchema.parse({ enabled: true, ecrRepositories: repositories, timeoutSeconds: 3 }),
      );
      expect(environment.PULLWATCH_REGISTRY_CHECK_FROM).toBeDefined();
    }
    expect(classifySettings.names).toContain('PULLWATCH_REGISTRY_CHECK');
    expect(workerSettings.names).toContain('PULLWATCH_REGISTRY_CHECK');
  });

  test('without interactivity only classify reads ECR', () => {
    const { template } = synthesize(
      exampleWith((raw) => {
        raw.registryCheck = { enabled: true, ecrRepositories: repositories };
        delete (raw.slack as Record<string, unknown>).interactivity;
      }),
    );
    expect(ecrStatements(template).map((found) => found.roleId)).toEqual([roleOf(classifyOf(template))]);
  });

  test('no ECR permission at all when the check is off or lists no repository', () => {
    for (const registryCheck of [{ enabled: false }, { enabled: true }]) {
      const { template } = synthesize(exampleWith((raw) => void (raw.registryCheck = registryCheck)));
      expect(ecrStatements(template)).toEqual([]);
    }
  });
});
