// containers/image, the library CRI-O pulls with, driven through skopeo.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inLabNamespace, type NameResolution } from './namespace';
import { run } from './processes';
import type { Programs } from './prerequisites';

export interface SkopeoPull {
  image: string;
  /** false for registries an operator marked insecure (plain HTTP); true otherwise. */
  tlsVerify: boolean;
  /** A folder of extra CA certificates (*.crt), like /etc/containers/certs.d/<host>/. */
  certDir?: string;
  credentials?: { username: string; password: string };
  timeoutSeconds: number;
  /**
   * Without it, only the manifest and config are read (`skopeo inspect`), which is where nearly every
   * pull fails. With it, the image is copied in full onto a tmpfs of this many bytes (`skopeo copy`).
   */
  diskBytes?: number;
}

export type SkopeoOutcome = { ok: true } | { ok: false; error: string };

export interface Skopeo {
  version: string;
  pull(request: SkopeoPull): Promise<SkopeoOutcome>;
}

const STAGING_FOLDER = '/var/tmp';

/** Wrappers skopeo's inspect command puts around the library's error (cmd/skopeo/inspect.go). */
const SKOPEO_PREFIXES = [/^Error parsing image name "[^"]*": /, /^Error parsing manifest for image: /];

/**
 * skopeo frames a failure as `time="…" level=fatal msg="<error>"` and wraps the library's error in
 * its own prefix. CRI-O reports the library's error itself, so both are removed; the rest is verbatim.
 */
export const libraryError = (stderr: string): string => {
  const lines = stderr.trim().split('\n');
  const fatal = lines.reverse().find((line) => line.includes('level=fatal'));
  let message = stderr.trim();
  if (fatal) {
    const quoted = /msg="((?:[^"\\]|\\.)*)"/.exec(fatal)?.[1];
    message = quoted === undefined ? fatal : (JSON.parse(`"${quoted}"`) as string);
  }
  return SKOPEO_PREFIXES.reduce((text, prefix) => text.replace(prefix, ''), message);
};

/** An environment that isolates skopeo from the machine's registry, policy and credential settings. */
export const isolatedSkopeoEnv = async (folder: string): Promise<NodeJS.ProcessEnv> => {
  await mkdir(folder, { recursive: true });
  const registriesConf = join(folder, 'registries.conf');
  const authFile = join(folder, 'auth.json');
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  await writeFile(authFile, '{"auths": {}}\n');
  // REGISTRY_AUTH_FILE points skopeo (inspect and copy alike) at the empty credentials file.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: folder,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    REGISTRY_AUTH_FILE: authFile,
  };
};

export const createSkopeo = async (
  programs: Programs,
  resolution: NameResolution,
  folder: string,
): Promise<Skopeo> => {
  const env = await isolatedSkopeoEnv(folder);
  const { stdout } = await run(programs.skopeo, ['--version']);
  const version = /version\s+(\S+)/.exec(stdout)?.[1] ?? stdout.trim();

  return {
    version: `skopeo (containers/image) ${version}`,
    async pull({ image, tlsVerify, certDir, credentials, timeoutSeconds, diskBytes }) {
      // `copy` names its source options --src-*; `inspect` has only a source.
      const flag = (name: string): string => (diskBytes ? `--src-${name}` : `--${name}`);
      const source = [
        `${flag('tls-verify')}=${tlsVerify}`,
        ...(certDir ? [flag('cert-dir'), certDir] : []),
        ...(credentials ? [flag('creds'), `${credentials.username}:${credentials.password}`] : []),
      ];
      const destination = diskBytes ? await mkdtemp(join(folder, 'disk-')) : undefined;
      const args = [
        '--command-timeout',
        `${timeoutSeconds}s`,
        ...(destination
          ? [
              '--insecure-policy',
              'copy',
              '--retry-times',
              '0',
              ...source,
              `docker://${image}`,
              `dir:${destination}`,
            ]
          : ['inspect', '--retry-times', '0', ...source, `docker://${image}`]),
      ];
      const [command, wrapped] = inLabNamespace(
        programs,
        resolution,
        programs.skopeo,
        args,
        destination && diskBytes ? { path: destination, sizeBytes: diskBytes } : undefined,
      );
      const result = await run(command, wrapped, { env, timeoutMs: (timeoutSeconds + 30) * 1000 });
      if (result.code === 0) return { ok: true };
      const error = libraryError(result.stderr || result.stdout);
      // CRI-O stages blobs under /var/tmp; the lab's own folder would only leak this machine's layout.
      return { ok: false, error: destination ? error.split(destination).join(STAGING_FOLDER) : error };
    },
  };
};
