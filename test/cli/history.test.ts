/**
 * `pullwatch incidents` and `pullwatch stats` as a user runs them: a clear error and a non-zero exit
 * for what they cannot do (listing output is asserted end to end, in test/e2e).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError, openHistorySource } from '../../cli/history-source';
import { openLocalStore } from '../../local/store';
import { run } from '../e2e/support/process';

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
      '--region goes with --table NAME',
    );
    await expect(openHistorySource({ table: 't', data }, {})).rejects.toThrow(/give one/);
    const aws = await openHistorySource({ table: 'pullwatch-incidents' }, { AWS_REGION: 'eu-west-1' });
    expect(aws.description).toBe('table pullwatch-incidents in eu-west-1');
    await aws.close();
  });
});
