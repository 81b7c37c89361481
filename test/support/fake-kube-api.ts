/**
 * A local Kubernetes API server for tests: real HTTP, so the real @kubernetes/client-node talks to it.
 *
 * It serves pods, events, replicasets and jobs: get, paginated list, and streaming watch with
 * resourceVersions (one counter for all kinds, as in etcd), field selectors with the API server's
 * rules (unsupported fields are a 400; an object that stops matching is a DELETED event), scripted
 * changes, forced disconnects (graceful or abrupt), compaction that makes old resourceVersions
 * `410 Gone` (as an HTTP status or as an in-stream ERROR event), injected 5xx, and stalled watches.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { LocalServer } from './local-server';

export type Resource = 'pods' | 'events' | 'replicasets' | 'jobs';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  rv: number;
  resource: Resource;
  type: WatchType;
  object: KubeObject;
  previous?: KubeObject;
}

interface Watcher {
  resource: Resource;
  namespace?: string;
  selector: FieldSelector;
  response: ServerResponse;
  socket: Socket;
  stalled: boolean;
}

export interface RequestRecord {
  verb: 'get' | 'list' | 'watch';
  resource: Resource;
  namespace?: string;
  query: Record<string, string>;
}

interface FaultRule {
  resource: Resource;
  verb: RequestRecord['verb'];
  status: number;
  times: number;
}

const KINDS: Record<Resource, { group: string; kind: string; fields: readonly string[] }> = {
  pods: {
    group: 'v1',
    kind: 'Pod',
    fields: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  },
  events: {
    group: 'v1',
    kind: 'Event',
    fields: [
      'metadata.name',
      'metadata.namespace',
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
  replicasets: {
    group: 'apps/v1',
    kind: 'ReplicaSet',
    fields: ['metadata.name', 'metadata.namespace', 'status.replicas'],
  },
  jobs: {
    group: 'batch/v1',
    kind: 'Job',
    fields: ['metadata.name', 'metadata.namespace', 'status.successful'],
  },
};

const ROUTE =
  /^\/(?:api\/v1|apis\/apps\/v1|apis\/batch\/v1)(?:\/namespaces\/([^/]+))?\/(pods|events|replicasets|jobs)(?:\/([^/]+))?$/;

interface Term {
  field: string;
  value: string;
  equal: boolean;
}
type FieldSelector = Term[];

const parseSelector = (resource: Resource, text: string | undefined): FieldSelector | string => {
  if (text === undefined || text === '') return [];
  const terms: Term[] = [];
  for (const part of text.split(',')) {
    const match = /^([^!=]+)(!=|==|=)(.*)$/.exec(part);
    if (!match) return `invalid field selector term "${part}"`;
    const [, field = '', operator, value = ''] = match;
    if (!KINDS[resource].fields.includes(field)) {
      return `field label not supported: ${field}`;
    }
    terms.push({ field, value, equal: operator !== '!=' });
  }
  return terms;
};

const fieldValue = (object: KubeObject, path: string): string => {
  if (path === 'source') {
    const source = (object as { source?: { component?: string } }).source;
    return source?.component ?? '';
  }
  let value: unknown = object;
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value === undefined || value === null ? '' : String(value);
};

const matches = (selector: FieldSelector, object: KubeObject | undefined): boolean =>
  object !== undefined &&
  selector.every((term) => (fieldValue(object, term.field) === term.value) === term.equal);

/** What a list or watch asks for. */
interface Scope {
  resource: Resource;
  namespace: string | undefined;
  selector: FieldSelector;
  query: Record<string, string>;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A meta/v1 Status of a failure, as the API server answers it (or sends it as a watch ERROR). */
const failureStatus = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  reason,
  code,
});

export class FakeKubeApi extends LocalServer {
  readonly requests: RequestRecord[] = [];
  private readonly objects = new Map<string, { resource: Resource; object: KubeObject }>();
  private readonly history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly faults: FaultRule[] = [];
  private readonly snapshots = new Map<string, { items: KubeObject[]; rv: number }>();
  private rv = 1000;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private compactedBelow = 0;
  /** How 410 Gone is reported on watch: an HTTP status, or (like etcd compaction) an ERROR event. */
  goneAs: 'status' | 'event' = 'event';
  /** New watches on these resources are accepted and then never sent anything. */
  readonly stalled = new Set<Resource>();

  constructor() {
    super('fake API server');
  }

