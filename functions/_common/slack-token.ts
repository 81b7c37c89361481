/**
 * The Slack bot token, from AWS Secrets Manager, cached for a while (a rotated secret is picked up
 * within the cache time, or at once after Slack rejects the old token).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface TokenSource {
  token(): Promise<string>;
  /** Forgets the cached token (Slack said it is invalid). */
  invalidate(): void;
  /** Whether a token read after invalidate() may differ (a secret that can be rotated). */
  readonly refreshable?: boolean;
}

export class SlackTokenMissing extends Error {
  override readonly name = 'SlackTokenMissing';
}

/** The secret is the token itself, or JSON with `token`, `botToken` or `SLACK_BOT_TOKEN`. */
export const tokenFromSecret = (secret: string): string => {
  const text = secret.trim();
  if (!text.startsWith('{')) return text;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  for (const field of ['token', 'botToken', 'SLACK_BOT_TOKEN']) {
    const value = parsed[field];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  throw new SlackTokenMissing('the secret is JSON without a token, botToken or SLACK_BOT_TOKEN field');
};

export class SecretsManagerTokenSource implements TokenSource {
  private cached: { token: Promise<string>; until: number } | undefined;
  readonly refreshable = true;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly cacheMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  token(): Promise<string> {
    const now = this.now();
    if (this.cached === undefined || this.cached.until <= now) {
      const token = this.fetch();
      this.cached = { token, until: now + this.cacheMs };
      // A failed fetch is not cached: the next call tries again.
      token.catch(() => {
        if (this.cached?.token === token) this.cached = undefined;
      });
    }
    return this.cached.token;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<string> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    if (result.SecretString === undefined || result.SecretString.trim() === '') {
      throw new SlackTokenMissing(`secret ${this.secretId} has no SecretString`);
    }
    return tokenFromSecret(result.SecretString);
  }
}
