/**
 * A local Slack Socket Mode endpoint, speaking the protocol @slack/socket-mode uses:
 * - `POST /api/apps.connections.open` with the app-level token (`Authorization: Bearer xapp-…`)
 *   answers `{ ok: true, url: "ws://…/link?ticket=…" }` (any other token: `invalid_auth`);
 * - on that WebSocket the server says `{"type":"hello",…}`, then sends envelopes
 *   (`{"envelope_id","type":"interactive","payload",…}`) and waits for the client's ack
 *   (`{"envelope_id":…}`), as Slack does before it considers an event delivered.
 * The WebSocket server is the `ws` package (already in node_modules, through the Kubernetes client).
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

interface WsSocket {
  send(data: string): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  close(): void;
  terminate(): void;
}
interface WsServer {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, done: (ws: WsSocket) => void): void;
  close(): void;
}

const { WebSocketServer } = require('ws') as {
  WebSocketServer: new (options: { noServer: true }) => WsServer;
};

export class FakeSocketMode {
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets: WsSocket[] = [];
  private readonly waiting = new Map<string, (ackedAt: number) => void>();
  private connected: (() => void) | undefined;
  readonly connection: Promise<void>;
  readonly opened: Array<{ token: string | undefined }> = [];
  readonly acks: Array<{ envelope_id: string; payload?: unknown }> = [];

  constructor(readonly appToken: string) {
    this.connection = new Promise((resolve) => (this.connected = resolve));
  }

  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  private get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!request.url?.startsWith('/link')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.sockets.push(ws);
        ws.on('message', (data) => {
          const ack = JSON.parse(data.toString()) as { envelope_id: string; payload?: unknown };
          this.acks.push(ack);
          this.waiting.get(ack.envelope_id)?.(performance.now());
          this.waiting.delete(ack.envelope_id);
        });
        ws.send(
          JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0PULLWATCH' } }),
        );
        this.connected?.();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      this.opened.push({ token });
      response.writeHead(200, { 'content-type': 'application/json' });
      if (!request.url?.startsWith('/api/apps.connections.open')) {
        response.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
      } else if (token !== this.appToken) {
        response.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
      } else {
        response.end(
          JSON.stringify({
            ok: true,
            url: `${this.origin.replace('http', 'ws')}/link?ticket=${randomUUID()}`,
          }),
        );
      }
    });
  }

  /** Sends an interactive envelope; resolves with the milliseconds until the client acked it. */
  deliver(payload: unknown): Promise<number> {
    const socket = this.sockets[this.sockets.length - 1];
    if (socket === undefined) throw new Error('no Socket Mode connection');
    const envelopeId = randomUUID();
    const sentAt = performance.now();
    const acked = new Promise<number>((resolve) =>
      this.waiting.set(envelopeId, (at) => resolve(at - sentAt)),
    );
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: 'interactive',
        payload,
        accepts_response_payload: false,
      }),
    );
    return acked;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
