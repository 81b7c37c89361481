/**
 * Is a request Slack's? Slack signs each request to the interactivity URL: `X-Slack-Signature:
 * v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}" with the signing secret>`.
 * The signature is checked by Slack's own code (@slack/bolt's verifySlackRequest, compared in
 * constant time with tsscmp), imported from its module alone: the package's entry point pulls in
 * express and the Web API client (2 MB bundled) where this needs 2 KB.
 *
 * Checked here too, before and around it: the body's size (before anything is parsed), a timestamp
 * in the future (Bolt refuses only the past), and which team and app sent it (after the signature:
 * nothing unsigned is read).
 */
import { verifySlackRequest } from '@slack/bolt/dist/receivers/verify-request';

export interface SlackRequest {
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body, exactly as sent (the signature covers its bytes). */
  body: string;
}

export type RefusalReason =
  | 'too-large'
  | 'unsigned'
  | 'stale'
  | 'signature'
  | 'malformed'
  | 'team'
  | 'app'
  | 'unknown-action'
  | 'not-allowed';

export interface Refusal {
  status: 400 | 401 | 403 | 413;
  reason: RefusalReason;
}

/** Slack's own limit: a timestamp more than 5 minutes off is refused. */
export const MAX_SKEW_SECONDS = 300;

export const verifySignature = (
  request: SlackRequest,
  options: { signingSecret: string; now: number; maxBodyBytes: number },
): Refusal | undefined => {
  if (Buffer.byteLength(request.body, 'utf8') > options.maxBodyBytes)
    return { status: 413, reason: 'too-large' };
  const timestamp = request.headers['x-slack-request-timestamp'];
  const signature = request.headers['x-slack-signature'];
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp))
    return { status: 401, reason: 'unsigned' };
  const seconds = Number(timestamp);
  if (Math.abs(options.now / 1000 - seconds) > MAX_SKEW_SECONDS) return { status: 401, reason: 'stale' };
  try {
    verifySlackRequest({
      signingSecret: options.signingSecret,
      body: request.body,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': seconds },
      nowMilliseconds: options.now,
    });
  } catch {
    return { status: 401, reason: 'signature' };
  }
  return undefined;
};
