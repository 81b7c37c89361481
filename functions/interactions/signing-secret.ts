/**
 * The Slack app's signing secret, from the Secrets Manager secret that holds the bot token (a JSON
 * field next to it), cached like the token.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedSecret } from '../_common/cached-secret';

export interface SigningSecretSource {
  signingSecret(): Promise<string>;
}

export class SigningSecretMissing extends Error {
  override readonly name = 'SigningSecretMissing';
}

/** The secret is JSON with `signingSecret` (or `SLACK_SIGNING_SECRET`) beside the token. */
export const signingSecretFromSecret = (secret: string): string => {
  const text = secret.trim();
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const field of ['signingSecret', 'SLACK_SIGNING_SECRET']) {
      const value = parsed[field];
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
    }
  }
  throw new SigningSecretMissing(
    'the Slack secret has no signingSecret field: put JSON {"token": "xoxb-…", "signingSecret": "…"}',
  );
};

export class SecretsManagerSigningSecret implements SigningSecretSource {
  private readonly secret: CachedSecret<string>;

  constructor(client: SecretsManagerClient, secretId: string, cacheMs?: number, now?: () => number) {
    this.secret = new CachedSecret(client, secretId, signingSecretFromSecret, cacheMs, now);
  }

  signingSecret(): Promise<string> {
    return this.secret.get();
  }
}

/** A secret given directly (local mode: SLACK_SIGNING_SECRET). */
export const fixedSigningSecret = (value: string): SigningSecretSource => ({
  signingSecret: () => Promise.resolve(value),
});
