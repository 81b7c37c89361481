// A real Distribution registry (Debian's docker-registry) on loopback, with its own config and storage.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
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
  /** Docker token auth: every request needs a bearer token from `realm`, signed by the bundle's key. */
  token?: { realm: string; service: string; issuer: string; rootCertBundlePath: string };
  /** Serve HTTPS with this certificate; `authority` is the CA that signed it (for the readiness probe). */
  tls?: { certPath: string; keyPath: string; authority: Buffer };
}

export const startRegistry = async (
  program: string,
  daemons: Daemons,
  { name, folder, storage, htpasswdPath, token, tls }: RegistryOptions,
): Promise<Registry> => {
  const port = await freePort();
  const configPath = join(folder, `${name}.yml`);
  // Distribution reads YAML; JSON is YAML, so the config is written as JSON.
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: randomBytes(16).toString('hex'),
      ...(tls ? { tls: { certificate: tls.certPath, key: tls.keyPath } } : {}),
    },
    ...(htpasswdPath ? { auth: { htpasswd: { realm: 'pullwatch-tests', path: htpasswdPath } } } : {}),
    ...(token
      ? {
          auth: {
            token: {
              realm: token.realm,
              service: token.service,
              issuer: token.issuer,
              rootcertbundle: token.rootCertBundlePath,
            },
          },
        }
      : {}),
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const daemon = daemons.start(name, program, ['serve', configPath]);
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await waitUntil(
    `${name} (docker-registry) to answer on ${origin}/v2/`,
    async () => {
      const status = tls
        ? await httpsStatus(`${origin}/v2/`, tls.authority)
        : await fetchStatus(`${origin}/v2/`);
      return status === 200 || status === 401;
    },
    15_000,
    daemon.exited,
  );
  return { host: `127.0.0.1:${port}`, origin };
};

const fetchStatus = (url: string): Promise<number | undefined> =>
  fetch(url).then(
    (response) => response.status,
    () => undefined,
  );

/** fetch cannot be given a CA; node:https can. */
const httpsStatus = (url: string, ca: Buffer): Promise<number | undefined> =>
  new Promise((resolve) => {
    const request = httpsGet(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('error', () => resolve(undefined));
  });
