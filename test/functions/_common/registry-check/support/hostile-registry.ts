/**
 * Registries that misbehave on purpose, one behaviour per server (the check's first request, the /v2/
 * ping, already meets it), a canary that must never be reached, and a front that pages `tags/list` with
 * `n` and `Link` as Distribution 3, Docker Hub and GHCR do (Debian's Distribution 2.8 ignores `n`).
 * Every server keeps the requests it received, so a test can prove what was and was not contacted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { json as registryAnswer } from '../../../../runtime/support/fault-servers';
import { LocalServer } from '../../../../support/local-server';

export const HOSTILE_BEHAVIOURS = [
  'metadata-realm',
  'plain-http-realm',
  'redirect-elsewhere',
  'link-elsewhere',
  'huge-tag-list',
  'slow-ping',
  'slow-everything',
] as const;
export type HostileBehaviour = (typeof HOSTILE_BEHAVIOURS)[number];

/** A registry API answer with a JSON body. */
const json = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => registryAnswer(response, status, JSON.stringify(body), headers);

const unknownManifest = (response: ServerResponse) =>
  json(response, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });

/** A server that records every request and answers nothing useful. */
export class RecordingServer extends LocalServer {
  readonly requests: string[] = [];

  constructor(name = 'canary') {
    super(name);
  }

  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    json(response, 200, { token: 'canary-token', tags: ['canary'] });
  }
}

export class HostileRegistry extends RecordingServer {
  constructor(
    private readonly behaviour: HostileBehaviour,
    private readonly canary: RecordingServer,
  ) {
    super(`hostile registry (${behaviour})`);
  }

  get host(): string {
    return new URL(this.origin).host;
  }

  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    const url = request.url ?? '/';
    const canary = this.canary.origin;
    switch (this.behaviour) {
      case 'metadata-realm':
        return json(
          response,
          401,
          { errors: [{ code: 'UNAUTHORIZED' }] },
          {
            'www-authenticate':
              'Bearer realm="https://169.254.169.254/latest/meta-data/iam/security-credentials/",service="x"',
          },
        );
      case 'plain-http-realm':
        return json(
          response,
          401,
          { errors: [{ code: 'UNAUTHORIZED' }] },
          {
            'www-authenticate': `Bearer realm="${canary}/token",service="x"`,
          },
        );
      case 'redirect-elsewhere':
        if (url === '/v2/') return json(response, 200, {});
        response.writeHead(307, { location: `${canary}${url}` });
        return void response.end();
      case 'link-elsewhere':
        if (url === '/v2/') return json(response, 200, {});
        if (url.includes('/manifests/')) return unknownManifest(response);
        return json(
          response,
          200,
          { name: 'acme/app', tags: ['1.0.0'] },
          {
            link: `<${canary}/v2/acme/app/tags/list?n=1&last=1.0.0>; rel="next"`,
          },
        );
      case 'huge-tag-list': {
        if (url === '/v2/') return json(response, 200, {});
        if (url.includes('/manifests/')) return unknownManifest(response);
        // Streamed without a length, so only counting the bytes read can stop it.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"name":"acme/app","tags":[');
        const chunk = `${'"t",'.repeat(16_384)}`;
        let sent = 0;
        const pump = (): void => {
          while (sent < 400 && response.write(chunk)) sent++;
          if (sent < 400) response.once('drain', pump);
          else response.end('"last"]}');
        };
        return pump();
      }
      case 'slow-ping':
        return void setTimeout(() => json(response, 200, {}), 3_000).unref();
      case 'slow-everything':
        // Each answer inside the 2 s request limit; together they pass the 5 s check limit.
        return void setTimeout(
          () => (url === '/v2/' ? json(response, 200, {}) : unknownManifest(response)),
          1_800,
        ).unref();
    }
  }
}

/** Accepts connections and never says a word. */
export class SilentServer {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  connections = 0;

  get host(): string {
    return `127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** In front of a real registry: pages `tags/list` by `n` and `last`, passes everything else through. */
export class PagingFront extends LocalServer {
  readonly tagPages: string[] = [];
  readonly requests: string[] = [];
  /** While set, every request waits for it: a registry as slow as a test wants. */
  hold: Promise<void> | undefined;

  constructor(private readonly registryOrigin: string) {
    super('paging front');
  }

  get host(): string {
    return new URL(this.origin).host;
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests.push(`${request.method} ${request.url}`);
    await this.hold;
    const url = new URL(request.url ?? '/', this.registryOrigin);
    const upstream = await fetch(new URL(url.pathname, this.registryOrigin), {
      method: request.method ?? 'GET',
      headers: { accept: String(request.headers.accept ?? '*/*') },
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (!url.pathname.endsWith('/tags/list') || upstream.status !== 200) {
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-encoding', 'transfer-encoding', 'connection'].includes(name)) headers[name] = value;
      });
      response.writeHead(upstream.status, headers);
      return void response.end(request.method === 'HEAD' ? undefined : body);
    }
    this.tagPages.push(url.search);
    const { name, tags } = JSON.parse(body.toString('utf8')) as { name: string; tags: string[] };
    const sorted = [...tags].sort();
    const n = Number(url.searchParams.get('n') ?? sorted.length);
    const last = url.searchParams.get('last');
    const start = last === null ? 0 : sorted.findIndex((tag) => tag > last);
    const page = start === -1 ? [] : sorted.slice(start, start + n);
    const more = start !== -1 && start + n < sorted.length;
    json(
      response,
      200,
      { name, tags: page },
      more
        ? {
            link: `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1] ?? '')}>; rel="next"`,
          }
        : {},
    );
  }
}
