import { ConfigError, namespaceInScope, parseConfig } from '../../forwarder/config';

const base = { PULLWATCH_CLUSTER: 'prod-eu', PULLWATCH_EVENT_BUS: 'pullwatch', AWS_REGION: 'eu-west-1' };

const problem = (env: Record<string, string>): string => {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('forwarder configuration', () => {
  it('reads the required variables and applies defaults', () => {
    expect(parseConfig(base)).toEqual({
      cluster: 'prod-eu',
      eventBus: 'pullwatch',
      region: 'eu-west-1',
      namespaces: [],
      excludeNamespaces: [],
      heartbeatSeconds: 60,
      metricsPort: 8080,
      flushSeconds: 20,
      logLevel: 'info',
    });
  });

  it('reads the optional variables', () => {
    const config = parseConfig({
      ...base,
      PULLWATCH_NAMESPACES: 'shop, payments',
      PULLWATCH_EXCLUDE_NAMESPACES: 'kube-system',
      PULLWATCH_HEARTBEAT_SECONDS: '30',
      PULLWATCH_METRICS_PORT: '9102',
      PULLWATCH_STATE_FILE: '/var/lib/pullwatch/state.json',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4010',
      AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4566',
      KUBECONFIG: '/home/me/.kube/config',
    });
    expect(config).toMatchObject({
      namespaces: ['shop', 'payments'],
      excludeNamespaces: ['kube-system'],
      heartbeatSeconds: 30,
      metricsPort: 9102,
      stateFile: '/var/lib/pullwatch/state.json',
      endpoint: 'http://127.0.0.1:4566',
      kubeconfig: '/home/me/.kube/config',
    });
  });

  it('takes the region from a bus ARN', () => {
    const withoutRegion: Record<string, string> = { ...base };
    delete withoutRegion.AWS_REGION;
    const config = parseConfig({
      ...withoutRegion,
      PULLWATCH_EVENT_BUS: 'arn:aws:events:us-east-2:123456789012:event-bus/pullwatch',
    });
    expect(config.region).toBe('us-east-2');
  });

  it.each([
    [
      { PULLWATCH_CLUSTER: '' },
      "PULLWATCH_CLUSTER is not set: the cluster's name (1-100 characters, no spaces)",
    ],
    [
      { PULLWATCH_EVENT_BUS: '   ' },
      'PULLWATCH_EVENT_BUS is not set: the name or ARN of the EventBridge bus',
    ],
    [
      { PULLWATCH_EVENT_BUS: 'my bus!' },
      'PULLWATCH_EVENT_BUS is invalid: expected the name or ARN of the EventBridge bus',
    ],
    [
      { AWS_REGION: 'Europe' },
      'AWS_REGION is invalid: expected the region of the bus, e.g. eu-west-1 (or give PULLWATCH_EVENT_BUS as an ARN)',
    ],
    [
      { PULLWATCH_HEARTBEAT_SECONDS: '1' },
      'PULLWATCH_HEARTBEAT_SECONDS is invalid: expected a whole number of seconds from 5 to 3600',
    ],
    [
      { PULLWATCH_HEARTBEAT_SECONDS: '60s' },
      'PULLWATCH_HEARTBEAT_SECONDS is invalid: expected a whole number of seconds from 5 to 3600',
    ],
    [
      { PULLWATCH_METRICS_PORT: '70000' },
      'PULLWATCH_METRICS_PORT is invalid: expected a TCP port from 1 to 65535 (0 picks a free one)',
    ],
    [
      { PULLWATCH_NAMESPACES: 'shop,Bad_NS' },
      'PULLWATCH_NAMESPACES is invalid: expected a comma list of namespace names',
    ],
    [
      { AWS_ENDPOINT_URL_EVENTBRIDGE: 'localhost:4566' },
      'AWS_ENDPOINT_URL_EVENTBRIDGE is invalid: expected an http(s) URL',
    ],
  ])('names the variable and what it expects: %j', (change, message) => {
    expect(problem({ ...base, ...change })).toBe(message);
  });

  it('requires a region when the bus is a name', () => {
    const withoutRegion: Record<string, string> = { ...base };
    delete withoutRegion.AWS_REGION;
    expect(problem(withoutRegion)).toMatch(/^AWS_REGION is not set: /);
  });

  it('scopes namespaces by the include and exclude lists', () => {
    const all = namespaceInScope({ namespaces: [], excludeNamespaces: ['kube-system'] });
    expect([all('shop'), all('kube-system')]).toEqual([true, false]);
    const some = namespaceInScope({ namespaces: ['shop'], excludeNamespaces: [] });
    expect([some('shop'), some('payments')]).toEqual([true, false]);
  });
});
