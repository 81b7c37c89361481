/**
 * Proof of printed fix commands, shared by the command tests: shell syntax (`bash -n`), the JSON of
 * every `kubectl … -p`, and the objects that JSON patches produce.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `<name>` placeholders are the reader's to fill in; a filled-in command must then be valid shell. */
export const fillPlaceholders = (command: string): string =>
  command.replace(/<([a-z0-9-]+)>/g, (_, name: string) => `${name}-value`);

/** The commands (by index) that `bash -n` rejects; one bash process checks them all. */
export const shellSyntaxErrors = (commands: readonly string[]): Array<{ command: string; error: string }> => {
  const dir = mkdtempSync(join(tmpdir(), 'fix-commands-'));
  const check = (body: string): string | undefined => {
    const file = join(dir, 'commands.sh');
    writeFileSync(file, body);
    const result = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    return result.status === 0 ? undefined : result.stderr;
  };
  const all = commands.map((command, i) => `check_${i}() {\n${command}\n}\n`).join('');
  if (check(all) === undefined) return [];
  // Something is wrong: find which, one file each, in one shell loop.
  const files = commands.map((command, i) => {
    const file = join(dir, `command-${i}.sh`);
    writeFileSync(file, `${command}\n`);
    return file;
  });
  const result = spawnSync(
    'sh',
    ['-c', 'for f in "$@"; do bash -n "$f" 2>"$f.err" || echo "$f"; done', 'sh', ...files],
    { encoding: 'utf8' },
  );
  return result.stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((file) => ({
      command: commands[files.indexOf(file)]!,
      error: readFileSync(`${file}.err`, 'utf8'),
    }));
};

/** Reads the shell word that starts at `from` (single quotes, with the '\'' escape; or a bare word). */
const shellWordAt = (command: string, from: number): string => {
  let word = '';
  let i = from;
  while (i < command.length && command[i] !== ' ' && command[i] !== ';') {
    if (command[i] === "'") {
      const close = command.indexOf("'", i + 1);
      if (close === -1) throw new Error(`unterminated quote in ${command}`);
      word += command.slice(i + 1, close);
      i = close + 1;
    } else if (command[i] === '\\' && i + 1 < command.length) {
      word += command[i + 1];
      i += 2;
    } else {
      word += command[i];
      i++;
    }
  }
  return word;
};

export interface KubectlPatch {
  /** kubectl's patch type: strategic (the default) or json. */
  type: 'strategic' | 'json' | 'merge';
  /** What it patches, e.g. serviceaccount or deployment/api. */
  target: string;
  body: string;
}

/** Every `kubectl patch` in a command line (there may be several, e.g. in an if/else). */
export const kubectlPatches = (command: string): KubectlPatch[] => {
  const patches: KubectlPatch[] = [];
  let at = command.indexOf('kubectl patch ');
  while (at !== -1) {
    const next = command.indexOf('kubectl patch ', at + 1);
    const segment = command.slice(at, next === -1 ? command.length : next);
    const flag = segment.indexOf(' -p ');
    if (flag === -1) throw new Error(`kubectl patch without -p: ${segment}`);
    const typeFlag = /--type=(\w+)/.exec(segment);
    patches.push({
      type: (typeFlag?.[1] as KubectlPatch['type'] | undefined) ?? 'strategic',
      target: segment.slice('kubectl patch '.length).split(' ')[0]!,
      body: shellWordAt(segment, flag + 4),
    });
    at = next;
  }
  return patches;
};
