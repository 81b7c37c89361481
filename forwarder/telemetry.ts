/** Prometheus metrics (prom-client) and the /healthz, /readyz and /metrics endpoints. */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Values read when /metrics is scraped. */
export interface GaugeSources {
  queueDepth: () => number;
  failingContainers: () => number;
}

export class ForwarderMetrics {
  readonly registry = new Registry();
  readonly sources: GaugeSources = { queueDepth: () => 0, failingContainers: () => 0 };
  readonly observations = new Counter({
    name: 'pullwatch_observations_total',
    help: 'Failures and recoveries decided, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly shipped = new Counter({
    name: 'pullwatch_events_shipped_total',
    help: 'Events EventBridge acknowledged, by detail-type.',
    labelNames: ['detail_type'] as const,
    registers: [this.registry],
  });
  readonly putCalls = new Counter({
    name: 'pullwatch_put_events_calls_total',
    help: 'PutEvents calls made.',
    registers: [this.registry],
  });
  readonly entriesPerCall = new Histogram({
    name: 'pullwatch_put_events_entries',
    help: 'Entries per PutEvents call.',
    buckets: [1, 2, 5, 9, 10],
    registers: [this.registry],
  });
  readonly retried = new Counter({
    name: 'pullwatch_retried_entries_total',
    help: 'Entries scheduled for another attempt, by scope (whole call or single entry).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly failedEntries = new Counter({
    name: 'pullwatch_failed_entries_total',
    help: 'Entries EventBridge reported as failed, by error code and whether it is permanent.',
    labelNames: ['error_code', 'permanent'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'pullwatch_rejected_events_total',
    help: 'Events given up on (permanent errors); each one is also logged.',
    registers: [this.registry],
  });
  readonly coalesced = new Counter({
    name: 'pullwatch_queue_coalesced_total',
    help: 'Queued events replaced by a newer state of the same container while the queue was full.',
    registers: [this.registry],
  });
  readonly queueDepth: Gauge = new Gauge({
    name: 'pullwatch_queue_depth',
    help: 'Events waiting to be shipped or in flight.',
    registers: [this.registry],
    collect: (): void => this.queueDepth.set(this.sources.queueDepth()),
  });
  readonly watchRestarts = new Counter({
    name: 'pullwatch_watch_restarts_total',
    help: 'Informer restarts, by informer and cause.',
    labelNames: ['informer', 'cause'] as const,
    registers: [this.registry],
  });
  readonly failingContainers: Gauge = new Gauge({
    name: 'pullwatch_failing_containers',
    help: 'Containers failing to pull their image right now.',
    registers: [this.registry],
    collect: (): void => this.failingContainers.set(this.sources.failingContainers()),
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}

export interface Probe {
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export const startHealthServer = async (
  port: number,
  metrics: ForwarderMetrics,
  probes: { healthz: () => Probe; readyz: () => Probe },
  host = '0.0.0.0',
): Promise<HealthServer> => {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405).end();
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const probe = path === '/healthz' ? probes.healthz() : probes.readyz();
      response.writeHead(probe.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: probe.ok ? 'ok' : 'failing', ...probe.detail }));
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
