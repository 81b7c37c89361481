/**
 * Real Distribution registries on loopback for the registry check, all over one storage seeded with
 * skopeo: open over TLS, htpasswd over TLS, token auth over TLS (with our own token server), and open
 * over plain HTTP (for in-process tests: Node reads NODE_EXTRA_CA_CERTS only at start, so TLS is tested
 * through the CLI as a child process). The TLS authority is made with openssl.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuthority,
  issueServerCertificate,
  type ServerCertificate,
} from '../../../../runtime/support/certificates';
import { buildImage, hostPlatform, writeOciLayout } from '../../../../runtime/support/oci-image';
import { MissingPrerequisite, findProgram, optOutReason } from '../../../../runtime/support/prerequisites';
import { Daemons, runOrThrow } from '../../../../runtime/support/processes';
import { type Registry, startRegistry } from '../../../../runtime/support/registry';
import { isolatedSkopeoEnv } from '../../../../runtime/support/skopeo';
import { TokenServer } from './token-server';

export const USER = 'pullwatch';

export const CONTENT = {
  app: { repository: 'acme/app', tags: ['1.0.0', '1.0.1', '1.1.0', '2.0.0', '1.0.2-rc1', 'latest'] },
  multi: { repository: 'acme/multi', tag: '1.0' },
} as const;

type LabProgram = 'docker-registry' | 'skopeo' | 'openssl' | 'htpasswd' | 'setpriv';

export interface RegistryLab {
  folder: string;
  password: string;
  /** The CA that signed every TLS server here, for NODE_EXTRA_CA_CERTS. */
  caPath: string;
  serverCertificate: ServerCertificate;
  open: Registry;
  basic: Registry;
  token: Registry;
  plain: Registry;
  tokenServer: TokenServer;
  /** An environment for the CLI with no machine credentials and the lab's CA trusted. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** PULLWATCH_SKIP_RUNTIME_TESTS=1 skips the suites that need the lab; missing programs fail them. */
export const labSkipReason = optOutReason();
// Read from globalThis: the bench (bench/registry-check.ts) imports this module outside jest.
export const describeLab = (labSkipReason ? globalThis.describe?.skip : globalThis.describe) as jest.Describe;

const program = (name: LabProgram): string => {
  const found = findProgram(name);
  if (!found) {
    throw new MissingPrerequisite(
      `the registry-check tests need ${name} (apt-get install -y docker-registry skopeo openssl apache2-utils util-linux)`,
    );
  }
  return found;
};

export const startRegistryLab = async (): Promise<RegistryLab> => {
  const folder = await mkdtemp(join(tmpdir(), 'pullwatch-registry-check-'));
  const daemons = new Daemons(program('setpriv'));
  let tokenServer: TokenServer | undefined;
  try {
    const openssl = program('openssl');
    const authority = await createAuthority(openssl, folder, 'registry-check-ca');
    const serverCertificate = await issueServerCertificate(openssl, folder, authority, '127.0.0.1');
    const signer = await createAuthority(openssl, folder, 'token-signer');
    const caCert = await readFile(authority.certPath);
    const tls = {
      certPath: serverCertificate.certPath,
      keyPath: serverCertificate.keyPath,
      authority: caCert,
    };

    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const htpasswdPath = join(folder, 'htpasswd');
    await writeFile(htpasswdPath, await runOrThrow(program('htpasswd'), ['-Bbn', USER, password]));

    tokenServer = await new TokenServer({
      tls: { cert: serverCertificate.cert, key: serverCertificate.key },
      signer,
      issuer: 'pullwatch-token-server',
      service: 'pullwatch-registry',
      users: { [USER]: password },
    }).start();

    const storage = join(folder, 'storage');
    await mkdir(storage);
    const registryProgram = program('docker-registry');
    const start = (name: string, options: Partial<Parameters<typeof startRegistry>[2]>) =>
      startRegistry(registryProgram, daemons, { name, folder, storage, ...options });
    const open = await start('open', { tls });
    const basic = await start('basic', { tls, htpasswdPath });
    const token = await start('token', {
      tls,
      token: {
        realm: tokenServer.realm,
        service: 'pullwatch-registry',
        issuer: 'pullwatch-token-server',
        rootCertBundlePath: signer.certPath,
      },
    });
    const plain = await start('plain', {});

    await seed(folder, open, authority.certPath);
    const home = join(folder, 'home');
    await mkdir(home);
    const server = tokenServer;
    return {
      folder,
      password,
      caPath: authority.certPath,
      serverCertificate,
      open,
      basic,
      token,
      plain,
      tokenServer: server,
      env: (extra = {}) => ({
        PATH: process.env.PATH,
        HOME: home,
        NODE_EXTRA_CA_CERTS: authority.certPath,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...extra,
      }),
      stop: async () => {
        await daemons.stopAll();
        await server.stop();
        await rm(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await daemons.stopAll();
    await tokenServer?.stop();
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
};

/** Pushes the content with skopeo over TLS, trusting the lab CA through a cert dir as containers/image does. */
const seed = async (folder: string, registry: Registry, caPath: string): Promise<void> => {
  const certDir = join(folder, 'skopeo-certs');
  await mkdir(certDir);
  await copyFile(caPath, join(certDir, 'ca.crt'));
  const env = await isolatedSkopeoEnv(join(folder, 'skopeo'));
  const single = join(folder, 'layout-single');
  await writeOciLayout(single, 'source', [buildImage(hostPlatform(), 'registry check')]);
  const multi = join(folder, 'layout-multi');
  await writeOciLayout(multi, 'source', [
    buildImage({ os: 'linux', architecture: 'amd64' }, 'amd64'),
    buildImage({ os: 'linux', architecture: 'arm64' }, 'arm64'),
  ]);
  const copy = (layout: string, target: string) =>
    runOrThrow(
      program('skopeo'),
      [
        '--insecure-policy',
        'copy',
        '--all',
        '--dest-cert-dir',
        certDir,
        `oci:${layout}:source`,
        `docker://${registry.host}/${target}`,
      ],
      { env, timeoutMs: 60_000 },
    );
  for (const tag of CONTENT.app.tags) await copy(single, `${CONTENT.app.repository}:${tag}`);
  await copy(multi, `${CONTENT.multi.repository}:${CONTENT.multi.tag}`);
};
