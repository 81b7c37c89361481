/**
 * Every printed fix command, for every real message of the corpora and for each kind of owning
 * workload, is checked the way a careful SRE would before pasting it: valid shell, valid JSON for
 * kubectl -p, JSON patches that append or create and never drop an entry, no change the API refuses
 * or a controller undoes, and create commands that kubectl itself accepts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch, deepClone, type Operation } from 'fast-json-patch';
import { type DiagnosisInput, diagnose } from '#shared/diagnosis/diagnose';
import { fillPlaceholders, kubectlPatches, shellSyntaxErrors } from './fix-commands';
import { type Fixture, allFixtures } from './fixtures';

const fixtures = allFixtures();

const OWNERS = [
  { kind: 'Deployment', name: 'api' },
  { kind: 'StatefulSet', name: 'db' },
  { kind: 'CronJob', name: 'nightly' },
  { kind: 'Job', name: 'migrate-29' },
  { kind: 'Pod', name: 'debug' },
  { kind: 'Rollout', name: 'canary' },
] as const;

interface Printed {
  fixture: string;
  owner: string;
  text: string;
  command: string;
}

/** The same message as `explain` sees it (no cluster facts) and as the pipeline sees it (all of them). */
const inputsFor = (fixture: Fixture, index: number): Array<{ owner: string; input: DiagnosisInput }> => {
  const bare = { message: fixture.message, reason: fixture.reason, image: fixture.image };
  const owner = OWNERS[index % OWNERS.length]!;
  const cluster = {
    ...bare,
    namespace: 'payments',
    pod: 'api-7d9f-abcde',
    container: index % 7 === 0 ? 'volume:models' : 'api',
    node: ['ip-10-0-1-5.ec2.internal', 'dev-worker2', 'minikube'][index % 3]!,
    serviceAccount: 'api',
    workload: owner,
    pullSecrets: index % 2 === 0 ? [] : ['regcred'],
  };
  return [
    { owner: 'unknown', input: bare },
    { owner: owner.kind, input: cluster },
  ];
};

const printed: Printed[] = fixtures.flatMap((fixture, index) =>
  inputsFor(fixture, index).flatMap(({ owner, input }) =>
    diagnose(input).fix.steps.flatMap((step) =>
      step.command === undefined
        ? []
        : [{ fixture: fixture.id, owner, text: step.text, command: step.command }],
    ),
  ),
);

const withSecrets = (secrets?: Array<{ name: string }>) => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'api', namespace: 'payments' },
  ...(secrets ? { imagePullSecrets: secrets } : {}),
});

const podSpec = (secrets?: Array<{ name: string }>) => ({
  containers: [{ name: 'api', image: 'x' }],
  ...(secrets ? { imagePullSecrets: secrets } : {}),
});

/** A live object of the patch's target, with or without an imagePullSecrets list. */
const objectFor = (target: string, secrets?: Array<{ name: string }>): object => {
  if (target === 'serviceaccount') return withSecrets(secrets);
  if (target.startsWith('cronjob/')) {
    return { spec: { jobTemplate: { spec: { template: { spec: podSpec(secrets) } } } } };
  }
  return { spec: { template: { spec: podSpec(secrets) } } };
};

const secretsAfter = (object: unknown): Array<{ name: string }> | undefined => {
  const spec = (object as { imagePullSecrets?: unknown; spec?: Record<string, unknown> }).imagePullSecrets
    ? (object as { imagePullSecrets: Array<{ name: string }> })
    : ((JSON.stringify(object).includes('jobTemplate')
        ? (object as { spec: { jobTemplate: { spec: { template: { spec: unknown } } } } }).spec.jobTemplate
            .spec.template.spec
        : (object as { spec?: { template?: { spec?: unknown } } }).spec?.template?.spec) as
        { imagePullSecrets?: Array<{ name: string }> } | undefined);
  return spec?.imagePullSecrets;
};

