/**
 * Synthesizes the stack as `cdk synth` does (cdk.json's context, cdk-nag attached), but without
 * bundling the functions (`aws:cdk:bundling-stacks: []`) unless a test asks for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { type PullwatchApp, createApp } from '../../../infra/app';
import { type InfraConfig, parseInfraConfig } from '../../../infra/config';

export const ROOT = join(__dirname, '..', '..', '..');

/** cdk.json's context: the feature flags a real synth uses. */
export const cdkContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synthesized extends PullwatchApp {
  template: Template;
}

export const synthesize = (
  config: string | InfraConfig = 'example',
  options: { bundle?: boolean; context?: Record<string, unknown>; outdir?: string } = {},
): Synthesized => {
  const created = createApp({
    appProps: {
      context: {
        ...cdkContext(),
        ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
        ...options.context,
      },
      ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    },
    config,
  });
  return { ...created, template: Template.fromStack(created.stack) };
};

/** The example config with changes, e.g. another token source or a central bus. */
export const exampleWith = (changes: (raw: Record<string, unknown>) => void): InfraConfig => {
  const raw = JSON.parse(readFileSync(join(ROOT, 'infra', 'config', 'example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  changes(raw);
  return parseInfraConfig(raw, 'example.json (changed by a test)');
};

// ---------------------------------------------------------------------------------------------
// Template helpers

export type Resource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };

export const resourcesOf = (template: Template, type: string): Array<[string, Resource]> =>
  Object.entries(template.findResources(type) as Record<string, Resource>);

/** `{"Fn::GetAtt": [id, "Arn"]}`, `{"Ref": id}` → id. */
export const referencedId = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
};

export interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of the IAM policies attached to the role `roleId` (inline and AWS::IAM::Policy). */
export const statementsOfRole = (template: Template, roleId: string): Statement[] => {
  const statements: Statement[] = [];
  for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
    const roles = asList(policy.Properties?.Roles as unknown[]).map(referencedId);
    if (!roles.includes(roleId)) continue;
    statements.push(...asList((policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement));
  }
  const role = template.toJSON().Resources[roleId] as Resource;
  for (const inline of asList(
    role.Properties?.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>,
  )) {
    statements.push(...asList(inline.PolicyDocument.Statement));
  }
  for (const [, managed] of resourcesOf(template, 'AWS::IAM::ManagedPolicy')) {
    const roles = asList(managed.Properties?.Roles as unknown[]).map(referencedId);
    if (roles.includes(roleId)) {
      statements.push(
        ...asList((managed.Properties?.PolicyDocument as { Statement: Statement[] }).Statement),
      );
    }
  }
  return statements;
};
