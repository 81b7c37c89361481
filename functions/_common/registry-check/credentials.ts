/**
 * Registry credentials, found where the ecosystem keeps them, in the order containers/image reads them:
 * `REGISTRY_AUTH_FILE` (else `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`),
 * then Docker's `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`). In each file a
 * `credHelpers` entry for the host wins, then an `auths` entry, then `credsStore`; helpers run as
 * `docker-credential-<name> get` with the server on standard input, as Docker runs them.
 *
 * The secret lives in a private field: it is not enumerable, not in JSON and not in `util.inspect`, and
 * no error here quotes a file's content or a helper's output.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export class RegistryCredentials {
  readonly #username: string;
  readonly #secret: string;

  /** `source` says where they came from ("docker config credHelpers (desktop)"); never the secret. */
  constructor(
    username: string,
    secret: string,
    readonly source: string,
  ) {
    this.#username = username;
    this.#secret = secret;
  }

  /** The value of an `Authorization: Basic` header. */
  basicAuthorization(): string {
    return `Basic ${Buffer.from(`${this.#username}:${this.#secret}`).toString('base64')}`;
  }

  toJSON(): { source: string } {
    return { source: this.source };
  }
}

export type CredentialLookup = (
  registry: string,
  repositoryPath: string,
  timeoutMs: number,
) => Promise<RegistryCredentials | undefined>;

const AuthEntry = z.object({ auth: z.string().optional(), identitytoken: z.string().optional() }).loose();
const CredentialFile = z
  .object({
    auths: z.record(z.string(), AuthEntry).optional(),
    credHelpers: z.record(z.string(), z.string()).optional(),
    credsStore: z.string().optional(),
  })
  .loose();
type CredentialFile = z.infer<typeof CredentialFile>;

const HelperAnswer = z.object({ Username: z.string(), Secret: z.string() });

/** Helper names become a program name: nothing that could be a path or an option. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const DOCKER_HUB_KEYS = [
  'https://index.docker.io/v1/',
  'index.docker.io',
  'docker.io',
  'registry-1.docker.io',
];

/** "https://index.docker.io/v1/" and "index.docker.io" name the same registry; so do "https://h/" and "h". */
const normaliseKey = (key: string): string => {
  const bare = key.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const withoutApi = bare.replace(/\/v[12]$/, '');
  return DOCKER_HUB_KEYS.includes(withoutApi) || DOCKER_HUB_KEYS.includes(key) ? 'docker.io' : withoutApi;
};

/** Keys to look for, most specific first: host/namespace/repo, host/namespace, host (auth.json allows these). */
const candidateKeys = (registry: string, repositoryPath: string): string[] => {
  const host = normaliseKey(registry);
  const components = repositoryPath.split('/');
  const keys: string[] = [];
  for (let count = components.length; count > 0; count--) {
    keys.push(`${host}/${components.slice(0, count).join('/')}`);
  }
  keys.push(host);
  return keys;
};

const findEntry = <T>(record: Record<string, T> | undefined, keys: readonly string[]): T | undefined => {
  if (!record) return undefined;
  const normalised = new Map(Object.entries(record).map(([key, value]) => [normaliseKey(key), value]));
  for (const key of keys) {
    const value = normalised.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
};

const readCredentialFile = async (path: string): Promise<CredentialFile | undefined> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = CredentialFile.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

const runHelper = (
  name: string,
  server: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<{ username: string; secret: string } | undefined> =>
  new Promise((resolve) => {
    if (!HELPER_NAME.test(name)) return resolve(undefined);
    const child = execFile(
      `docker-credential-${name}`,
      ['get'],
      { timeout: timeoutMs, env, maxBuffer: 64 * 1024 },
      (error, stdout) => {
        if (error) return resolve(undefined);
        try {
          const parsed = HelperAnswer.safeParse(JSON.parse(stdout));
          // "<token>" marks an identity token, which only an OAuth exchange could use.
          if (!parsed.success || parsed.data.Username === '<token>') return resolve(undefined);
          resolve({ username: parsed.data.Username, secret: parsed.data.Secret });
        } catch {
          resolve(undefined);
        }
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(server);
  });

const decodeAuth = (auth: string): { username: string; secret: string } | undefined => {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) } : undefined;
};

/** The files to read, in order, and what each is called in `source`. */
const credentialFiles = (env: NodeJS.ProcessEnv, home: string): Array<{ path: string; name: string }> => {
  const containers = env.REGISTRY_AUTH_FILE
    ? [{ path: env.REGISTRY_AUTH_FILE, name: 'REGISTRY_AUTH_FILE' }]
    : [
        ...(env.XDG_RUNTIME_DIR
          ? [{ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), name: 'containers auth.json' }]
          : []),
        { path: join(home, '.config', 'containers', 'auth.json'), name: 'containers auth.json' },
      ];
  const docker = join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json');
  return [...containers, { path: docker, name: 'docker config' }];
};

/** Looks credentials up as Docker and containers/image do; undefined when none are configured. */
export const ecosystemCredentials =
  (env: NodeJS.ProcessEnv = process.env, home: string = env.HOME ?? homedir()): CredentialLookup =>
  async (registry, repositoryPath, timeoutMs) => {
    const keys = candidateKeys(registry, repositoryPath);
    const server = normaliseKey(registry) === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
    for (const { path, name } of credentialFiles(env, home)) {
      const file = await readCredentialFile(path);
      if (!file) continue;
      const helper = findEntry(file.credHelpers, keys);
      if (helper !== undefined) {
        const found = await runHelper(helper, server, timeoutMs, env);
        if (found)
          return new RegistryCredentials(found.username, found.secret, `${name} credHelpers (${helper})`);
        continue;
      }
      const entry = findEntry(file.auths, keys);
      const decoded = entry?.auth ? decodeAuth(entry.auth) : undefined;
      if (decoded) return new RegistryCredentials(decoded.username, decoded.secret, `${name} auths`);
      if (file.credsStore !== undefined) {
        const found = await runHelper(file.credsStore, server, timeoutMs, env);
        if (found) {
          return new RegistryCredentials(
            found.username,
            found.secret,
            `${name} credsStore (${file.credsStore})`,
          );
        }
      }
    }
    return undefined;
  };
