/**
 * The HTTP server behind each fake peer (test/support/fake-*.ts, the local Secrets Manager): on
 * 127.0.0.1, on a free port, and stopped with every connection dropped, hanging or streaming ones
 * included. With the helpers the fakes share to read requests and answer in AWS's JSON protocol.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';

export abstract class LocalServer {
  private server: Server | undefined;

  /** `serverName` is how errors call the fake (e.g. "fake Slack"); with `tls`, it serves HTTPS. */
  constructor(
    private readonly serverName: string,
    private readonly tls?: { cert: Buffer; key: Buffer },
  ) {}

  protected abstract handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;

  /** `http(s)://127.0.0.1:<port>`, once started. */
  get origin(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error(`${this.serverName} is not listening`);
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    const listener = (request: IncomingMessage, response: ServerResponse) =>
      void this.handle(request, response);
    this.server = this.tls ? createHttpsServer(this.tls, listener) : createServer(listener);
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }
}

/** A request's body, as text. */
export const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** An answer in the AWS JSON 1.1 protocol; an error names its type in `x-amzn-errortype`. */
export const sendAwsJson = (
  response: ServerResponse,
  status: number,
  body: unknown,
  errorType?: string,
): void => {
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  response.end(JSON.stringify(body));
};

/** A port on 127.0.0.1 that was free a moment ago, for a process that listens on it itself. */
export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
