/** Docker and containers credential files, and a `docker-credential-<name>` helper, in a folder of a test's own. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const basicAuth = (user: string, secret: string): string =>
  Buffer.from(`${user}:${secret}`).toString('base64');

/** Writes `docker-credential-<name>` into `bin`: answers `get` for `server` only, as real helpers do. */
export const writeCredentialHelper = async (
  bin: string,
  name: string,
  server: string,
  user: string,
  secret: string,
): Promise<void> => {
  await mkdir(bin, { recursive: true });
  const path = join(bin, `docker-credential-${name}`);
  await writeFile(
    path,
    [
      '#!/bin/sh',
      '[ "$1" = get ] || exit 2',
      'read -r server',
      `if [ "$server" = '${server}' ]; then`,
      `  printf '%s' '${JSON.stringify({ ServerURL: server, Username: user, Secret: secret })}'`,
      'else',
      "  echo 'credentials not found in native keychain'; exit 1",
      'fi',
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);
};

export const writeJson = async (path: string, value: unknown): Promise<void> => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(value));
};
