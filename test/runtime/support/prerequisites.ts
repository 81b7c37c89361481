// What the real-runtime lab needs from the machine, and the Debian package that provides each piece.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from './processes';

export const SKIP_VARIABLE = 'PULLWATCH_SKIP_RUNTIME_TESTS';

/** Executable name -> Debian package that installs it. */
export const REQUIRED_PROGRAMS = {
  containerd: 'containerd',
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  openssl: 'openssl',
  htpasswd: 'apache2-utils',
  unshare: 'util-linux',
  setpriv: 'util-linux',
  mount: 'mount',
} as const;

export type Program = keyof typeof REQUIRED_PROGRAMS;

export class MissingPrerequisite extends Error {
  override readonly name = 'MissingPrerequisite';
}

const searchPath = (): string[] =>
  [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);

/** Like `which`: the first executable called `name` on PATH (plus the sbin folders root has). */
export const findProgram = (name: string): string | undefined => {
  for (const folder of searchPath()) {
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
};

export type Programs = Record<Program, string>;

/** Throws one error naming every missing Debian package, so CI fails with the fix in its message. */
export const requirePrograms = (): Programs => {
  const found: Partial<Programs> = {};
  const missing: string[] = [];
  for (const [program, debianPackage] of Object.entries(REQUIRED_PROGRAMS) as [Program, string][]) {
    const location = findProgram(program);
    if (location) found[program] = location;
    else missing.push(`${program} (Debian package "${debianPackage}")`);
  }
  if (missing.length > 0) {
    throw new MissingPrerequisite(
      `The real-runtime tests need these programs, which are not installed: ${missing.join(', ')}. ` +
        `Install them with: apt-get install -y ${[...new Set(Object.values(REQUIRED_PROGRAMS))].join(' ')} ` +
        `(or set ${SKIP_VARIABLE}=1 to skip these tests).`,
    );
  }
  return found as Programs;
};

export const requireRoot = (): void => {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new MissingPrerequisite(
      `The real-runtime tests must run as root: containerd needs it to unpack layers, and the lab ` +
        `uses a private mount namespace for its /etc/hosts and resolv.conf. Run as root, or set ${SKIP_VARIABLE}=1.`,
    );
  }
};

/** The reason to skip, when the operator opted out explicitly; otherwise undefined. */
export const optOutReason = (): string | undefined =>
  process.env[SKIP_VARIABLE] === '1'
    ? `${SKIP_VARIABLE}=1: skipping the real-runtime image-pull tests (containerd, docker-registry, skopeo).`
    : undefined;

/** The lab gives the runtimes their own /etc/hosts and resolv.conf in a private mount namespace. */
export const requireMountNamespaces = async (programs: Pick<Programs, 'unshare'>): Promise<void> => {
  const result = await run(programs.unshare, ['--mount', '--propagation', 'private', 'true']).catch(
    (error: Error) => ({ code: -1, stdout: '', stderr: error.message }),
  );
  if (result.code !== 0) {
    throw new MissingPrerequisite(
      `The real-runtime tests need to create mount namespaces ("unshare --mount" failed: ${result.stderr.trim()}). ` +
        `Run them as root with CAP_SYS_ADMIN (e.g. not in an unprivileged container), or set ${SKIP_VARIABLE}=1.`,
    );
  }
};
