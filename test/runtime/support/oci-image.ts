// A tiny OCI image built in memory, and a push over the registry HTTP API (plain HTTP, loopback only).
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const MEDIA_TYPE = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Platform {
  os: string;
  architecture: string;
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface BuiltImage {
  platform: Platform;
  blobs: Blob[];
  manifest: Blob;
}

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const blob = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

const descriptor = ({ mediaType, digest, size }: Blob) => ({ mediaType, digest, size });

/** A ustar archive holding regular files, written by hand: the layer only needs to be a valid tar. */
export const tarArchive = (files: Record<string, string>): Buffer => {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const content = Buffer.from(text, 'utf8');
    const header = Buffer.alloc(512);
    const put = (value: string, offset: number, length: number): void => {
      header.write(value.slice(0, length), offset, length, 'ascii');
    };
    const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, '0');
    put(name, 0, 100);
    put(octal(0o644, 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(content.length, 12), 124, 12);
    put(octal(0, 12), 136, 12);
    put(' '.repeat(8), 148, 8); // the checksum is computed with its own field as spaces
    put('0', 156, 1);
    put('ustar\u000000', 257, 8);
    let checksum = 0;
    for (const byte of header) checksum += byte;
    put(`${octal(checksum, 7)}\u0000 `, 148, 8);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
};

export const buildImage = (platform: Platform, greeting: string): BuiltImage => {
  const tar = tarArchive({ 'pullwatch.txt': `${greeting}\n` });
  const layer = blob(MEDIA_TYPE.layer, gzipSync(tar));
  const config = blob(
    MEDIA_TYPE.config,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        config: { Cmd: ['/pullwatch.txt'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    ),
  );
  const manifest = blob(
    MEDIA_TYPE.manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.manifest,
        config: descriptor(config),
        layers: [descriptor(layer)],
      }),
    ),
  );
  return { platform, blobs: [config, layer], manifest };
};

/** An index listing only `images`, each under its own platform. */
export const buildIndex = (images: readonly BuiltImage[]): Blob =>
  blob(
    MEDIA_TYPE.index,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.index,
        manifests: images.map((image) => ({ ...descriptor(image.manifest), platform: image.platform })),
      }),
    ),
  );

/** The platform this machine's containerd and skopeo select, in OCI terms. */
export const hostPlatform = (): Platform => {
  const architectures: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    s390x: 's390x',
    ppc64: 'ppc64le',
  };
  return { os: 'linux', architecture: architectures[process.arch] ?? process.arch };
};

/** A real platform that is not this machine's. */
export const foreignPlatform = (): Platform => ({
  os: 'linux',
  architecture: hostPlatform().architecture === 's390x' ? 'ppc64le' : 's390x',
});

const expectStatus = async (response: Response, expected: number, what: string): Promise<void> => {
  if (response.status !== expected) {
    throw new Error(`${what}: registry answered ${response.status} ${await response.text()}`);
  }
};

export class RegistryPusher {
  constructor(private readonly origin: string) {}

  async pushBlob(repository: string, { digest, bytes }: Blob): Promise<void> {
    const started = await fetch(`${this.origin}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    await expectStatus(started, 202, `starting the upload of ${digest} to ${repository}`);
    const location = new URL(started.headers.get('location') ?? '', this.origin);
    location.searchParams.set('digest', digest);
    const finished = await fetch(location, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    await expectStatus(finished, 201, `uploading ${digest} to ${repository}`);
  }

  async putManifest(repository: string, reference: string, manifest: Blob): Promise<void> {
    const response = await fetch(`${this.origin}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
    await expectStatus(response, 201, `putting manifest ${repository}:${reference}`);
  }

  /** Pushes an image under `tag`. */
  async pushImage(repository: string, tag: string, image: BuiltImage): Promise<void> {
    for (const item of image.blobs) await this.pushBlob(repository, item);
    await this.putManifest(repository, tag, image.manifest);
  }

  /** Pushes `images` by digest and an index of them under `tag`. */
  async pushIndex(repository: string, tag: string, images: readonly BuiltImage[]): Promise<Blob> {
    for (const image of images) {
      for (const item of image.blobs) await this.pushBlob(repository, item);
      await this.putManifest(repository, image.manifest.digest, image.manifest);
    }
    const index = buildIndex(images);
    await this.putManifest(repository, tag, index);
    return index;
  }
}

/**
 * An OCI image layout on disk (oci-layout, index.json, blobs/sha256/…) holding `images` under `tag`: one
 * image as itself, several as an index of them. skopeo copies it with `oci:<folder>:<tag>`.
 */
export const writeOciLayout = async (
  folder: string,
  tag: string,
  images: readonly BuiltImage[],
): Promise<void> => {
  const blobs = join(folder, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const top = images.length === 1 && images[0] ? images[0].manifest : buildIndex(images);
  for (const item of [top, ...images.flatMap((image) => [image.manifest, ...image.blobs])]) {
    await writeFile(join(blobs, item.digest.slice('sha256:'.length)), item.bytes);
  }
  await writeFile(join(folder, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(folder, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...descriptor(top), annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
};
