/**
 * A capacity meter for DynamoDB: an HTTP proxy in front of a DynamoDB endpoint (dynalite) that
 * sets `"ReturnConsumedCapacity": "TOTAL"` on every request of the JSON 1.0 protocol
 * (`X-Amz-Target: DynamoDB_20120810.<Operation>`) and adds up the `ConsumedCapacity` of every
 * answer: read and write units per operation, and the largest single write. The code under test is
 * pointed at `endpoint` and changes nothing. Answers pass through byte for byte (their
 * `x-amz-crc32` stays right); the SDK ignores a ConsumedCapacity it did not ask for.
 *
 * What dynalite counts (and so what this meter sees): the table's units only, as DynamoDB computes
 * them for the table (1 WCU per KB of the larger of the old and new item, a read 4 KB per RCU,
 * halved when eventually consistent). It does not add the writes to global secondary indexes that
 * DynamoDB includes in TOTAL, and a failed conditional write (which DynamoDB charges) answers with
 * no capacity at all: those are counted as `errors`. Rewriting the body breaks a SigV4 signature,
 * which dynalite does not check; this is a test tool, never for a real endpoint.
 */
import { Agent, type IncomingMessage, type ServerResponse, request as httpRequest } from 'node:http';
import { LocalServer, readBody } from './local-server';

const TARGET_PREFIX = 'DynamoDB_20120810.';
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** Writes whose request carries whole items (their size is known before the write). */
const CARRIES_ITEMS = new Set(['PutItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface OperationCapacity {
  calls: number;
  /** Calls DynamoDB refused (e.g. ConditionalCheckFailedException); dynalite reports no units for them. */
  errors: number;
  readUnits: number;
  writeUnits: number;
}

export interface LargestWrite {
  operation: string;
  writeUnits: number;
}

/** What a meter counted, as plain data (it crosses a process boundary). */
export interface CapacityReport {
  totals: CapacityTotals;
  byOperation: Array<[operation: string, capacity: OperationCapacity]>;
}

export interface CapacityTotals {
  calls: number;
  errors: number;
  readUnits: number;
  writeUnits: number;
  /** The single-item write (PutItem, UpdateItem, DeleteItem) that cost the most. */
  largestWrite?: LargestWrite;
  /** The largest item a request carried whole (PutItem, and the puts of BatchWriteItem / TransactWriteItems), in bytes. */
  largestItemBytes?: number;
}

type AttributeValue = Record<string, unknown>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** A number's size in DynamoDB: about one byte per two significant digits, plus one. */
const numberSize = (text: string): number => {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '').length;
  return significant === 0 ? 1 : Math.ceil(significant / 2) + 1;
};

/** Binary as the wire has it (base64) or as the SDK gives it back (bytes). */
const binarySize = (value: unknown): number =>
  value instanceof Uint8Array ? value.length : Buffer.from(String(value), 'base64').length;

const valueSize = (value: AttributeValue): number => {
  const [type, inner] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(String(inner));
    case 'N':
      return numberSize(String(inner));
    case 'B':
      return binarySize(inner);
    case 'SS':
      return (inner as string[]).reduce((sum, item) => sum + utf8(item), 0);
    case 'NS':
      return (inner as string[]).reduce((sum, item) => sum + numberSize(item), 0);
    case 'BS':
      return (inner as unknown[]).reduce<number>((sum, item) => sum + binarySize(item), 0);
    case 'L':
      return 3 + (inner as AttributeValue[]).reduce((sum, item) => sum + 1 + valueSize(item), 0);
    case 'M': {
      const entries = Object.entries(inner as Record<string, AttributeValue>);
      return 3 + entries.length + itemSize(inner as Record<string, AttributeValue>);
    }
    default:
      return 1; // NULL, BOOL
  }
};

/**
 * An item's size as DynamoDB bills it: attribute names and values (docs: "Item sizes and formats").
 * Takes the wire's JSON or the SDK's AttributeValue objects.
 */
