/**
 * `pullwatch incidents` and `pullwatch stats` as a user runs them: a clear error and a non-zero exit
 * for what they cannot do (listing the local store is asserted end to end, in test/e2e), and reading
 * a deployed stack's table: the real SDK clients against a fake CloudFormation and dynalite, found
 * through the SDK's own endpoint variables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError, openHistorySource } from '../../cli/history-source';
import { INCIDENT_TABLE_OUTPUT } from '../../infra/outputs';
import { openLocalStore } from '../../local/store';
import { run } from '../e2e/support/process';
import { type TestPipeline, seedTwoIncidents, startTestPipeline } from '../local/support/local-pipeline';
import { FakeCloudFormation } from '../support/fake-cloudformation';

jest.setTimeout(60_000);

let dir: string;
let data: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-cli-history-'));
  data = join(dir, 'data');
  await (await openLocalStore(data, 'test')).close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pullwatch incidents / stats: errors', () => {
  it('refuses unknown flags, bad durations and unknown causes with exit 2, and says why', async () => {
    const env = { PATH: process.env.PATH, HOME: dir };
    const [flag, duration, cause, missing, unknownId] = await Promise.all([
      run(['incidents', '--colour', 'red'], env),
      run(['stats', '--since', 'fortnight', '--data', data], env),
      run(['incidents', '--cause', 'tag-typo', '--data', data], env),
      run(['incidents', '--data', join(dir, 'nowhere')], env),
      run(['incidents', 'show', 'pw-0000000000aa', '--data', data], env),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: unknown option '--colour'/);
    expect(duration).toMatchObject({
      code: 2,
      stderr:
        'pullwatch: since "fortnight" is not a duration or date: expected e.g. 30m, 12h, 7d, 2w or 2026-03-01\n',
    });
    expect(cause.code).toBe(2);
    expect(cause.stderr).toMatch(
      /^pullwatch: unknown cause "tag-typo": expected one of image-not-found, .*, unknown\n$/,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^pullwatch: no local store in .*nowhere: run local mode first \(npm start\)/,
    );
    expect(unknownId).toMatchObject({ code: 1, stdout: '' });
    expect(unknownId.stderr).toMatch(/^pullwatch: no incident pw-0000000000aa in the local store /);
  });
});

describe('where history is read', () => {
  it('reads AWS only with a table and a region, and never both sources at once', async () => {
    await expect(openHistorySource({ table: 'incidents' }, {})).rejects.toThrow(
      new SourceError('--table needs --region (or AWS_REGION)'),
    );
    await expect(openHistorySource({ table: 'incidents', region: 'moon' }, {})).rejects.toThrow(
      /not a region/,
    );
    await expect(openHistorySource({ region: 'eu-west-1' }, {})).rejects.toThrow(
      '--region goes with --table NAME or --stack NAME',
    );
    await expect(openHistorySource({ table: 't', data }, {})).rejects.toThrow(/give one/);
    await expect(openHistorySource({ stack: 'pullwatch' }, {})).rejects.toThrow(
      new SourceError('--stack needs --region (or AWS_REGION)'),
    );
    await expect(openHistorySource({ stack: 'pullwatch', region: 'moon' }, {})).rejects.toThrow(
      /not a region/,
    );
    const aws = await openHistorySource({ table: 'pullwatch-incidents' }, { AWS_REGION: 'eu-west-1' });
    expect(aws.description).toBe('table pullwatch-incidents in eu-west-1');
    await aws.close();
  });
});

describe('pullwatch incidents / stats --stack: the table named by a deployed stack', () => {
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN';
  let world: TestPipeline;
  let cloudformation: FakeCloudFormation;
  let aws: NodeJS.ProcessEnv;
  let openId: string;

  beforeAll(async () => {
    world = await startTestPipeline();
    // A resolved incident in prod-eu (recovered after a minute), an open one in prod-us.
    await seedTwoIncidents(world);
    cloudformation = await new FakeCloudFormation('eu-west-1')
      .addStack({
        name: 'pullwatch-prod',
        status: 'UPDATE_COMPLETE',
        outputs: { EventBusName: 'pullwatch', [INCIDENT_TABLE_OUTPUT]: world.dynamo.tableName },
      })
      .addStack({ name: 'shop-frontend', outputs: { BucketName: 'shop-assets', DistributionId: 'E2ABC' } })
      .addStack({ name: 'pullwatch-new', status: 'CREATE_IN_PROGRESS' })
      .addStack({ name: 'pullwatch-failed', status: 'ROLLBACK_COMPLETE' })
      .addStack({ name: 'pullwatch-old', outputs: { [INCIDENT_TABLE_OUTPUT]: 'pullwatch-old-incidents' } })
      .start();
    // The SDK's own endpoint variables, and credentials from the environment (as in CI).
    aws = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: TOKEN,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudformation.origin,
      AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
    };
  });
  afterAll(async () => {
    await cloudformation?.stop();
    await world?.stop();
  });

  const callsFor = (stack: string) => cloudformation.calls.filter((call) => call.params.StackName === stack);

  it('lists the incidents of the table in the stack output IncidentTableName', async () => {
    const listed = await run(
      ['incidents', '--stack', 'pullwatch-prod', '--region', 'eu-west-1', '--since', '2026-03-01'],
      aws,
    );
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const [header, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID +STATE +CAUSE +CLUSTER\/NAMESPACE\/WORKLOAD +IMAGE +FIRST SEEN \(UTC\) +DURATION +PODS$/,
    );
    const rows = rest.slice(0, -2).map((row) => row.split(/ {2,}/));
    expect(rows.map(([id, ...cells]) => [id?.replace(/^pw-[0-9a-z]{12}$/, 'pw-…'), ...cells])).toEqual([
      [
        'pw-…',
        'open',
        'image-not-found',
        'prod-us/shop/deployment/api',
        'redis:7.2',
        '2026-03-01 10:06',
        expect.stringMatching(/^\d+ d( \d+ h)?\+$/),
        '1',
      ],
      [
        'pw-…',
        'resolved',
        'image-not-found',
        'prod-eu/shop/deployment/web',
        'nginx:1.27-alpin',
        '2026-03-01 10:00',
        '1 min',
        '1',
      ],
    ]);
    expect(rest.at(-1)).toBe(
      '2 incidents first seen since 2026-03-01 00:00 UTC · table pullwatch-incidents of stack pullwatch-prod in eu-west-1',
    );
    openId = rows[0]![0]!;
    // One signed DescribeStacks for exactly that stack, in that region.
    expect(callsFor('pullwatch-prod')).toEqual([
      {
        call: expect.any(Number),
        params: { Action: 'DescribeStacks', StackName: 'pullwatch-prod', Version: '2010-05-15' },
        signed: true,
        region: 'eu-west-1',
        service: 'cloudformation',
        status: 200,
      },
    ]);
  });

  it('answers stats and incidents show from the same table (region from AWS_DEFAULT_REGION, endpoint from AWS_ENDPOINT_URL)', async () => {
    const { AWS_ENDPOINT_URL_CLOUDFORMATION: _, ...rest } = aws;
    const env = { ...rest, AWS_ENDPOINT_URL: cloudformation.origin, AWS_DEFAULT_REGION: 'eu-west-1' };
    const before = callsFor('pullwatch-prod').length;
    const [stats, shown] = await Promise.all([
      run(['stats', '--stack', 'pullwatch-prod', '--since', '2026-03-01'], env),
      run(['incidents', '--stack', 'pullwatch-prod', 'show', openId], env),
    ]);
    expect(stats.stderr).toBe('');
    expect(stats.code).toBe(0);
    expect(stats.stdout.trimEnd().split('\n').slice(0, 10)).toEqual([
      'Incidents first seen since 2026-03-01 00:00 UTC in all clusters (table pullwatch-incidents of stack pullwatch-prod in eu-west-1)',
      '',
      'BY CAUSE         INCIDENTS  OPEN  RESOLVED  MEDIAN TIME TO RECOVER',
      'image-not-found          2     1         1                   1 min',
      '',
      'BY REGISTRY  INCIDENTS  OPEN  RESOLVED  MEDIAN TIME TO RECOVER',
      'docker.io            2     1         1                   1 min',
      'total                2     1         1                   1 min',
      '',
      'Time to recover: from the first failed pull to the last affected container recovering.',
    ]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(openId);
    expect(shown.stdout).toContain('redis:7.2');
    expect(callsFor('pullwatch-prod').length).toBe(before + 2);
  });

  it('says what is wrong with the stack, or with the options, and exits non-zero', async () => {
    const { AWS_ENDPOINT_URL_CLOUDFORMATION: _, ...withoutCloudFormation } = aws;
    const [withTable, withData, noRegion, missing, notPullwatch, creating, rolledBack, goneTable] =
      await Promise.all([
        run(['incidents', '--stack', 'pullwatch-prod', '--table', 't', '--region', 'eu-west-1'], aws),
        run(['stats', '--stack', 'pullwatch-prod', '--data', data], aws),
        // No region anywhere, and no CloudFormation endpoint either: it must not get as far as asking.
        run(['incidents', '--stack', 'pullwatch-prod'], withoutCloudFormation),
        run(['incidents', '--stack', 'pullwatch-staging', '--region', 'eu-west-1'], aws),
        run(['incidents', '--stack', 'shop-frontend', '--region', 'eu-west-1'], aws),
        run(['stats', '--stack', 'pullwatch-new', '--region', 'eu-west-1'], aws),
        run(['incidents', '--stack', 'pullwatch-failed', '--region', 'eu-west-1'], aws),
        run(['incidents', '--stack', 'pullwatch-old', '--region', 'eu-west-1'], aws),
      ]);
    /** A usage error: exit 2, nothing on stdout, this one line on stderr. */
    const refused = (stderr: string) => ({ code: 2, stdout: '', stderr: `pullwatch: ${stderr}\n` });
    expect(withTable).toEqual(
      refused("--stack finds the table in the stack's outputs; --table names it: give one"),
    );
    expect(withData).toEqual(refused('--data reads the local store; --stack reads AWS: give one'));
    expect(noRegion).toEqual(refused('--stack needs --region (or AWS_REGION)'));
    expect(missing).toEqual(
      refused(
        'no stack pullwatch-staging in eu-west-1 (CloudFormation: Stack with id pullwatch-staging does not exist): check --stack and --region',
      ),
    );
    expect(notPullwatch).toEqual(
      refused(
        'stack shop-frontend in eu-west-1 (CREATE_COMPLETE) has no output IncidentTableName; its outputs are BucketName, DistributionId: is it a pullwatch stack? (or name the table with --table)',
      ),
    );
    expect(creating).toEqual(
      refused(
        'stack pullwatch-new in eu-west-1 is CREATE_IN_PROGRESS: it has no outputs, so no IncidentTableName (wait until it is CREATE_COMPLETE)',
      ),
    );
    expect(rolledBack).toEqual(
      refused(
        'stack pullwatch-failed in eu-west-1 is ROLLBACK_COMPLETE: it has no outputs, so no IncidentTableName (see why: aws cloudformation describe-stack-events --stack-name pullwatch-failed --region eu-west-1)',
      ),
    );
    // The output names a table that is not there: reading it fails (exit 1), naming the table.
    expect(goneTable.code).toBe(1);
    expect(goneTable.stdout).toBe('');
    expect(goneTable.stderr).toMatch(
      /^pullwatch: cannot read table pullwatch-old-incidents of stack pullwatch-old in eu-west-1: ResourceNotFoundException: /,
    );
    expect(cloudformation.calls.filter((call) => !call.signed)).toEqual([]);
    expect(callsFor('pullwatch-staging')).toHaveLength(1);
  });

  it('is retried by the SDK when CloudFormation throttles', async () => {
    cloudformation.inject({ kind: 'throttle' });
    const listed = await run(
      ['incidents', '--stack', 'pullwatch-prod', '--region', 'eu-west-1', '--since', '2026-03-01'],
      aws,
    );
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/· table pullwatch-incidents of stack pullwatch-prod in eu-west-1\n$/);
    expect(cloudformation.calls.slice(-2).map((call) => [call.params.StackName, call.status])).toEqual([
      ['pullwatch-prod', 400],
      ['pullwatch-prod', 200],
    ]);
  });

  it('fails with exit 1 when CloudFormation refuses the credentials, and never prints them', async () => {
    // Like AWS, the fake quotes the canonical request, session token header included.
    cloudformation.inject({
      kind: 'error',
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should have been\n'POST\n/\n\nx-amz-security-token:${TOKEN}\n'`,
    });
    const refused = await run(['stats', '--stack', 'pullwatch-prod', '--region', 'eu-west-1'], aws);
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'pullwatch: cannot read stack pullwatch-prod in eu-west-1: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n',
    });
    expect(refused.stderr).not.toContain(TOKEN);
    expect(refused.stderr).not.toContain(SECRET);
  });
});
