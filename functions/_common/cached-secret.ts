/**
 * A value read from a Secrets Manager secret, cached for a while: a rotated secret is picked up
 * within the cache time, or at once after `invalidate()`. A failed read is not cached.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export class CachedSecret<T> {
  private cached: { value: Promise<T>; until: number } | undefined;

  /** `parse` reads the value from the secret string (throwing, with a clear message, when absent). */
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly parse: (secret: string, secretId: string) => T,
    private readonly cacheMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const now = this.now();
    if (this.cached === undefined || this.cached.until <= now) {
      const value = this.client
        .send(new GetSecretValueCommand({ SecretId: this.secretId }))
        .then((result) => this.parse(result.SecretString ?? '', this.secretId));
      this.cached = { value, until: now + this.cacheMs };
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
