/**
 * A local Secrets Manager endpoint for GetSecretValue (AWS JSON 1.1,
 * `X-Amz-Target: secretsmanager.GetSecretValue`), so the real client can fetch the Slack token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer, readBody, sendAwsJson } from '../../support/local-server';

export class FakeSecretsManager extends LocalServer {
  readonly secrets = new Map<string, string>();
  /** GetSecretValue calls received. */
  reads = 0;

  constructor() {
    super('fake Secrets Manager');
  }

  get endpoint(): string {
    return this.origin;
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      sendAwsJson(response, 400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
      return;
    }
    this.reads++;
    const { SecretId } = JSON.parse(body) as { SecretId: string };
    const value = this.secrets.get(SecretId);
    if (value === undefined) {
      const type = 'ResourceNotFoundException';
      sendAwsJson(
        response,
        400,
        { __type: type, Message: "Secrets Manager can't find the specified secret." },
        type,
      );
      return;
    }
    sendAwsJson(response, 200, { ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1' });
  }
}
