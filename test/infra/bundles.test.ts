/**
 * The one test that bundles: every function as `cdk synth` builds it (the local esbuild, no Docker).
 * Each bundle is under 1 MB, loads in a fresh Node process, and its role allows every AWS call the
 * bundle makes (the SDK command classes it uses, mapped to their IAM actions).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Resource, ROOT, asList, resourcesOf, statementsOfRole, synthesize } from './support/synth';

const MAX_BUNDLE_BYTES = 1024 * 1024;

/** The IAM action each SDK command needs. A command missing here fails the test until it is added. */
const ACTION_OF_COMMAND: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchGetItemCommand: 'dynamodb:BatchGetItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  PutEventsCommand: 'events:PutEvents',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  DescribeImagesCommand: 'ecr:DescribeImages',
  ListImagesCommand: 'ecr:ListImages',
  BatchGetImageCommand: 'ecr:BatchGetImage',
};

let outdir: string;
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'pullwatch-bundles-'));
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

test('every function bundles under 1 MB, loads, and may make every AWS call it contains', () => {
  const { app, stack, template } = synthesize('example', { bundle: true, outdir });
  app.synth();
  const functions = stack.functions;
  const deployedExports = new Map<string, string[]>();
  for (const fn of functions) {
    const [, name, entry] = /^functions\/([^/]+)\/handler\.(\w+)$/.exec(fn.entryPoint)!;
    deployedExports.set(name!, [...(deployedExports.get(name!) ?? []), entry!].sort());
  }
  const report: string[] = [];
  const loaded = new Set<string>();
  for (const fn of functions) {
    const logicalId = stack.getLogicalId(fn.function.node.defaultChild as never);
    const resource = template.toJSON().Resources[logicalId] as Resource;
    const key = (resource.Properties!.Code as { S3Key: string }).S3Key;
    const bundle = join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
    const bytes = statSync(bundle).size;
    report.push(`${fn.entryPoint}: ${(bytes / 1024).toFixed(1)} KiB`);
    expect({ function: fn.entryPoint, underOneMegabyte: bytes < MAX_BUNDLE_BYTES }).toEqual({
      function: fn.entryPoint,
      underOneMegabyte: true,
    });

    // The SDK is external (the runtime has it); here it resolves from the repository's node_modules.
    if (!loaded.has(bundle)) {
      loaded.add(bundle);
      const env = Object.fromEntries(
        Object.entries(
          (resource.Properties!.Environment as { Variables: Record<string, unknown> }).Variables,
        ).map(([name, value]) => [name, typeof value === 'string' ? value : 'pullwatch-dummy']),
      );
      // Node 24 on Lambda takes async handlers only (no callback style): each export must be one.
      const script = `const m=require(${JSON.stringify(bundle)});const f=Object.keys(m).filter((k)=>typeof m[k]==='function').sort();process.stdout.write(JSON.stringify({exports:f,notAsync:f.filter((k)=>m[k].constructor.name!=='AsyncFunction')}))`;
      const run = spawnSync(process.execPath, ['-e', script], {
        env: {
          PATH: process.env.PATH,
          NODE_PATH: join(ROOT, 'node_modules'),
          AWS_REGION: 'eu-west-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...env,
        },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect({ function: fn.entryPoint, status: run.status, stderr: run.stderr }).toEqual({
        function: fn.entryPoint,
        status: 0,
        stderr: '',
      });
      // Every entry point the handler exports is deployed, and every deployed one exists.
      const name = fn.entryPoint.split('/')[1]!;
      const loadedExports = JSON.parse(run.stdout) as { exports: string[]; notAsync: string[] };
      expect({ handler: `functions/${name}/handler.ts`, exports: loadedExports.exports }).toEqual({
        handler: `functions/${name}/handler.ts`,
        exports: deployedExports.get(name),
      });
      expect({ handler: `functions/${name}/handler.ts`, notAsync: loadedExports.notAsync }).toEqual({
        handler: `functions/${name}/handler.ts`,
        notAsync: [],
      });
    }

    const code = readFileSync(bundle, 'utf8');
    const commands = [
      ...new Set([...code.matchAll(/\b([A-Z][A-Za-z]+Command)\b/g)].map((match) => match[1]!)),
    ];
    const needed = commands.map((command) => ACTION_OF_COMMAND[command] ?? `unmapped ${command}`);
    const allowed = new Set(
      statementsOfRole(template, stack.getLogicalId(fn.role.node.defaultChild as never))
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => asList(statement.Action)),
    );
    expect({ function: fn.entryPoint, missing: needed.filter((action) => !allowed.has(action)) }).toEqual({
      function: fn.entryPoint,
      missing: [],
    });
  }
  expect(resourcesOf(template, 'AWS::Lambda::Function')).toHaveLength(functions.length);
  console.log(`bundle sizes:\n  ${report.join('\n  ')}`);
});