export const itemSize = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);

export interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** The items a write request carries whole. */
const itemsCarried = (
  operation: string,
  body: Record<string, unknown>,
): Array<Record<string, AttributeValue>> => {
  if (operation === 'PutItem' && body.Item !== undefined)
    return [body.Item as Record<string, AttributeValue>];
  if (operation === 'BatchWriteItem') {
    const byTable = (body.RequestItems ?? {}) as Record<
      string,
      Array<{ PutRequest?: { Item: Record<string, AttributeValue> } }>
    >;
    return Object.values(byTable).flatMap((requests) =>
      requests.flatMap((entry) => (entry.PutRequest === undefined ? [] : [entry.PutRequest.Item])),
    );
  }
  if (operation === 'TransactWriteItems') {
    const items = (body.TransactItems ?? []) as Array<{ Put?: { Item: Record<string, AttributeValue> } }>;
    return items.flatMap((entry) => (entry.Put === undefined ? [] : [entry.Put.Item]));
  }
  return [];
};

const CONSUMED = '"ConsumedCapacity":';

/**
 * An answer's ConsumedCapacity, read without parsing the items it carries (a GetItem of a 100 KB
 * item would cost a parse of it on every call). A `"ConsumedCapacity":` inside an item's string is
 * escaped (`\"…\":`), so the last bare one is the answer's own.
 */
export const consumedOf = (answer: string): Consumed | Consumed[] | undefined => {
  const at = answer.lastIndexOf(CONSUMED);
  if (at < 0) return undefined;
  const start = at + CONSUMED.length;
  let depth = 0;
  let inString = false;
  for (let i = start; i < answer.length; i++) {
    const char = answer[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) {
      return JSON.parse(answer.slice(start, i + 1)) as Consumed | Consumed[];
    }
  }
  return undefined;
};

export class CapacityProxy extends LocalServer {
  readonly byOperation = new Map<string, OperationCapacity>();
  private largestWrite: LargestWrite | undefined;
  private largestItemBytes: number | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** `target`: the DynamoDB endpoint it stands in front of, e.g. `http://127.0.0.1:8000`. */
  constructor(private readonly target: string) {
    super('DynamoDB capacity proxy');
  }

  /** Where to point the code under test. */
  get endpoint(): string {
    return this.origin;
  }

  override async stop(): Promise<void> {
    this.agent.destroy();
    await super.stop();
  }

  totals(): CapacityTotals {
    let calls = 0;
    let errors = 0;
    let readUnits = 0;
    let writeUnits = 0;
    for (const entry of this.byOperation.values()) {
      calls += entry.calls;
      errors += entry.errors;
      readUnits += entry.readUnits;
      writeUnits += entry.writeUnits;
    }
    return {
      calls,
      errors,
      readUnits,
      writeUnits,
      ...(this.largestWrite === undefined ? {} : { largestWrite: { ...this.largestWrite } }),
      ...(this.largestItemBytes === undefined ? {} : { largestItemBytes: this.largestItemBytes }),
    };
  }

  report(): CapacityReport {
    return {
      totals: this.totals(),
      byOperation: [...this.byOperation].map(([operation, entry]) => [operation, { ...entry }]),
    };
  }

