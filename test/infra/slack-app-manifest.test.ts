/**
 * The Slack app manifest (infra/slack-app-manifest.yaml) grants a bot scope for every Web API
 * method the functions call (functions/_common/notifier.ts): an app created from it can do all
 * pullwatch does, the mute allow-list's user groups included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/synth';

/** The scope each method needs (https://api.slack.com/methods); a method missing here fails the test. */
const SCOPE_OF_METHOD: Record<string, string[]> = {
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.list': ['channels:read', 'groups:read'],
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'usergroups.users.list': ['usergroups:read'],
};

const botScopes = (manifest: string): string[] => {
  const bot = manifest.slice(manifest.indexOf('    bot:'), manifest.indexOf('\nsettings:'));
  return [...bot.matchAll(/^\s+- ([a-z_:.]+)\s*$/gm)].map((match) => match[1]!);
};

test('every Web API method the functions call has its bot scope in the manifest', () => {
  const manifest = readFileSync(join(ROOT, 'infra', 'slack-app-manifest.yaml'), 'utf8');
  const notifier = readFileSync(join(ROOT, 'functions', '_common', 'notifier.ts'), 'utf8');
  // Every quoted Web API method name (`'chat.postMessage'`…) in the client.
  const called = [
    ...new Set(
      [
        ...notifier.matchAll(/'((?:auth|chat|conversations|usergroups|users|reactions|files)\.[a-zA-Z.]+)'/g),
      ].map((match) => match[1]!),
    ),
  ].sort();
  expect(called).toContain('usergroups.users.list');
  const scopes = botScopes(manifest);
  for (const name of called) {
    expect({ method: name, known: SCOPE_OF_METHOD[name] !== undefined }).toEqual({
      method: name,
      known: true,
    });
    for (const scope of SCOPE_OF_METHOD[name]!)
      expect({ method: name, scopes }).toEqual({
        method: name,
        scopes: expect.arrayContaining([scope]),
      });
  }
});
