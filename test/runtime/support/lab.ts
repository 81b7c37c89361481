// The whole lab: registries, misbehaving endpoints, certificates, name resolution, containerd and skopeo.
// `startLab` either returns a working lab or cleans up after itself and throws.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority, issueServerCertificate } from './certificates';
import { startContainerd, type Containerd } from './containerd';
import { startEndpoints, type Fault } from './fault-servers';
import { LAB_HOSTNAMES, startNameResolution } from './namespace';
import { buildImage, foreignPlatform, hostPlatform, RegistryPusher } from './oci-image';
import { requireMountNamespaces, requirePrograms, requireRoot } from './prerequisites';
import { Daemons, freePort, runOrThrow } from './processes';
import { startRegistry } from './registry';
import { createSkopeo, type Skopeo } from './skopeo';

export const REGISTRY_USER = 'pullwatch';

/** Repositories and tags pushed to the lab registry before any scenario runs. */
export const CONTENT = {
  app: { repository: 'team/app', tag: '1.0' },
  foreign: { repository: 'team/foreign-only', tag: '1.0' },
  /** One layer of incompressible data, bigger than SMALL_DISK_BYTES. */
  large: { repository: 'team/large', tag: '1.0' },
} as const;

export const SMALL_DISK_BYTES = 4 * 1024 * 1024;
const LARGE_LAYER_BYTES = 6 * 1024 * 1024;

export interface LabAddresses {
  /** Open Distribution registry (plain HTTP, loopback). */
  registry: string;
  /** The same storage behind htpasswd basic auth. */
  authRegistry: string;
  registryPassword: string;
  /** HTTPS in front of the registry with a certificate containerd and skopeo are told to trust. */
  tls: string;
  /** HTTPS whose certificate comes from an authority nobody trusts. */
  untrustedCa: string;
  /** HTTPS with a trusted certificate issued for another name. */
  wrongName: string;
  /** A name the runtimes reach over HTTPS, pointing at the plain-HTTP registry. */
  plainHttp: string;
  /** Accepts connections and never answers, by address and by a name (HTTPS expected). */
  silent: string;
  silentTls: string;
  /** A loopback port where nothing listens. */
  closed: string;
  faults: Record<Fault, string>;
  /** The extra-CA folder for skopeo (what /etc/containers/certs.d/<host>/ would hold). */
  skopeoCertDir: string;
  /** Digest of a manifest that exists nowhere. */
  absentDigest: string;
}

export interface Lab {
  addresses: LabAddresses;
  containerd: Containerd;
  /** Same containerd, root on a tmpfs smaller than CONTENT.large's layer. */
  smallDiskContainerd: Containerd;
  skopeo: Skopeo;
  folder: string;
  stop(): Promise<void>;
}

