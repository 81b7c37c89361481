/**
 * Actions from Slack in local mode, by one of two ways in (the same checks and worker as in AWS):
 * - Socket Mode, with SLACK_APP_TOKEN (`xapp-…`): @slack/socket-mode opens the app's WebSocket
 *   (apps.connections.open), so a laptop needs no public URL; each envelope is acknowledged at once
 *   and its actions go on the local bus;
 * - HTTP, with SLACK_SIGNING_SECRET and PULLWATCH_INTERACTIONS_PORT: Slack's request URL at
 *   `POST /slack/events` (the Bolt convention), for use behind a tunnel; every request is verified
 *   like the Lambda's.
 * The worker (functions/actions) runs on the local bus's `interactions` rule (local/pipeline.ts).
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogLevel, SocketModeClient } from '@slack/socket-mode';
import { type Env, TEXT, group, integer, optional } from '#shared/config-table';
import type { MuteAllowList } from '#shared/incident-actions';
import type { EventPublisher } from '../functions/_common/event-publisher';
import type { Log, PipelineMetrics } from '../functions/_common/observability';
import {
  APP_IDS_VARIABLE,
  MAX_BODY_BYTES,
  SLACK_MUTE_USERS,
  TEAM_IDS_VARIABLE,
} from '../functions/interactions/config';
import {
  type AcceptDeps,
  acceptPayload,
  createInteractionReceiver,
  enqueueOnBus,
} from '../functions/interactions/receive';
import { fixedSigningSecret } from '../functions/interactions/signing-secret';

export const localInteractionSettings = group({
  appToken: optional({
    name: 'SLACK_APP_TOKEN',
    purpose: 'Slack app-level token (xapp-…, connections:write): Socket Mode',
    kind: TEXT,
  }),
  signingSecret: optional({
    name: 'SLACK_SIGNING_SECRET',
    purpose: "the Slack app's signing secret: verifies requests to POST /slack/events",
    kind: TEXT,
  }),
  port: optional({
    name: 'PULLWATCH_INTERACTIONS_PORT',
    purpose: 'port of the local Slack request URL (POST /slack/events), behind a tunnel',
    kind: integer(0),
  }),
  teamIds: optional(TEAM_IDS_VARIABLE),
  appIds: optional(APP_IDS_VARIABLE),
  muteAllowList: SLACK_MUTE_USERS,
  maxBodyBytes: MAX_BODY_BYTES,
});

/** Whether this environment takes actions from Slack (messages then carry controls). */
export const interactionsConfigured = (env: Env): boolean => {
  const config = localInteractionSettings.read(env);
  return config.appToken !== undefined || (config.signingSecret !== undefined && config.port !== undefined);
};

/** The actions worker's allow-list (the same variable the endpoint reads). */
export const muteSettingsOf = (env: Env): { muteAllowList?: MuteAllowList } => {
  const { muteAllowList } = localInteractionSettings.read(env);
  return muteAllowList === undefined ? {} : { muteAllowList };
};

export interface LocalInteractionsOptions {
  env: Env;
  publisher: EventPublisher;
  log: Log;
  metrics: PipelineMetrics;
  now?: () => Date;
  /** The Web API base URL (a test server); Slack's by default. */
  slackApiUrl?: string;
  /** The HTTP server's address (127.0.0.1 by default: the tunnel connects to it). */
  host?: string;
}

export interface LocalInteractions {
  mode: 'socket' | 'http';
  /** For HTTP: the request URL to give the tunnel. */
  url?: string;
  stop(): Promise<void>;
}

const readLimited = (request: IncomingMessage, max: number): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Over the limit: stop keeping it (the verifier refuses it by size), but read to the end.
      if (size <= max + 1) chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

export const startLocalInteractions = async (
  options: LocalInteractionsOptions,
): Promise<LocalInteractions | undefined> => {
  const config = localInteractionSettings.read(options.env);
  const now = options.now ?? (() => new Date());
  const deps: AcceptDeps = {
    config: {
      maxBodyBytes: config.maxBodyBytes,
      ...(config.teamIds === undefined ? {} : { teamIds: config.teamIds }),
      ...(config.appIds === undefined ? {} : { appIds: config.appIds }),
      ...(config.muteAllowList === undefined ? {} : { muteAllowList: config.muteAllowList }),
    },
    enqueue: enqueueOnBus(options.publisher),
    metrics: options.metrics,
    log: options.log,
    now,
  };

  if (config.appToken !== undefined) {
    const socket = new SocketModeClient({
      appToken: config.appToken,
      logLevel: LogLevel.ERROR,
      clientOptions: {
        ...(options.slackApiUrl === undefined ? {} : { slackApiUrl: options.slackApiUrl }),
      },
    });
    socket.on('interactive', async ({ ack, body }: { ack: () => Promise<void>; body: unknown }) => {
      // Acknowledged first: Slack waits 3 s at most, and a retry is harmless (idempotent).
      await ack();
      try {
        await acceptPayload(deps, body, now().getTime());
      } catch (error) {
        options.log.warn('Slack action not taken', {
          errorMessage: error instanceof Error ? error.message : String(error),
        });
      }
    });
    await socket.start();
    return {
      mode: 'socket',
      stop: async () => {
        await socket.disconnect();
      },
    };
  }

  if (config.signingSecret !== undefined && config.port !== undefined) {
    const receive = createInteractionReceiver({ ...deps, secret: fixedSigningSecret(config.signingSecret) });
    const server: Server = createServer((request, response) => {
      void (async () => {
        if (request.method !== 'POST' || request.url?.split('?')[0] !== '/slack/events') {
          response.writeHead(404).end();
          return;
        }
        try {
          const body = await readLimited(request, config.maxBodyBytes);
          const headers = Object.fromEntries(
            Object.entries(request.headers).map(([name, value]) => [
              name,
              Array.isArray(value) ? value[0] : value,
            ]),
          );
          const answer = await receive({ headers, body: body ?? '' });
          response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
        } catch (error) {
          options.log.warn('Slack request failed', {
            errorMessage: error instanceof Error ? error.message : String(error),
          });
          response.writeHead(500).end();
        }
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return {
      mode: 'http',
      url: `http://${options.host ?? '127.0.0.1'}:${port}/slack/events`,
      stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  return undefined;
};
