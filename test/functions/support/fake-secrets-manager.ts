/**
 * A local Secrets Manager endpoint for GetSecretValue (AWS JSON 1.1,
 * `X-Amz-Target: secretsmanager.GetSecretValue`), so the real client can fetch the Slack token.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeSecretsManager {
  readonly secrets = new Map<string, string>();
  /** GetSecretValue calls received. */
  reads = 0;
  private server: Server | undefined;

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('fake Secrets Manager is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const send = (status: number, body: unknown, errorType?: string) => {
          response.writeHead(status, {
            'content-type': 'application/x-amz-json-1.1',
            ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
          });
          response.end(JSON.stringify(body));
        };
        if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
          send(400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
          return;
        }
        this.reads++;
        const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
        const value = this.secrets.get(SecretId);
        if (value === undefined) {
          const type = 'ResourceNotFoundException';
          send(400, { __type: type, Message: "Secrets Manager can't find the specified secret." }, type);
          return;
        }
        send(200, { ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1' });
      });
    });
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