  /** Forgets what was counted (e.g. the table's creation, before the measured part). */
  reset(): void {
    this.byOperation.clear();
    this.largestWrite = undefined;
    this.largestItemBytes = undefined;
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    const targetHeader = String(request.headers['x-amz-target'] ?? '');
    const operation = targetHeader.startsWith(TARGET_PREFIX) ? targetHeader.slice(TARGET_PREFIX.length) : '';
    const metered = READS.has(operation) || WRITES.has(operation);
    let forwarded = text;
    if (metered && (CARRIES_ITEMS.has(operation) || text.includes('"ReturnConsumedCapacity"'))) {
      try {
        const body = JSON.parse(text) as Record<string, unknown>;
        // A caller's own INDEXES also carries the total; keep it.
        if (body.ReturnConsumedCapacity !== 'INDEXES') body.ReturnConsumedCapacity = 'TOTAL';
        for (const item of itemsCarried(operation, body)) {
          const bytes = itemSize(item);
          if (bytes > (this.largestItemBytes ?? -1)) this.largestItemBytes = bytes;
        }
        forwarded = JSON.stringify(body);
      } catch {
        // Not JSON: passed on as it is, DynamoDB answers it.
      }
    } else if (metered && text.trimStart().startsWith('{')) {
      // The common case, without parsing the request: the field goes first.
      const open = text.indexOf('{') + 1;
      const empty = text.slice(open).trimStart().startsWith('}');
      forwarded = `${text.slice(0, open)}"ReturnConsumedCapacity":"TOTAL"${empty ? '' : ','}${text.slice(open)}`;
    }

    const url = new URL(request.url ?? '/', this.target);
    const upstream = httpRequest(url, {
      method: request.method,
      agent: this.agent,
      headers: { ...request.headers, host: url.host, 'content-length': String(Buffer.byteLength(forwarded)) },
    });
    upstream.on('response', (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (metered) this.count(operation, answer.statusCode ?? 0, bytes);
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        response.end(bytes);
      });
    });
    upstream.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`capacity proxy: ${error.message}`);
    });
    upstream.end(forwarded);
  }

  private count(operation: string, status: number, answer: Buffer): void {
    const entry = this.byOperation.get(operation) ?? { calls: 0, errors: 0, readUnits: 0, writeUnits: 0 };
    this.byOperation.set(operation, entry);
    entry.calls++;
    if (status !== 200) {
      entry.errors++;
      return;
    }
    const consumed = consumedOf(answer.toString('utf8'));
    const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    let units = 0;
    for (const capacity of list) {
      const read = capacity.ReadCapacityUnits ?? (READS.has(operation) ? (capacity.CapacityUnits ?? 0) : 0);
      const write =
        capacity.WriteCapacityUnits ?? (WRITES.has(operation) ? (capacity.CapacityUnits ?? 0) : 0);
      entry.readUnits += read;
      entry.writeUnits += write;
      units += write;
    }
    const singleItem = operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem';
    if (singleItem && units > (this.largestWrite?.writeUnits ?? -1))
      this.largestWrite = { operation, writeUnits: units };
  }
}

/** The meter's figures as report lines, per observation when `observations` is given. */
export const describeCapacity = (
  { totals, byOperation }: CapacityReport,
  observations?: number,
): string[] => {
  const per = (units: number) =>
    observations === undefined || observations === 0
      ? ''
      : `, ${(units / observations).toFixed(2)} per observation`;
  const lines = [
    `DynamoDB capacity (ReturnConsumedCapacity=TOTAL on every call, table units as dynalite counts them, no GSI writes):`,
    `  ${totals.writeUnits} WCU${per(totals.writeUnits)}; ${totals.readUnits} RCU${per(totals.readUnits)}; ${totals.calls} calls${per(totals.calls)}, ${totals.errors} refused (conditional failures: DynamoDB bills them, dynalite reports 0)`,
    `  largest single write: ${totals.largestWrite === undefined ? 'none' : `${totals.largestWrite.writeUnits} WCU (${totals.largestWrite.operation}, an item of about ${totals.largestWrite.writeUnits} KB)`}; largest item put whole: ${totals.largestItemBytes === undefined ? 'none' : `${(totals.largestItemBytes / 1024).toFixed(1)} KB`}`,
  ];
  for (const [operation, entry] of [...byOperation].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `  ${operation}: ${entry.calls} calls (${entry.errors} refused), ${entry.writeUnits} WCU, ${entry.readUnits} RCU`,
    );
  }
  return lines;
};
