import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ecosystemCredentials } from '../../../../functions/_common/registry-check/credentials';
import { basicAuth, writeCredentialHelper, writeJson } from './support/credential-files';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'pullwatch-credentials-'));
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const SECRET = 's3cret-value';
const expectBasic = (authorization: string | undefined, user: string) =>
  expect(authorization).toBe(`Basic ${basicAuth(user, SECRET)}`);

describe('ecosystemCredentials', () => {
  it('reads docker config auths, with Docker Hub under its legacy key, and keeps the secret out of JSON and inspect', async () => {
    await writeJson(join(folder, 'docker', 'config.json'), {
      auths: { 'https://index.docker.io/v1/': { auth: basicAuth('hubuser', SECRET) } },
    });
    const lookup = ecosystemCredentials({ DOCKER_CONFIG: join(folder, 'docker') }, folder);
    const credentials = await lookup('docker.io', 'library/nginx', 2_000);
    expect(credentials?.source).toBe('docker config auths');
    expectBasic(credentials?.basicAuthorization(), 'hubuser');
    expect(JSON.stringify(credentials)).not.toContain(SECRET);
    expect(inspect(credentials, { showHidden: true, depth: 5 })).not.toContain(SECRET);
    expect(await lookup('ghcr.io', 'acme/app', 2_000)).toBeUndefined();
  });

  it('runs the credHelpers entry for the host, with the host on standard input', async () => {
    const bin = join(folder, 'bin');
    await writeCredentialHelper(bin, 'pwtest', 'registry.example.com:5000', 'helper-user', SECRET);
    await writeJson(join(folder, '.docker', 'config.json'), {
      credHelpers: { 'registry.example.com:5000': 'pwtest' },
      auths: { 'registry.example.com:5000': { auth: basicAuth('file-user', 'other') } },
    });
    const lookup = ecosystemCredentials({ PATH: `${bin}:${process.env.PATH}` }, folder);
    const credentials = await lookup('registry.example.com:5000', 'team/app', 2_000);
    expect(credentials?.source).toBe('docker config credHelpers (pwtest)');
    expectBasic(credentials?.basicAuthorization(), 'helper-user');
  });

  it('falls back to credsStore, and ignores helper names that could be paths', async () => {
    const bin = join(folder, 'bin');
    await writeCredentialHelper(bin, 'store', 'ghcr.io', 'store-user', SECRET);
    await writeJson(join(folder, '.docker', 'config.json'), {
      credsStore: 'store',
      auths: { 'ghcr.io': {} },
    });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    expectBasic(
      (await ecosystemCredentials(env, folder)('ghcr.io', 'acme/app', 2_000))?.basicAuthorization(),
      'store-user',
    );
    await writeJson(join(folder, '.docker', 'config.json'), { credsStore: '../../bin/sh' });
    expect(await ecosystemCredentials(env, folder)('ghcr.io', 'acme/app', 2_000)).toBeUndefined();
  });

  it('reads REGISTRY_AUTH_FILE before docker config, most specific namespace first', async () => {
    await writeJson(join(folder, 'auth.json'), {
      auths: {
        'quay.io/acme': { auth: basicAuth('acme-robot', SECRET) },
        'quay.io': { auth: basicAuth('quay-user', SECRET) },
      },
    });
    await writeJson(join(folder, '.docker', 'config.json'), {
      auths: { 'quay.io': { auth: basicAuth('docker-user', SECRET) } },
    });
    const lookup = ecosystemCredentials({ REGISTRY_AUTH_FILE: join(folder, 'auth.json') }, folder);
    expect((await lookup('quay.io', 'acme/app', 2_000))?.source).toBe('REGISTRY_AUTH_FILE auths');
    expectBasic((await lookup('quay.io', 'acme/app', 2_000))?.basicAuthorization(), 'acme-robot');
    expectBasic((await lookup('quay.io', 'other/app', 2_000))?.basicAuthorization(), 'quay-user');
  });

  it('treats unreadable or malformed files as no credentials', async () => {
    await writeJson(join(folder, '.docker', 'config.json'), 'not an object');
    expect(await ecosystemCredentials({}, folder)('ghcr.io', 'a/b', 2_000)).toBeUndefined();
  });
});
