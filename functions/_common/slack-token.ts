/**
 * The Slack bot token, from AWS Secrets Manager, cached for a while (a rotated secret is picked up
 * within the cache time, or at once after Slack rejects the old token).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedSecret } from './cached-secret';

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
  private readonly secret: CachedSecret<string>;
  readonly refreshable = true;

  constructor(client: SecretsManagerClient, secretId: string, cacheMs?: number, now?: () => number) {
    this.secret = new CachedSecret(
      client,
      secretId,
      (text, id) => {
        if (text.trim() === '') throw new SlackTokenMissing(`secret ${id} has no SecretString`);
        return tokenFromSecret(text);
      },
      cacheMs,
      now,
    );
  }

  token(): Promise<string> {
    return this.secret.get();
  }

  invalidate(): void {
    this.secret.invalidate();
  }
}
