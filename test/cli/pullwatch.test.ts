import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'pullwatch.js');

const run = (args: string[], input?: string, env: NodeJS.ProcessEnv = process.env) => {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    input,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

const NOT_FOUND =
  'Failed to pull image "nginx:nope": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:nope": failed to resolve reference "docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found';

describe('pullwatch explain', () => {
  it('prints the summary, evidence, cause and fix for a person', () => {
    const { status, stdout } = run(['explain', '-n', 'shop', '--pod', 'web-1', NOT_FOUND]);
    expect(status).toBe(0);
    expect(stdout).toContain('[image-not-found');
    expect(stdout).toContain('> docker.io/library/nginx:nope: not found');
    expect(stdout).toMatch(/1\. List the tags/);
    expect(stdout).toContain('$ skopeo list-tags docker://docker.io/library/nginx');
    expect(stdout).toContain('-n shop');
  });

  it('reads standard input when no message is given, and prints JSON with --json', () => {
    const { status, stdout } = run(['explain', '--json', '--reason', 'ErrImagePull'], `${NOT_FOUND}\n`);
    expect(status).toBe(0);
    const verdict = JSON.parse(stdout);
    expect(verdict).toMatchObject({ cause: 'image-not-found', image: 'nginx:nope' });
    expect(verdict.fix.steps.length).toBeGreaterThan(0);
  });

  it('refuses an empty message with a usage error', () => {
    const { status, stderr } = run(['explain'], '');
    expect(status).toBe(2);
    expect(stderr).toContain('no message');
  });

  it('rejects unknown flags with exit 2', () => {
    const { status, stderr } = run(['explain', '--colour', NOT_FOUND]);
    expect(status).toBe(2);
    expect(stderr).toContain('unknown option');
  });

  it('strips terminal control sequences from hostile text', () => {
    const { stdout } = run(['explain', `Failed to pull image "x": \u001b[2J\u001b]0;pwned\u0007 not found`]);
    expect(stdout).not.toContain('\u001b');
    expect(stdout).not.toContain('\u0007');
  });
});

describe('pullwatch classify --jsonl', () => {
  it('writes one line per input line, in order, with ids copied and errors for bad lines', () => {
    const input = [
      JSON.stringify({ id: 'a', message: NOT_FOUND }),
      '{not json',
      JSON.stringify({ id: 7, message: 'Back-off pulling image "nginx:1"', reason: 'ImagePullBackOff' }),
      JSON.stringify({ id: 'no-message' }),
      JSON.stringify({
        id: 'c',
        message: 'Container image "busybox:1" is not present with pull policy of Never',
        reason: 'ErrImageNeverPull',
      }),
    ].join('\n');
    const { status, stdout, stderr } = run(['classify', '--jsonl'], `${input}\n`);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ id: 'a', cause: 'image-not-found' });
    for (const key of ['confidence', 'summary', 'evidence', 'fix']) expect(lines[0]).toHaveProperty(key);
    expect(lines[1]).toEqual({ error: expect.stringContaining('not valid JSON') });
    expect(lines[2]).toMatchObject({ id: 7, cause: 'unknown' });
    expect(lines[3]).toMatchObject({ id: 'no-message', error: expect.stringContaining('message') });
    expect(lines[4]).toMatchObject({ id: 'c', cause: 'never-pull' });
    expect(status).toBe(1);
    expect(stderr).toContain('2 line(s)');
  });

  it('skips blank lines, copies any JSON id through as given, and takes null optional fields as absent', () => {
    const ids = ['s', 7, { run: 3, tags: ['a'] }, [1, 'two'], null, true];
    const input = [
      '',
      ...ids.map((id) => JSON.stringify({ id, message: NOT_FOUND, reason: null, image: null, pod: null })),
      '   ',
      '\r',
    ].join('\n');
    const { status, stdout, stderr } = run(['classify', '--jsonl'], `${input}\n\n`);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.id)).toEqual(ids);
    for (const line of lines) expect(line).toMatchObject({ cause: 'image-not-found', image: 'nginx:nope' });
  });

  it('answers a 5,000-deep id and an overlong line with one error line each, and classifies the lines after them', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const input = [
      `{"id": ${deep}, "message": "x"}`,
      JSON.stringify({ id: 'after-deep', message: NOT_FOUND }),
      JSON.stringify({ id: 'huge', message: 'x'.repeat(5 << 20) }),
      JSON.stringify({ id: 'after-huge', message: NOT_FOUND }),
    ].join('\n');
    const { status, stdout, stderr } = run(['classify', '--jsonl'], input);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { error: 'invalid request: id: nested deeper than 100 levels' },
      expect.objectContaining({ id: 'after-deep', cause: 'image-not-found' }),
      { error: 'line longer than 4,194,304 characters' },
      expect.objectContaining({ id: 'after-huge', cause: 'image-not-found' }),
    ]);
    expect(status).toBe(1);
    expect(stderr).toBe('2 line(s) could not be classified\n');
  });

  it('exits 0 when every line is classified', () => {
    const { status, stdout } = run(['classify', '--jsonl'], `${JSON.stringify({ message: NOT_FOUND })}\n`);
    expect(status).toBe(0);
    expect(JSON.parse(stdout).cause).toBe('image-not-found');
  });
});

describe('pullwatch forward', () => {
  it('exits 2 with one line naming a missing variable', () => {
    const { PULLWATCH_CLUSTER: _cluster, ...env } = process.env;
    const { status, stderr } = run(['forward'], undefined, env);
    expect(status).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('PULLWATCH_CLUSTER is not set')]);
  });
});
