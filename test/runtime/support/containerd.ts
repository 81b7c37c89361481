// A private containerd (CRI plugin on, its own root, state, socket and registry hosts), and a CRI client
// that pulls images the way the kubelet does.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inLabNamespace, type NameResolution } from './namespace';
import { run, waitUntil, type Daemons } from './processes';
import type { Programs } from './prerequisites';

/** Plugins a pull never touches; disabling them keeps containerd quiet and quick on any host. */
const DISABLED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

/** A registry host's entry in containerd's `config_path` folder (certs.d/<host:port>/hosts.toml). */
export interface RegistryHostConfig {
  host: string;
  caPath: string;
}

const quote = (value: string): string => JSON.stringify(value); // a TOML basic string is JSON-compatible here

export const containerdConfig = (folder: string): string =>
  [
    'version = 2',
    `root = ${quote(join(folder, 'root'))}`,
    `state = ${quote(join(folder, 'state'))}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(quote).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${quote(join(folder, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${quote(join(folder, 'containerd.sock.ttrpc'))}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${quote(join(folder, 'opt'))}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    // Pulls never need the sandbox image; an unroutable one makes sure nothing reaches out for it.
    '  sandbox_image = "127.0.0.1:9/pause:3.6"',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    // "native" unpacks by copying: it works on every filesystem, overlay-capable or not.
    '    snapshotter = "native"',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${quote(join(folder, 'cni', 'bin'))}`,
    `    conf_dir = ${quote(join(folder, 'cni', 'conf'))}`,
    '  [plugins."io.containerd.grpc.v1.cri".registry]',
    `    config_path = ${quote(join(folder, 'certs.d'))}`,
    '',
  ].join('\n');

const hostsToml = ({ host, caPath }: RegistryHostConfig): string =>
  [
    `server = ${quote(`https://${host}`)}`,
    '',
    `[host.${quote(`https://${host}`)}]`,
    `  ca = ${quote(caPath)}`,
    '',
  ].join('\n');

// ---- CRI client -------------------------------------------------------------------------------

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  server_address?: string;
}

interface PullImageRequest {
  image: { image: string; annotations?: Record<string, string> };
  auth?: AuthConfig;
  sandbox_config?: Record<string, never>;
}

interface PullImageResponse {
  image_ref: string;
}

type Unary<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

interface ImageServiceClient extends grpc.Client {
  PullImage: Unary<PullImageRequest, PullImageResponse>;
}

export type PullOutcome =
  | { ok: true; imageRef: string }
  | {
      ok: false;
      /** grpc status code as a number (grpc.status). */
      code: grpc.status;
      details: string;
      /** True when this client gave up at its own deadline, rather than the runtime answering. */
      clientDeadline: boolean;
    };

const loadImageService = (): grpc.ServiceClientConstructor => {
  const definition = protoLoader.loadSync(join(__dirname, 'cri.proto'), {
    keepCase: true,
    defaults: true,
    longs: String,
    enums: String,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { ImageService: grpc.ServiceClientConstructor } };
  };
  return loaded.runtime.v1.ImageService;
};

export class CriImageClient {
  private readonly client: ImageServiceClient;

  constructor(socketPath: string) {
    const ImageService = loadImageService();
    const client: grpc.Client = new ImageService(`unix:${socketPath}`, grpc.credentials.createInsecure());
    this.client = client as ImageServiceClient;
  }

  /** One PullImage call, as the kubelet makes it: the image spec, the pull secret's auth, a sandbox config. */
  pull(image: string, auth: AuthConfig | undefined, deadlineMs: number): Promise<PullOutcome> {
    const request: PullImageRequest = { image: { image, annotations: {} }, sandbox_config: {} };
    if (auth) request.auth = auth;
    const started = Date.now();
    return new Promise((resolve) => {
      this.client.PullImage(request, { deadline: new Date(started + deadlineMs) }, (error, response) => {
        if (!error) {
          resolve({ ok: true, imageRef: response?.image_ref ?? '' });
          return;
        }
        resolve({
          ok: false,
          code: error.code,
          details: error.details,
          clientDeadline:
            error.code === grpc.status.DEADLINE_EXCEEDED && /^Deadline exceeded after/.test(error.details),
        });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

// ---- the daemon ---------------------------------------------------------------------------------

export interface Containerd {
  version: string;
  socketPath: string;
  /** This instance's root; a default install's is DEFAULT_ROOT. */
  root: string;
  client: CriImageClient;
}

export const DEFAULT_ROOT = '/var/lib/containerd';

export const containerdVersion = async (program: string): Promise<string> => {
  const { stdout } = await run(program, ['--version']);
  // "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
  const version = /\s(\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  return version ? `containerd ${version}` : `containerd (${stdout.trim()})`;
};

export interface ContainerdOptions {
  name: string;
  folder: string;
  /** Per-host settings in containerd's `config_path` (certs.d/<host:port>/hosts.toml). */
  registryHosts?: readonly RegistryHostConfig[];
  /** Put the root (content store, snapshots, metadata) on a tmpfs this small, to fill it on purpose. */
  rootSizeBytes?: number;
}

export const startContainerd = async (
  programs: Programs,
  daemons: Daemons,
  resolution: NameResolution,
  { name, folder, registryHosts = [], rootSizeBytes }: ContainerdOptions,
): Promise<Containerd> => {
  await mkdir(join(folder, 'cni', 'conf'), { recursive: true });
  await mkdir(join(folder, 'root'), { recursive: true });
  for (const entry of registryHosts) {
    const hostFolder = join(folder, 'certs.d', entry.host);
    await mkdir(hostFolder, { recursive: true });
    await writeFile(join(hostFolder, 'hosts.toml'), hostsToml(entry));
  }
  const configPath = join(folder, 'config.toml');
  await writeFile(configPath, containerdConfig(folder));
  const [command, args] = inLabNamespace(
    programs,
    resolution,
    programs.containerd,
    ['--config', configPath, '--log-level', 'warn'],
    rootSizeBytes === undefined ? undefined : { path: join(folder, 'root'), sizeBytes: rootSizeBytes },
  );
  const daemon = daemons.start(name, command, args);
  const socketPath = join(folder, 'containerd.sock');
  await waitUntil(`${name}'s socket ${socketPath}`, () => existsSync(socketPath), 20_000, daemon.exited);
  const client = new CriImageClient(socketPath);
  return {
    version: await containerdVersion(programs.containerd),
    socketPath,
    root: join(folder, 'root'),
    client,
  };
};