describe('printed fix commands', () => {
  it('cover every fixture, with and without cluster facts', () => {
    expect(new Set(printed.map((p) => p.fixture)).size).toBe(fixtures.length);
    expect(printed.length).toBeGreaterThan(fixtures.length * 4);
  });

  it('are valid shell once the <placeholders> are filled in', () => {
    const errors = shellSyntaxErrors(printed.map((p) => fillPlaceholders(p.command)));
    expect(errors).toEqual([]);
  });

  it('give kubectl -p an argument that parses as JSON', () => {
    const patches = printed.flatMap((p) => kubectlPatches(p.command));
    expect(patches.length).toBeGreaterThan(50);
    for (const patch of patches) expect(() => JSON.parse(patch.body)).not.toThrow();
  });

  it('never merge-patch imagePullSecrets, which would replace the list', () => {
    for (const p of printed) {
      for (const patch of kubectlPatches(p.command)) {
        if (patch.type !== 'json') expect(patch.body).not.toContain('imagePullSecrets');
        else expect(JSON.parse(patch.body)).not.toContainEqual(expect.objectContaining({ op: 'replace' }));
      }
    }
  });

  it('append to an existing pull-secret list and create a missing one, never dropping an entry', () => {
    const jsonPatches = printed.flatMap((p) =>
      kubectlPatches(p.command)
        .filter((patch) => patch.type === 'json' && patch.body.includes('imagePullSecrets'))
        .map((patch) => ({ ...patch, printed: p, ops: JSON.parse(patch.body) as Operation[] })),
    );
    const appends = jsonPatches.filter((patch) => patch.ops.every((op) => op.path.endsWith('/-')));
    const creates = jsonPatches.filter((patch) =>
      patch.ops.every((op) => op.path.endsWith('/imagePullSecrets')),
    );
    expect(appends.length).toBeGreaterThan(10);
    expect(creates.length).toBeGreaterThan(10);
    expect(appends.length + creates.length).toBe(jsonPatches.length);

    const existing = [{ name: 'other-registry' }, { name: 'mirror' }];
    for (const patch of appends) {
      const after = applyPatch(deepClone(objectFor(patch.target, existing)), patch.ops).newDocument;
      const added = (patch.ops[0] as { value: { name: string } }).value;
      expect(secretsAfter(after)).toEqual([...existing, added]);
      // On an object without the list the append fails loudly instead of inventing one.
      expect(() => applyPatch(deepClone(objectFor(patch.target)), patch.ops)).toThrow();
    }
    for (const patch of creates) {
      const after = applyPatch(deepClone(objectFor(patch.target)), patch.ops).newDocument;
      expect(secretsAfter(after)).toEqual((patch.ops[0] as { value: unknown }).value);
      // A create is printed only for the case where the list is missing, and says so.
      const guarded =
        /printed nothing/.test(patch.printed.text) ||
        /; else kubectl patch .*imagePullSecrets/.test(patch.printed.command);
      expect(guarded).toBe(true);
    }
  });

  it('never change a Pod’s template, pull policy or image when a controller owns it', () => {
    for (const p of printed) {
      for (const patch of kubectlPatches(p.command)) {
        if (patch.target.startsWith('pod/')) {
          expect(patch.body).not.toContain('template');
          expect(patch.body).not.toContain('imagePullPolicy');
        }
      }
      if (p.owner !== 'Pod') expect(p.command).not.toMatch(/set image pod\//);
      expect(p.command).not.toMatch(
        /kubectl (patch|set image) (job|pod)\/\S+ .*(imagePullPolicy|imagePullSecrets)/,
      );
    }
  });

  it('prefer tools every node image has: getent and curl, not nslookup or wget', () => {
    for (const p of printed) expect(p.command).not.toMatch(/\b(nslookup|wget|dig)\b/);
  });

  const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  (kubectl ? it : it.skip)(
    `create secrets that kubectl accepts (kubectl create … --dry-run=client)${kubectl ? '' : ' — skipped: kubectl is not on PATH'}`,
    () => {
      const creates = [
        ...new Set(printed.map((p) => p.command).filter((command) => command.startsWith('kubectl create '))),
      ];
      expect(creates.length).toBeGreaterThan(3);
      const dir = mkdtempSync(join(tmpdir(), 'fix-create-'));
      writeFileSync(join(dir, 'key.json'), '{"type":"service_account"}');
      for (const command of creates) {
        const result = spawnSync('bash', ['-c', `${fillPlaceholders(command)} --dry-run=client -o json`], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') },
        });
        expect({ command, stderr: result.stderr, status: result.status }).toMatchObject({ status: 0 });
        const secret = JSON.parse(result.stdout) as {
          kind: string;
          type: string;
          metadata: { name: string };
        };
        expect(secret.kind).toBe('Secret');
        expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
        expect(fillPlaceholders(command)).toContain(` ${secret.metadata.name} `);
        // kubectl's client-side dry run does not check names; the API would refuse anything but a DNS subdomain.
        expect(secret.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      }
    },
  );
});
