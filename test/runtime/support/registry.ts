// A real Distribution registry (Debian's docker-registry) on loopback, with its own config and storage.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitUntil, type Daemons } from './processes';

export interface Registry {
  /** host:port, as it appears in image references. */
  host: string;
  origin: string;
}

export interface RegistryOptions {
  name: string;
  folder: string;
  storage: string;
  /** An htpasswd file; when given, every request needs HTTP basic auth. */
  htpasswdPath?: string;
}

export const startRegistry = async (
  program: string,
  daemons: Daemons,
  { name, folder, storage, htpasswdPath }: RegistryOptions,
): Promise<Registry> => {
  const port = await freePort();
  const configPath = join(folder, `${name}.yml`);
  // Distribution reads YAML; JSON is YAML, so the config is written as JSON.
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    ...(htpasswdPath ? { auth: { htpasswd: { realm: 'pullwatch-tests', path: htpasswdPath } } } : {}),
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const daemon = daemons.start(name, program, ['serve', configPath]);
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil(
    `${name} (docker-registry) to answer on ${origin}/v2/`,
    async () => {
      try {
        const response = await fetch(`${origin}/v2/`);
        return response.status === 200 || response.status === 401;
      } catch {
        return false;
      }
    },
    15_000,
    daemon.exited,
  );
  return { host: `127.0.0.1:${port}`, origin };
};
