/**
 * Which channel an incident goes to. Pure.
 *
 * 1. `pullwatch.io/mute: "true"` on the pod: the incident is recorded, nothing is posted.
 * 2. `pullwatch.io/slack-channel` on the pod: that channel (an id like C0123ABCD, or a name).
 * 3. The first configured rule whose cluster and namespace globs match (`*` any run, `?` one character).
 * 4. The default channel.
 *
 * Messages about a whole cluster (the watchdog's) follow the rules that name no namespace. The
 * functions and local mode read the channel and the rules from the same variables (the kinds below).
 */
import { InvalidValue, type Setting, type ValueKind, withDefault } from '#shared/config-table';
import { ANNOTATION_PREFIX } from '#shared/contract';
import type { Incident } from '#shared/incident';

export const CHANNEL_ANNOTATION = `${ANNOTATION_PREFIX}slack-channel`;
export const MUTE_ANNOTATION = `${ANNOTATION_PREFIX}mute`;

export interface RouteRule {
  cluster?: string;
  namespace?: string;
  channel: string;
}

export interface RoutingConfig {
  defaultChannel: string;
  rules: readonly RouteRule[];
}

export type Route =
  | { muted: false; channel: string; reason: 'annotation' | 'rule' | 'default' }
  | { muted: true; reason: 'annotation' };

/** A channel id, or a channel name as Slack allows it (lowercase letters, digits, - _ .; at most 80). */
const CHANNEL = /^(?:[CGD][A-Z0-9]{2,20}|#?[a-z0-9][a-z0-9._-]{0,79})$/;
export const isChannel = (value: string): boolean => CHANNEL.test(value);

/** `*` any run of characters, `?` one; everything else literal. */
export const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );

/** Whether the pod's annotations mute its incidents (`pullwatch.io/mute: "true"`). */
export const isMuted = (annotations: Readonly<Record<string, string>> | undefined): boolean =>
  annotations?.[MUTE_ANNOTATION]?.trim().toLowerCase() === 'true';

export const createRouter = (config: RoutingConfig) => {
  const rules = config.rules.map((rule) => ({
    cluster: globToRegExp(rule.cluster ?? '*'),
    namespace: globToRegExp(rule.namespace ?? '*'),
    channel: rule.channel,
  }));
  return (incident: Incident): Route => {
    const annotations = incident.latest?.annotations ?? {};
    if (isMuted(annotations)) return { muted: true, reason: 'annotation' };
    const annotated = annotations[CHANNEL_ANNOTATION]?.trim();
    if (annotated !== undefined && isChannel(annotated))
      return { muted: false, channel: annotated, reason: 'annotation' };
    const { cluster, namespace } = incident.key;
    const rule = rules.find(
      (candidate) => candidate.cluster.test(cluster) && candidate.namespace.test(namespace),
    );
    if (rule) return { muted: false, channel: rule.channel, reason: 'rule' };
    return { muted: false, channel: config.defaultChannel, reason: 'default' };
  };
};

/**
 * The channel for a message about a whole cluster (the watchdog's): the first rule for the cluster
 * that does not narrow the namespace (none, or `*`), else the default channel.
 */
export const createClusterRouter = (config: RoutingConfig) => {
  const rules = config.rules
    .filter((rule) => rule.namespace === undefined || rule.namespace === '*')
    .map((rule) => ({ cluster: globToRegExp(rule.cluster ?? '*'), channel: rule.channel }));
  return (cluster: string): string =>
    rules.find((rule) => rule.cluster.test(cluster))?.channel ?? config.defaultChannel;
};

/** Rules from JSON: `[{"cluster": "prod-*", "namespace": "shop", "channel": "C0123ABCD"}, …]`. */
export const parseRouteRules = (json: string): RouteRule[] => {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('routes must be a JSON array');
  return parsed.map((entry: unknown, index) => {
    const rule = entry as Record<string, unknown>;
    if (typeof rule?.channel !== 'string' || !isChannel(rule.channel)) {
      throw new Error(`route ${index}: "channel" must be a channel id or name`);
    }
    for (const field of ['cluster', 'namespace']) {
      if (rule[field] !== undefined && typeof rule[field] !== 'string') {
        throw new Error(`route ${index}: "${field}" must be a glob string`);
      }
    }
    return {
      channel: rule.channel,
      ...(typeof rule.cluster === 'string' ? { cluster: rule.cluster } : {}),
      ...(typeof rule.namespace === 'string' ? { namespace: rule.namespace } : {}),
    };
  });
};

/** A channel in the environment (PULLWATCH_SLACK_CHANNEL). */
export const CHANNEL_KIND: ValueKind<string> = {
  parse: (text) => {
    if (!isChannel(text)) throw new InvalidValue(`must be a channel id or name, got "${text}"`);
    return text;
  },
  format: (channel) => channel,
};

/** Route rules in the environment, as JSON (PULLWATCH_SLACK_ROUTES). */
export const ROUTES_KIND: ValueKind<RouteRule[]> = {
  parse: (text) => {
    try {
      return parseRouteRules(text);
    } catch (error) {
      throw new InvalidValue(`is invalid: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
  format: (rules) => JSON.stringify(rules),
};

/** PULLWATCH_SLACK_CHANNEL (required by the functions, optional in local mode). */
export const SLACK_CHANNEL_VARIABLE = {
  name: 'PULLWATCH_SLACK_CHANNEL',
  purpose: 'default Slack channel (id or name) for incidents',
  kind: CHANNEL_KIND,
};

export const SLACK_ROUTES: Setting<RouteRule[]> = withDefault(
  {
    name: 'PULLWATCH_SLACK_ROUTES',
    purpose: 'JSON rules that route incidents to channels by cluster and namespace',
    kind: ROUTES_KIND,
  },
  [],
);
