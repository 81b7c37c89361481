/**
 * A test Slack client for interactivity: what Slack sends when someone clicks a control on a posted
 * message. It reads the control's action_id and value from the message's own blocks (as Slack
 * does), builds a real `block_actions` payload, form-encodes it as `payload=…` and signs it as Slack
 * signs requests: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))` with
 * `X-Slack-Request-Timestamp: {ts}`.
 */
import { createHmac } from 'node:crypto';

export interface SlackUser {
  id: string;
  username: string;
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

interface PostedMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  blocks?: unknown[];
}

interface Element {
  type: string;
  action_id: string;
  value?: string;
  options?: Array<{ value: string; text: { text: string } }>;
}

let actionSequence = 0;

export class SlackInteractionClient {
  constructor(
    readonly signingSecret: string,
    readonly teamId = 'T0PULLWATCH',
    readonly appId = 'A0PULLWATCH',
  ) {}

  /** The controls on a message, as Slack shows them. */
  controls(message: PostedMessage): Element[] {
    const actions = (message.blocks ?? []).filter(
      (block): block is { type: 'actions'; elements: Element[] } =>
        (block as { type?: string }).type === 'actions',
    );
    return actions.flatMap((block) => block.elements);
  }

  /**
   * The payload of a click on the control `actionId` (for a select: the option whose text is
   * `option`). Throws when the message has no such control (a test of a control that is not there).
   */
  click(
    message: PostedMessage,
    actionId: string,
    user: SlackUser,
    options: { option?: string; nowMs: number; teamId?: string; appId?: string },
  ): Record<string, unknown> {
    const element = this.controls(message).find((candidate) => candidate.action_id === actionId);
    if (element === undefined) throw new Error(`no control ${actionId} on message ${message.ts}`);
    const chosen =
      element.type === 'static_select'
        ? element.options?.find((candidate) => candidate.text.text === options.option)
        : undefined;
    if (element.type === 'static_select' && chosen === undefined)
      throw new Error(`no option ${options.option}`);
    const actionTs = `${Math.floor(options.nowMs / 1000)}.${String(++actionSequence).padStart(6, '0')}`;
    return {
      type: 'block_actions',
      user: {
        id: user.id,
        username: user.username,
        name: user.username,
        team_id: options.teamId ?? this.teamId,
      },
      api_app_id: options.appId ?? this.appId,
      token: 'deprecated-verification-token',
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: message.channel,
        is_ephemeral: false,
        ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
      },
      trigger_id: `${actionSequence}.1234.abcdef`,
      team: { id: options.teamId ?? this.teamId, domain: 'example' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: message.channel, name: 'alerts' },
      message: { type: 'message', ts: message.ts, blocks: message.blocks ?? [] },
      state: { values: {} },
      response_url: 'https://hooks.slack.com/actions/T0PULLWATCH/1/xyz',
      actions: [
        element.type === 'static_select'
          ? {
              type: 'static_select',
              action_id: element.action_id,
              block_id: 'pullwatch_controls',
              selected_option: chosen,
              action_ts: actionTs,
            }
          : {
              type: 'button',
              action_id: element.action_id,
              block_id: 'pullwatch_controls',
              text: { type: 'plain_text', text: 'x' },
              value: element.value,
              action_ts: actionTs,
            },
      ],
    };
  }

  /** The form body Slack posts: `payload=<url-encoded JSON>`. */
  body(payload: unknown): string {
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  /** Signs a body as Slack does, at `timestampSeconds` (with another secret: a forgery). */
  sign(body: string, timestampSeconds: number, secret = this.signingSecret): SignedRequest {
    const signature = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
    return {
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestampSeconds),
        'x-slack-signature': `v0=${signature}`,
      },
    };
  }

  /** A click, signed now. */
  signedClick(
    message: PostedMessage,
    actionId: string,
    user: SlackUser,
    options: { option?: string; nowMs: number; teamId?: string },
  ): SignedRequest {
    return this.sign(
      this.body(this.click(message, actionId, user, options)),
      Math.floor(options.nowMs / 1000),
    );
  }
}