export const startLab = async (): Promise<Lab> => {
  requireRoot();
  const programs = requirePrograms();
  await requireMountNamespaces(programs);
  const folder = await mkdtemp(join(tmpdir(), 'pullwatch-runtime-'));
  // If the process ends without stop() (a crash), still leave no temp folder behind.
  const removeFolder = (): void => rmSync(folder, { recursive: true, force: true });
  process.once('exit', removeFolder);
  const daemons = new Daemons(programs.setpriv);
  const cleanups: (() => Promise<void>)[] = [];
  let containerd: Containerd | undefined;
  let smallDiskContainerd: Containerd | undefined;
  const stop = async (): Promise<void> => {
    containerd?.client.close();
    smallDiskContainerd?.client.close();
    await daemons.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    process.off('exit', removeFolder);
  };

  try {
    const resolution = await startNameResolution(folder);
    cleanups.push(resolution.stop);

    const certificates = join(folder, 'certificates');
    await mkdir(certificates);
    const trusted = await createAuthority(programs.openssl, certificates, 'pullwatch-trusted-ca');
    const untrusted = await createAuthority(programs.openssl, certificates, 'pullwatch-untrusted-ca');
    const tlsCertificate = await issueServerCertificate(
      programs.openssl,
      certificates,
      trusted,
      LAB_HOSTNAMES.tls,
    );
    const otherNameCertificate = await issueServerCertificate(
      programs.openssl,
      certificates,
      trusted,
      LAB_HOSTNAMES.certificateName,
    );
    const untrustedCertificate = await issueServerCertificate(
      programs.openssl,
      certificates,
      untrusted,
      LAB_HOSTNAMES.untrustedCa,
    );
    const skopeoCertDir = join(folder, 'skopeo-certs');
    await mkdir(skopeoCertDir);
    await copyFile(trusted.certPath, join(skopeoCertDir, 'pullwatch-trusted-ca.crt'));

    const registryPassword = `pw-${process.pid}-${Date.now()}`;
    const htpasswdPath = join(folder, 'htpasswd');
    await writeFile(
      htpasswdPath,
      await runOrThrow(programs.htpasswd, ['-Bbn', REGISTRY_USER, registryPassword]),
    );

    const storage = join(folder, 'registry-storage');
    const registry = await startRegistry(programs['docker-registry'], daemons, {
      name: 'registry',
      folder,
      storage,
    });
    const authRegistry = await startRegistry(programs['docker-registry'], daemons, {
      name: 'auth-registry',
      folder,
      storage,
      htpasswdPath,
    });
    const pusher = new RegistryPusher(registry.origin);
    await pusher.pushImage(
      CONTENT.app.repository,
      CONTENT.app.tag,
      buildImage(hostPlatform(), 'hello from pullwatch'),
    );
    await pusher.pushIndex(CONTENT.foreign.repository, CONTENT.foreign.tag, [
      buildImage(foreignPlatform(), 'built for another platform'),
    ]);
    await pusher.pushImage(
      CONTENT.large.repository,
      CONTENT.large.tag,
      buildImage(hostPlatform(), randomBytes(LARGE_LAYER_BYTES).toString('base64')),
    );

    const endpoints = await startEndpoints();
    cleanups.push(endpoints.stop);
    const registryPort = Number(registry.host.split(':')[1]);
    const tlsPort = await endpoints.tlsProxy(tlsCertificate, registryPort);
    const wrongNamePort = await endpoints.tlsProxy(otherNameCertificate, registryPort);
    const untrustedPort = await endpoints.tlsProxy(untrustedCertificate, registryPort);

    const addresses: LabAddresses = {
      registry: registry.host,
      authRegistry: authRegistry.host,
      registryPassword,
      tls: `${LAB_HOSTNAMES.tls}:${tlsPort}`,
      untrustedCa: `${LAB_HOSTNAMES.untrustedCa}:${untrustedPort}`,
      wrongName: `${LAB_HOSTNAMES.wrongName}:${wrongNamePort}`,
      plainHttp: `${LAB_HOSTNAMES.plainHttp}:${registryPort}`,
      silent: `127.0.0.1:${endpoints.silent}`,
      silentTls: `${LAB_HOSTNAMES.silent}:${endpoints.silent}`,
      closed: `127.0.0.1:${await freePort()}`,
      faults: endpoints.faults,
      skopeoCertDir,
      absentDigest: `sha256:${'0123456789abcdef'.repeat(4)}`,
    };

    containerd = await startContainerd(programs, daemons, resolution, {
      name: 'containerd',
      folder: join(folder, 'containerd'),
      registryHosts: [
        { host: addresses.tls, caPath: trusted.certPath },
        { host: addresses.wrongName, caPath: trusted.certPath },
      ],
    });
    // A second containerd whose disk is smaller than one layer, so filling it disturbs no other pull.
    smallDiskContainerd = await startContainerd(programs, daemons, resolution, {
      name: 'containerd-small-disk',
      folder: join(folder, 'containerd-small-disk'),
      rootSizeBytes: SMALL_DISK_BYTES,
    });
    const skopeo = await createSkopeo(programs, resolution, join(folder, 'skopeo'));
    return { addresses, containerd, smallDiskContainerd, skopeo, folder, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
