/**
 * The forwarder's configuration, from the environment, validated at start: a table of variables
 * (shared/config-table.ts; each one's purpose says what it expects). A missing or invalid value is a
 * ConfigError whose message is one line naming the variable and what it expects.
 */
import { z } from 'zod';
import {
  ConfigError,
  type Env,
  type Setting,
  matching,
  optional,
  required,
  withDefault,
} from '#shared/config-table';

export { ConfigError };

export interface ForwarderConfig {
  cluster: string;
  /** Bus name or ARN. */
  eventBus: string;
  region: string;
  /** Endpoint override (AWS_ENDPOINT_URL_EVENTBRIDGE, then AWS_ENDPOINT_URL). */
  endpoint?: string;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  excludeNamespaces: string[];
  heartbeatSeconds: number;
  metricsPort: number;
  /** Where the forwarder keeps what it shipped, so a restart does not re-ship it. */
  stateFile?: string;
  /** Time allowed for shipping what is queued after SIGTERM. */
  flushSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Kubeconfig file; in-cluster config when unset and running in a pod. */
  kubeconfig?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const namespaceList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .refine((names) => names.every((name) => DNS_LABEL.test(name)));

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .refine((value) => value >= min && value <= max);

const url = z.string().refine((text) => {
  try {
    const parsed = new URL(text);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
});

const text = (schema: z.ZodType<string>) => matching(schema, (value) => value);
const whole = (min: number, max: number) => matching(integer(min, max), String);
const namespaces = matching(namespaceList, (names) => names.join(','));

export const DEFAULT_METRICS_PORT = 8080;

const REGION_VARIABLE = {
  name: 'AWS_REGION',
  purpose: 'the region of the bus, e.g. eu-west-1 (or give PULLWATCH_EVENT_BUS as an ARN)',
  kind: text(z.string().regex(REGION)),
};

const SETTINGS = {
  cluster: required({
    name: 'PULLWATCH_CLUSTER',
    purpose: "the cluster's name (1-100 characters, no spaces)",
    kind: text(z.string().regex(/^\S{1,100}$/)),
  }),
  eventBus: required({
    name: 'PULLWATCH_EVENT_BUS',
    purpose: 'the name or ARN of the EventBridge bus',
    kind: text(z.string().refine((value) => BUS_NAME.test(value) || BUS_ARN.test(value))),
  }),
  region: optional(REGION_VARIABLE),
  endpoint: optional({ name: 'AWS_ENDPOINT_URL_EVENTBRIDGE', purpose: 'an http(s) URL', kind: text(url) }),
  endpointFallback: optional({ name: 'AWS_ENDPOINT_URL', purpose: 'an http(s) URL', kind: text(url) }),
  namespaces: withDefault(
    { name: 'PULLWATCH_NAMESPACES', purpose: 'a comma list of namespace names', kind: namespaces },
    [],
  ),
  excludeNamespaces: withDefault(
    { name: 'PULLWATCH_EXCLUDE_NAMESPACES', purpose: 'a comma list of namespace names', kind: namespaces },
    [],
  ),
  heartbeatSeconds: withDefault(
    {
      name: 'PULLWATCH_HEARTBEAT_SECONDS',
      purpose: 'a whole number of seconds from 5 to 3600',
      kind: whole(5, 3600),
    },
    60,
  ),
  metricsPort: withDefault(
    {
      name: 'PULLWATCH_METRICS_PORT',
      purpose: 'a TCP port from 1 to 65535 (0 picks a free one)',
      kind: whole(0, 65535),
    },
    DEFAULT_METRICS_PORT,
  ),
  stateFile: optional({
    name: 'PULLWATCH_STATE_FILE',
    purpose: 'an absolute path to a writable file',
    kind: text(z.string().regex(/^\/\S*[^/]$/)),
  }),
  flushSeconds: withDefault(
    {
      name: 'PULLWATCH_FLUSH_SECONDS',
      purpose: 'a whole number of seconds from 1 to 600',
      kind: whole(1, 600),
    },
    20,
  ),
  logLevel: withDefault(
    {
      name: 'PULLWATCH_LOG_LEVEL',
      purpose: 'one of debug, info, warn, error',
      kind: matching(z.enum(['debug', 'info', 'warn', 'error']), (level) => level),
    },
    'info',
  ),
  kubeconfig: optional({ name: 'KUBECONFIG', purpose: 'a kubeconfig file', kind: text(z.string()) }),
} satisfies Record<string, Setting<unknown>>;

/** Reads and validates the configuration; throws ConfigError. */
export const parseConfig = (env: Env): ForwarderConfig => {
  const cluster = SETTINGS.cluster.read(env);
  const eventBus = SETTINGS.eventBus.read(env);
  const region = SETTINGS.region.read(env) ?? BUS_ARN.exec(eventBus)?.[1];
  if (region === undefined) {
    throw new ConfigError(
      `${REGION_VARIABLE.name} is not set: ${REGION_VARIABLE.purpose}`,
      REGION_VARIABLE.name,
    );
  }
  const endpoint = SETTINGS.endpoint.read(env) ?? SETTINGS.endpointFallback.read(env);
  const stateFile = SETTINGS.stateFile.read(env);
  const kubeconfig = SETTINGS.kubeconfig.read(env);
  return {
    cluster,
    eventBus,
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    namespaces: SETTINGS.namespaces.read(env),
    excludeNamespaces: SETTINGS.excludeNamespaces.read(env),
    heartbeatSeconds: SETTINGS.heartbeatSeconds.read(env),
    metricsPort: SETTINGS.metricsPort.read(env),
    ...(stateFile === undefined ? {} : { stateFile }),
    flushSeconds: SETTINGS.flushSeconds.read(env),
    logLevel: SETTINGS.logLevel.read(env),
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
  };
};

/** Whether a namespace is watched under this configuration. */
export const namespaceInScope =
  (config: Pick<ForwarderConfig, 'namespaces' | 'excludeNamespaces'>) =>
  (namespace: string): boolean =>
    (config.namespaces.length === 0 || config.namespaces.includes(namespace)) &&
    !config.excludeNamespaces.includes(namespace);
