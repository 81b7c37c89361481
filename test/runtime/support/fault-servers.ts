// Loopback endpoints around the real registry: misbehaving ones, each fault on its own port (so a client's
// first request, containerd's manifest HEAD or containers/image's /v2/ ping, already meets the fault), a
// silent one, and TLS terminators in front of the registry with chosen certificates.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { buildImage, hostPlatform } from './oci-image';

export const FAULTS = [
  'forbidden',
  'rate-limited',
  'rate-limited-manifest',
  'internal-error',
  'bad-gateway',
  'service-unavailable',
  'connection-reset',
  'truncated-manifest',
  'hub-denied',
] as const;

export type Fault = (typeof FAULTS)[number];

/** A manifest the fault servers can describe in HEAD answers before they misbehave on the GET. */
const decoy = buildImage(hostPlatform(), 'decoy').manifest;

const errorsBody = (code: string, message: string, detail?: unknown): string =>
  JSON.stringify({ errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] });

/** A registry API answer: JSON with Distribution's version header. */
export const json = (
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) => {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'docker-distribution-api-version': 'registry/2.0',
    ...headers,
  });
  response.end(body);
};

const RATE_LIMIT_MESSAGE =
  'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit';

/** What a manifest request path names: /v2/<repository>/manifests/<reference>. */
const manifestRequest = (url: string): { repository: string; reference: string } | undefined => {
  const match = /^\/v2\/(.+)\/manifests\/([^/?]+)/.exec(url);
  return match?.[1] && match[2] ? { repository: match[1], reference: match[2] } : undefined;
};

const describeDecoy = (response: ServerResponse): void => {
  response.writeHead(200, {
    'content-type': decoy.mediaType,
    'content-length': String(decoy.size),
    'docker-content-digest': decoy.digest,
    'docker-distribution-api-version': 'registry/2.0',
  });
};

const handlers: Record<Fault, (request: IncomingMessage, response: ServerResponse, origin: string) => void> =
  {
    forbidden: (_request, response) =>
      json(response, 403, errorsBody('DENIED', 'requested access to the resource is denied')),

    // Every request, the /v2/ ping and the manifest HEAD included, is refused with 429.
    'rate-limited': (_request, response) =>
      json(response, 429, errorsBody('TOOMANYREQUESTS', RATE_LIMIT_MESSAGE), { 'retry-after': '1' }),

    // Docker Hub's pattern: HEAD requests are free, the manifest GET hits the pull limit.
    'rate-limited-manifest': (request, response) => {
      if (request.method === 'HEAD' && manifestRequest(request.url ?? '')) {
        describeDecoy(response);
        response.end();
        return;
      }
      if (request.url === '/v2/' || request.url === '/v2') {
        json(response, 200, '{}');
        return;
      }
      json(response, 429, errorsBody('TOOMANYREQUESTS', RATE_LIMIT_MESSAGE), { 'retry-after': '1' });
    },

    'internal-error': (_request, response) =>
      json(response, 500, errorsBody('UNKNOWN', 'unknown error', { reason: 'storage backend failure' })),

    'bad-gateway': (_request, response) => {
      const body =
        '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
      response.writeHead(502, {
        'content-type': 'text/html',
        'content-length': String(Buffer.byteLength(body)),
      });
      response.end(body);
    },

    'service-unavailable': (_request, response) =>
      json(response, 503, errorsBody('UNAVAILABLE', 'service unavailable'), { 'retry-after': '1' }),

    // TCP RST as soon as the request arrives.
    'connection-reset': (request) => request.socket.resetAndDestroy(),

    // The manifest is announced in full, then the connection closes half-way through the body.
    'truncated-manifest': (request, response) => {
      const manifest = manifestRequest(request.url ?? '');
      if (!manifest) {
        json(response, 200, '{}');
        return;
      }
      describeDecoy(response);
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      response.write(decoy.bytes.subarray(0, Math.floor(decoy.size / 2)), () => request.socket.destroy());
    },

    // Docker Hub's answer for a repository that does not exist, or is private: anonymous token, then
    // 401 insufficient_scope.
    'hub-denied': (request, response, origin) => {
      const url = request.url ?? '';
      if (url.startsWith('/token')) {
        json(
          response,
          200,
          JSON.stringify({ token: 'anonymous', access_token: 'anonymous', expires_in: 300 }),
        );
        return;
      }
      const repository = manifestRequest(url)?.repository ?? 'library/unknown';
      const challenge = `Bearer realm="${origin}/token",service="registry.pullwatch.test",scope="repository:${repository}:pull"`;
      const authorized = (request.headers.authorization ?? '').startsWith('Bearer ');
      json(
        response,
        401,
        errorsBody('UNAUTHORIZED', 'authentication required', [
          { Type: 'repository', Class: '', Name: repository, Action: 'pull' },
        ]),
        { 'www-authenticate': authorized ? `${challenge},error="insufficient_scope"` : challenge },
      );
    },
  };

export interface Endpoints {
  /** host:port of each fault server. */
  faults: Record<Fault, string>;
  /** Accepts TCP connections and never writes a byte: no HTTP answer, no TLS handshake. */
  silent: number;
  /** Starts a TLS terminator presenting `cert` in front of a plain-HTTP port; returns its own port. */
  tlsProxy(cert: { cert: Buffer; key: Buffer }, targetPort: number): Promise<number>;
  stop(): Promise<void>;
}

const listen = (server: Server | NetServer): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('server has no port'));
    });
  });

/** Servers that remember their sockets, so stopping them never waits on a hung client. */
class ServerSet {
  private readonly servers: (Server | NetServer)[] = [];
  private readonly sockets = new Set<Socket>();

  track<T extends Server | NetServer>(server: T): T {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.servers.push(server);
    return server;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

const tlsProxy = (cert: { cert: Buffer; key: Buffer }, targetPort: number) => {
  const server = createTlsServer({ cert: cert.cert, key: cert.key }, (clientSide) => {
    const registrySide = connect(targetPort, '127.0.0.1');
    clientSide.pipe(registrySide).pipe(clientSide);
    const close = (): void => {
      clientSide.destroy();
      registrySide.destroy();
    };
    clientSide.on('error', close);
    registrySide.on('error', close);
  });
  // A failed handshake (the client distrusts the certificate) is the point of some scenarios.
  server.on('tlsClientError', () => undefined);
  return server;
};

export const startEndpoints = async (): Promise<Endpoints> => {
  const servers = new ServerSet();
  const faults = {} as Record<Fault, string>;
  for (const fault of FAULTS) {
    let origin = '';
    const server = servers.track(
      createHttpServer((request, response) => handlers[fault](request, response, origin)),
    );
    const port = await listen(server);
    origin = `http://127.0.0.1:${port}`;
    faults[fault] = `127.0.0.1:${port}`;
  }
  const silent = await listen(servers.track(createNetServer(() => undefined)));
  return {
    faults,
    silent,
    tlsProxy: (cert, targetPort) => listen(servers.track(tlsProxy(cert, targetPort))),
    stop: () => servers.close(),
  };
};
