/**
 * The forwarder's configuration, from the environment, validated at start. A missing or invalid
 * value is a ConfigError whose message is one line naming the variable and what it expects.
 */
import { z } from 'zod';

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

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

interface Variable<T> {
  name: string;
  expects: string;
  schema: z.ZodType<T>;
}

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

const VARIABLES = {
  cluster: {
    name: 'PULLWATCH_CLUSTER',
    expects: "the cluster's name (1-100 characters, no spaces)",
    schema: z.string().regex(/^\S{1,100}$/),
  },
  eventBus: {
    name: 'PULLWATCH_EVENT_BUS',
    expects: 'the name or ARN of the EventBridge bus',
    schema: z.string().refine((text) => BUS_NAME.test(text) || BUS_ARN.test(text)),
  },
  region: {
    name: 'AWS_REGION',
    expects: 'the region of the bus, e.g. eu-west-1 (or give PULLWATCH_EVENT_BUS as an ARN)',
    schema: z.string().regex(REGION),
  },
  endpoint: { name: 'AWS_ENDPOINT_URL_EVENTBRIDGE', expects: 'an http(s) URL', schema: url },
  endpointFallback: { name: 'AWS_ENDPOINT_URL', expects: 'an http(s) URL', schema: url },
  namespaces: {
    name: 'PULLWATCH_NAMESPACES',
    expects: 'a comma list of namespace names',
    schema: namespaceList,
  },
  excludeNamespaces: {
    name: 'PULLWATCH_EXCLUDE_NAMESPACES',
    expects: 'a comma list of namespace names',
    schema: namespaceList,
  },
  heartbeatSeconds: {
    name: 'PULLWATCH_HEARTBEAT_SECONDS',
    expects: 'a whole number of seconds from 5 to 3600',
    schema: integer(5, 3600),
  },
  metricsPort: {
    name: 'PULLWATCH_METRICS_PORT',
    expects: 'a TCP port from 1 to 65535 (0 picks a free one)',
    schema: integer(0, 65535),
  },
  stateFile: {
    name: 'PULLWATCH_STATE_FILE',
    expects: 'an absolute path to a writable file',
    schema: z.string().regex(/^\/\S*[^/]$/),
  },
  flushSeconds: {
    name: 'PULLWATCH_FLUSH_SECONDS',
    expects: 'a whole number of seconds from 1 to 600',
    schema: integer(1, 600),
  },
  logLevel: {
    name: 'PULLWATCH_LOG_LEVEL',
    expects: 'one of debug, info, warn, error',
    schema: z.enum(['debug', 'info', 'warn', 'error']),
  },
} satisfies Record<string, Variable<unknown>>;

type Env = Readonly<Record<string, string | undefined>>;

const read = <T>(env: Env, variable: Variable<T>): T | undefined => {
  const raw = env[variable.name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = variable.schema.safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(variable.name, `is invalid: expected ${variable.expects}`);
  return parsed.data;
};

const required = <T>(env: Env, variable: Variable<T>): T => {
  const value = read(env, variable);
  if (value === undefined) throw new ConfigError(variable.name, `is not set: ${variable.expects}`);
  return value;
};

export const DEFAULT_METRICS_PORT = 8080;

/** Reads and validates the configuration; throws ConfigError. */
export const parseConfig = (env: Env): ForwarderConfig => {
  const cluster = required(env, VARIABLES.cluster);
  const eventBus = required(env, VARIABLES.eventBus);
  const arnRegion = BUS_ARN.exec(eventBus)?.[1];
  const region = read(env, VARIABLES.region) ?? arnRegion;
  if (region === undefined)
    throw new ConfigError(VARIABLES.region.name, `is not set: ${VARIABLES.region.expects}`);
  const endpoint = read(env, VARIABLES.endpoint) ?? read(env, VARIABLES.endpointFallback);
  const stateFile = read(env, VARIABLES.stateFile);
  const kubeconfig = env.KUBECONFIG?.trim() || undefined;
  return {
    cluster,
    eventBus,
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    namespaces: read(env, VARIABLES.namespaces) ?? [],
    excludeNamespaces: read(env, VARIABLES.excludeNamespaces) ?? [],
    heartbeatSeconds: read(env, VARIABLES.heartbeatSeconds) ?? 60,
    metricsPort: read(env, VARIABLES.metricsPort) ?? DEFAULT_METRICS_PORT,
    ...(stateFile === undefined ? {} : { stateFile }),
    flushSeconds: read(env, VARIABLES.flushSeconds) ?? 20,
    logLevel: read(env, VARIABLES.logLevel) ?? 'info',
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
  };
};

/** Whether a namespace is watched under this configuration. */
export const namespaceInScope =
  (config: Pick<ForwarderConfig, 'namespaces' | 'excludeNamespaces'>) =>
  (namespace: string): boolean =>
    (config.namespaces.length === 0 || config.namespaces.includes(namespace)) &&
    !config.excludeNamespaces.includes(namespace);
