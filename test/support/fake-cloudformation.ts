/**
 * A local CloudFormation endpoint that speaks DescribeStacks in the AWS Query protocol, so the real
 * @aws-sdk/client-cloudformation can talk to it: a form-encoded POST
 * (`Action=DescribeStacks&StackName=…&Version=2010-05-15`) answered with a `DescribeStacksResponse`
 * XML document, errors as `ErrorResponse/Error/{Type,Code,Message}`. Like CloudFormation it answers
 * an unknown stack with a 400 ValidationError "Stack with id X does not exist", refuses unsigned
 * requests, records every call, and can be told to fail the next calls (throttling, any error).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LocalServer, readBody } from './local-server';

export interface FakeStack {
  name: string;
  /** CREATE_COMPLETE unless told. */
  status?: string;
  /** OutputKey → OutputValue, in order. */
  outputs?: Record<string, string>;
}

export interface DescribeStacksCall {
  /** 1-based. */
  call: number;
  /** The form fields as sent (Action, Version, StackName…). */
  params: Record<string, string>;
  /** It carried a SigV4 Authorization header. */
  signed: boolean;
  /** From the signature's credential scope (`<key>/<date>/<region>/<service>/aws4_request`). */
  region?: string;
  service?: string;
  /** The HTTP status answered. */
  status: number;
}

export type CloudFormationFault =
  | { kind: 'throttle' }
  /** Any error CloudFormation can answer, e.g. 403 SignatureDoesNotMatch. */
  | { kind: 'error'; status: number; code: string; message: string; type?: 'Sender' | 'Receiver' };

const NAMESPACE = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const ACCOUNT = '123456789012';

const xml = (text: string): string =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/;

export class FakeCloudFormation extends LocalServer {
  readonly calls: DescribeStacksCall[] = [];
  private readonly stacks = new Map<string, FakeStack & { id: string; created: string }>();
  private readonly faults: CloudFormationFault[] = [];

  constructor(private readonly region = 'eu-west-1') {
    super('fake CloudFormation');
  }

  /** Adds (or replaces) a stack. */
  addStack(stack: FakeStack): this {
    const id = `arn:aws:cloudformation:${this.region}:${ACCOUNT}:stack/${stack.name}/${randomUUID()}`;
    this.stacks.set(stack.name, { ...stack, id, created: new Date().toISOString() });
    return this;
  }

  /** Faults for the next calls, one per call, in order. */
  inject(...faults: CloudFormationFault[]): void {
    this.faults.push(...faults);
  }

  /** The StackName of every DescribeStacks call, in order. */
  get describedStacks(): Array<string | undefined> {
    return this.calls
      .filter((call) => call.params.Action === 'DescribeStacks')
      .map((c) => c.params.StackName);
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const params = Object.fromEntries(new URLSearchParams(body));
    const authorization = String(request.headers.authorization ?? '');
    const scope = SIGV4.exec(authorization);
    const record: DescribeStacksCall = {
      call: this.calls.length + 1,
      params,
      signed: scope !== null,
      ...(scope === null ? {} : { region: scope[1], service: scope[2] }),
      status: 200,
    };
    this.calls.push(record);
    const fail = (status: number, code: string, message: string, type = 'Sender'): void => {
      record.status = status;
      response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
      response.end(
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${type}</Type><Code>${xml(code)}</Code>` +
          `<Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    };

    const contentType = String(request.headers['content-type'] ?? '');
    if (request.method !== 'POST' || !contentType.startsWith('application/x-www-form-urlencoded')) {
      fail(400, 'InvalidAction', `expected a form-encoded POST, got ${request.method} ${contentType}`);
      return;
    }
    if (scope === null) {
      fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      return;
    }
    if (scope[2] !== 'cloudformation' || scope[1] !== this.region) {
      fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to ${this.region}/cloudformation`);
      return;
    }
    if (params.Version !== '2010-05-15') {
      fail(400, 'InvalidParameterValue', `unsupported Version ${String(params.Version)}`);
      return;
    }
    if (params.Action !== 'DescribeStacks') {
      fail(400, 'InvalidAction', `Could not find operation ${String(params.Action)} for version 2010-05-15`);
      return;
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'throttle') {
      fail(400, 'Throttling', 'Rate exceeded');
      return;
    }
    if (fault?.kind === 'error') {
      fail(fault.status, fault.code, fault.message, fault.type);
      return;
    }

    const wanted = params.StackName;
    const found =
      wanted === undefined
        ? [...this.stacks.values()]
        : [...this.stacks.values()].filter((stack) => stack.name === wanted || stack.id === wanted);
    if (wanted !== undefined && found.length === 0) {
      fail(400, 'ValidationError', `Stack with id ${wanted} does not exist`);
      return;
    }
    const members = found.map((stack) => {
      const outputs = Object.entries(stack.outputs ?? {})
        .map(
          ([key, value]) =>
            `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`,
        )
        .join('');
      return (
        `<member><StackId>${xml(stack.id)}</StackId><StackName>${xml(stack.name)}</StackName>` +
        `<CreationTime>${stack.created}</CreationTime><StackStatus>${xml(stack.status ?? 'CREATE_COMPLETE')}</StackStatus>` +
        (outputs === '' ? '' : `<Outputs>${outputs}</Outputs>`) +
        `<DisableRollback>false</DisableRollback><Tags/></member>`
      );
    });
    response.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    response.end(
      `<DescribeStacksResponse xmlns="${NAMESPACE}"><DescribeStacksResult><Stacks>${members.join('')}</Stacks>` +
        `</DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>` +
        `</DescribeStacksResponse>`,
    );
  }
}
