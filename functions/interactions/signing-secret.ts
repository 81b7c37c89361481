/**
 * The Slack app's signing secret, from the Secrets Manager secret that holds the bot token (a JSON
 * field next to it), cached like the token.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

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
  private cached: { value: Promise<string>; until: number } | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly cacheMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  signingSecret(): Promise<string> {
    const now = this.now();
    if (this.cached === undefined || this.cached.until <= now) {
      const value = this.client
        .send(new GetSecretValueCommand({ SecretId: this.secretId }))
        .then((result) => signingSecretFromSecret(result.SecretString ?? ''));
      this.cached = { value, until: now + this.cacheMs };
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }
}

/** A secret given directly (local mode: SLACK_SIGNING_SECRET). */
export const fixedSigningSecret = (value: string): SigningSecretSource => ({
  signingSecret: () => Promise.resolve(value),
});