  get url(): string {
    return this.origin;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** A kubeconfig file for this server (plain HTTP needs insecure-skip-tls-verify). */
  writeKubeconfig(dir: string): string {
    const path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: tester',
        '  user:',
        '    token: fake-token',
        'contexts:',
        '- name: fake',
        '  context: {cluster: fake, user: tester}',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  // ------------------------------------------------------------------------------------------
  // Scripted changes

  private keyOf(resource: Resource, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ''}/${name}`;
  }

  get(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    const found = this.objects.get(this.keyOf(resource, namespace, name));
    return found ? clone(found.object) : undefined;
  }

  list(resource: Resource): KubeObject[] {
    return [...this.objects.values()]
      .filter((entry) => entry.resource === resource)
      .map((entry) => clone(entry.object));
  }

  /** Creates or replaces an object; returns it as stored (with uid and resourceVersion). */
  apply(resource: Resource, input: KubeObject): KubeObject {
    const key = this.keyOf(resource, input.metadata.namespace, input.metadata.name);
    const existing = this.objects.get(key)?.object;
    const object = clone(input);
    const { group, kind } = KINDS[resource];
    object.apiVersion = group;
    object.kind = kind;
    object.metadata.uid = object.metadata.uid ?? existing?.metadata.uid ?? randomUUID();
    object.metadata.creationTimestamp =
      object.metadata.creationTimestamp ?? existing?.metadata.creationTimestamp ?? new Date().toISOString();
    object.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, { resource, object });
    this.record({ rv: this.rv, resource, type: existing ? 'MODIFIED' : 'ADDED', object, previous: existing });
    return clone(object);
  }

  /** Changes an existing object through a function of a copy of it. */
  update(
    resource: Resource,
    namespace: string,
    name: string,
    change: (object: KubeObject) => void,
  ): KubeObject {
    const existing = this.get(resource, namespace, name);
    if (!existing) throw new Error(`no ${resource} ${namespace}/${name}`);
    change(existing);
    return this.apply(resource, existing);
  }

  remove(resource: Resource, namespace: string, name: string): void {
    const key = this.keyOf(resource, namespace, name);
    const existing = this.objects.get(key)?.object;
    if (!existing) throw new Error(`no ${resource} ${namespace}/${name}`);
    this.objects.delete(key);
    const object = clone(existing);
    object.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, resource, type: 'DELETED', object, previous: existing });
  }

  private record(change: Change): void {
    this.history.push(change);
    for (const watcher of this.watchers) this.deliver(watcher, change);
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  /** Ends every open watch (of one resource, or all): gracefully, or by destroying the connection. */
  disconnectWatches(options: { resource?: Resource; abrupt?: boolean } = {}): number {
    let count = 0;
    for (const watcher of [...this.watchers]) {
      if (options.resource !== undefined && watcher.resource !== options.resource) continue;
      this.watchers.delete(watcher);
      if (options.abrupt) watcher.socket.destroy();
      else watcher.response.end();
      count++;
    }
    return count;
  }

  /** Forgets history: any watch resuming from a resourceVersion before now gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.history.length = 0;
  }

  /** The next `times` requests of this verb on this resource answer with `status`. */
  failNext(resource: Resource, verb: RequestRecord['verb'], status: number, times = 1): void {
    this.faults.push({ resource, verb, status, times });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  openWatches(resource?: Resource): number {
    return [...this.watchers].filter((watcher) => resource === undefined || watcher.resource === resource)
      .length;
  }

  /** Resolves when at least `count` watches on `resource` are open. */
  async waitForWatches(resource: Resource, count = 1, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.openWatches(resource) < count) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${count} ${resource} watch(es)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  requestsFor(resource: Resource, verb?: RequestRecord['verb']): RequestRecord[] {
    return this.requests.filter(
      (request) => request.resource === resource && (verb === undefined || request.verb === verb),
    );
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  private sendJson(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }

  private sendStatus(response: ServerResponse, code: number, reason: string, message: string): void {
    this.sendJson(response, code, failureStatus(code, reason, message));
  }

  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = ROUTE.exec(url.pathname);
    if (request.method !== 'GET' || !route) {
      this.sendStatus(response, 404, 'NotFound', `${request.method} ${url.pathname} is not served`);
      return;
    }
    const [, namespace, resource, name] = route as unknown as [
      string,
      string | undefined,
      Resource,
      string | undefined,
    ];
    const query = Object.fromEntries(url.searchParams.entries());
    const verb: RequestRecord['verb'] =
      name !== undefined ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
    this.requests.push({ verb, resource, ...(namespace === undefined ? {} : { namespace }), query });

    const fault = this.faults.find(
      (rule) => rule.resource === resource && rule.verb === verb && rule.times > 0,
    );
    if (fault) {
      fault.times--;
      this.sendStatus(response, fault.status, 'InternalError', `injected ${fault.status}`);
      return;
    }
    if (verb === 'get') {
      const object = this.get(resource, namespace ?? '', name ?? '');
      if (object) this.sendJson(response, 200, object);
      else this.sendStatus(response, 404, 'NotFound', `${resource} "${name}" not found`);
      return;
    }
    const selector = parseSelector(resource, query.fieldSelector);
    if (typeof selector === 'string') {
      this.sendStatus(response, 400, 'BadRequest', selector);
      return;
    }
    const scope: Scope = { resource, namespace, selector, query };
    if (verb === 'list') this.serveList(response, scope);
    else this.serveWatch(request, response, scope);
  }

  private inScope(
    resource: Resource,
    namespace: string | undefined,
    entry: { resource: Resource; object: KubeObject },
  ): boolean {
    return (
      entry.resource === resource &&
      (namespace === undefined || entry.object.metadata.namespace === namespace)
    );
  }

  private serveList(response: ServerResponse, { resource, namespace, selector, query }: Scope): void {
    let snapshot: { items: KubeObject[]; rv: number };
    const token = query.continue;
    if (token !== undefined && token !== '') {
      const found = this.snapshots.get(token);
      if (!found) {
        this.sendStatus(response, 410, 'Expired', 'The provided continue parameter is too old');
        return;
      }
      snapshot = found;
      this.snapshots.delete(token);
    } else {
      // Stored objects are never changed in place (apply stores a new copy), so the snapshot can hold
      // them as they are: a 100,000-pod list must not copy every object before its first page.
      const items = [...this.objects.values()]
        .filter((entry) => this.inScope(resource, namespace, entry) && matches(selector, entry.object))
        .map((entry) => entry.object);
      snapshot = { items, rv: this.rv };
    }
    const limit = Number(query.limit ?? '0');
    let items = snapshot.items;
    let next: string | undefined;
    if (limit > 0 && items.length > limit) {
      next = randomUUID();
      this.snapshots.set(next, { items: items.slice(limit), rv: snapshot.rv });
      items = items.slice(0, limit);
    }
    const { group, kind } = KINDS[resource];
    this.sendJson(response, 200, {
      kind: `${kind}List`,
      apiVersion: group,
      metadata: { resourceVersion: String(snapshot.rv), ...(next === undefined ? {} : { continue: next }) },
      items,
    });
  }

  private serveWatch(
    request: IncomingMessage,
    response: ServerResponse,
    { resource, namespace, selector, query }: Scope,
  ): void {
    const from = query.resourceVersion;
    const fromRv = from === undefined || from === '' || from === '0' ? undefined : Number(from);
    const gone = fromRv !== undefined && fromRv < this.compactedBelow - 1;
    const tooOld = `too old resource version: ${fromRv} (${this.compactedBelow})`;
    if (gone && this.goneAs === 'status') {
      this.sendStatus(response, 410, 'Expired', tooOld);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    if (gone) {
      this.writeLine(response, { type: 'ERROR', object: failureStatus(410, 'Expired', tooOld) });
      response.end();
      return;
    }
    const watcher: Watcher = {
      resource,
      ...(namespace === undefined ? {} : { namespace }),
      selector,
      response,
      socket: request.socket,
      stalled: this.stalled.has(resource),
    };
    if (!watcher.stalled) {
      if (fromRv === undefined) {
        for (const entry of this.objects.values()) {
          if (this.inScope(resource, namespace, entry) && matches(selector, entry.object)) {
            this.writeLine(response, { type: 'ADDED', object: entry.object });
          }
        }
      } else {
        for (const change of this.history) if (change.rv > fromRv) this.deliver(watcher, change);
      }
    }
    this.watchers.add(watcher);
    const timeout = Number(query.timeoutSeconds ?? '0');
    const timer =
      timeout > 0
        ? setTimeout(() => {
            this.watchers.delete(watcher);
            response.end();
          }, timeout * 1000)
        : undefined;
    const forget = (): void => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(watcher);
    };
    response.on('close', forget);
  }

  private deliver(watcher: Watcher, change: Change): void {
    if (watcher.stalled || change.resource !== watcher.resource) return;
    const { object, previous } = change;
    if (watcher.namespace !== undefined && object.metadata.namespace !== watcher.namespace) return;
    const now = change.type !== 'DELETED' && matches(watcher.selector, object);
    const before = previous !== undefined && matches(watcher.selector, previous);
    let type: WatchType | undefined;
    if (change.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type !== undefined) this.writeLine(watcher.response, { type, object });
  }

  private writeLine(response: ServerResponse, line: unknown): void {
    if (!response.writableEnded) response.write(`${JSON.stringify(line)}\n`);
  }
}

// ------------------------------------------------------------------------------------------
// Builders for realistic objects

export interface PodOptions {
  namespace?: string;
  name: string;
  uid?: string;
  image?: string;
  container?: string;
  node?: string;
  owner?: { kind: string; name: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  pullSecrets?: string[];
  serviceAccount?: string;
  initContainers?: Array<{ name: string; image: string }>;
}

export const podObject = (options: PodOptions): KubeObject => ({
  metadata: {
    name: options.name,
    namespace: options.namespace ?? 'shop',
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    labels: options.labels ?? {},
    annotations: options.annotations ?? {},
    ...(options.owner === undefined
      ? {}
      : {
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: options.owner.kind,
              name: options.owner.name,
              uid: randomUUID(),
              controller: true,
            },
          ],
        }),
  },
  spec: {
    nodeName: options.node ?? 'node-1',
    serviceAccountName: options.serviceAccount ?? 'default',
    imagePullSecrets: (options.pullSecrets ?? []).map((name) => ({ name })),
    ...(options.initContainers === undefined ? {} : { initContainers: options.initContainers }),
    containers: [{ name: options.container ?? 'app', image: options.image ?? 'nginx:1.27' }],
  },
  status: { phase: 'Pending' },
});

type StatusField = 'containerStatuses' | 'initContainerStatuses' | 'ephemeralContainerStatuses';

/** Sets one container's status on a pod object (mutates and returns it). */
export const setContainerState = (
  pod: KubeObject,
  container: string,
  state: { waiting?: { reason: string; message?: string }; running?: Record<string, unknown> },
  field: StatusField = 'containerStatuses',
): KubeObject => {
  const spec = pod.spec as {
    containers: Array<{ name: string; image: string }>;
    initContainers?: Array<{ name: string; image: string }>;
  };
  const image =
    [...spec.containers, ...(spec.initContainers ?? [])].find((c) => c.name === container)?.image ?? '';
  const status = (pod.status ?? {}) as Record<string, unknown>;
  const statuses = ((status[field] as Array<{ name: string }> | undefined) ?? []).filter(
    (s) => s.name !== container,
  );
  statuses.push({
    name: container,
    image,
    imageID: state.running ? `docker.io/library/x@sha256:${'0'.repeat(64)}` : '',
    ready: state.running !== undefined,
    restartCount: 0,
    started: state.running !== undefined,
    state: state.running
      ? { running: { startedAt: new Date().toISOString(), ...state.running } }
      : { waiting: state.waiting },
  } as { name: string });
  status[field] = statuses;
  status.phase = state.running ? 'Running' : 'Pending';
  pod.status = status;
  return pod;
};

export interface EventOptions {
  pod: KubeObject;
  container?: string;
  reason: string;
  message: string;
  type?: 'Warning' | 'Normal';
  count?: number;
  name?: string;
  at?: Date;
}

/** A core/v1 Event as the kubelet records it about a pod (or one of its containers). */
export const podEvent = (options: EventOptions): KubeObject => {
  const at = (options.at ?? new Date()).toISOString();
  const pod = options.pod.metadata;
  return {
    metadata: {
      name: options.name ?? `${pod.name}.${randomUUID().slice(0, 8)}`,
      namespace: pod.namespace ?? 'default',
    },
    involvedObject: {
      kind: 'Pod',
      apiVersion: 'v1',
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      ...(options.container === undefined ? {} : { fieldPath: `spec.containers{${options.container}}` }),
    },
    reason: options.reason,
    message: options.message,
    type: options.type ?? 'Warning',
    count: options.count ?? 1,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: 'kubelet', host: 'node-1' },
    reportingComponent: 'kubelet',
  };
};
