/**
 * One IAM role per cluster for its forwarder: `events:PutEvents` on this bus, with the forwarder's
 * own source only (`events:source = pullwatch`, so a cluster cannot forge the pipeline's events),
 * and nothing else. Trusted by EKS Pod Identity or by the cluster's IRSA OIDC provider, in both
 * cases for exactly the forwarder's service account (read from infra/k8s/forwarder/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SOURCE } from '#shared/contract';
import type { ClusterConfig } from '../config';
import type { PullwatchBus } from './event-bus';
import { REPO_ROOT } from './pipeline-function';

export const FORWARDER_MANIFESTS = join(REPO_ROOT, 'infra', 'k8s', 'forwarder');

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The forwarder's namespace (kustomization.yaml) and service account (serviceaccount.yaml). */
export const forwarderServiceAccount = (dir = FORWARDER_MANIFESTS): ServiceAccountRef => {
  const kustomization = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
  const serviceAccount = readFileSync(join(dir, 'serviceaccount.yaml'), 'utf8');
  const namespace = /^namespace:\s*['"]?([a-z0-9-]+)['"]?\s*$/m.exec(kustomization)?.[1];
  const name = /^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*['"]?([a-z0-9.-]+)['"]?\s*$/m.exec(
    serviceAccount,
  )?.[1];
  if (namespace === undefined || name === undefined) {
    throw new Error(`cannot read the forwarder's namespace and service account from ${dir}`);
  }
  return { namespace, name };
};

/** `arn:…:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC` → `oidc.eks.eu-west-1.amazonaws.com/id/ABC`. */
export const issuerOf = (oidcProviderArn: string): string => {
  const issuer = oidcProviderArn.split(':oidc-provider/')[1];
  if (issuer === undefined || issuer === '') throw new Error(`not an OIDC provider ARN: ${oidcProviderArn}`);
  return issuer;
};

/** A CloudFormation output id from a cluster name: `prod-eu` → `ProdEu`. */
export const outputIdOf = (clusterName: string): string =>
  clusterName
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

export interface ForwarderAccessProps {
  bus: PullwatchBus;
  clusters: readonly ClusterConfig[];
  serviceAccount?: ServiceAccountRef;
}

export class ForwarderAccess extends Construct {
  /** Cluster name → its forwarder's role. */
  readonly roles = new Map<string, iam.Role>();
  readonly serviceAccount: ServiceAccountRef;

  constructor(scope: Construct, id: string, props: ForwarderAccessProps) {
    super(scope, id);
    const serviceAccount = props.serviceAccount ?? forwarderServiceAccount();
    this.serviceAccount = serviceAccount;
    const usedOutputIds = new Set<string>();

    for (const cluster of props.clusters) {
      let outputId = `ForwarderRoleArn${outputIdOf(cluster.name)}`;
      for (let n = 2; usedOutputIds.has(outputId); n++)
        outputId = `ForwarderRoleArn${outputIdOf(cluster.name)}${n}`;
      usedOutputIds.add(outputId);

      const role = new iam.Role(this, `${outputIdOf(cluster.name)}Role`, {
        assumedBy: this.principalFor(cluster, serviceAccount),
        description: `pullwatch forwarder of cluster ${cluster.name} (${cluster.auth.type}): PutEvents on the pullwatch bus only`,
        maxSessionDuration: Duration.hours(1),
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [props.bus.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': SOURCE } },
        }),
      );
      this.roles.set(cluster.name, role);

      if (cluster.auth.type === 'pod-identity' && cluster.auth.createAssociation) {
        new eks.CfnPodIdentityAssociation(this, `${outputIdOf(cluster.name)}Association`, {
          clusterName: cluster.auth.eksClusterName ?? cluster.name,
          namespace: serviceAccount.namespace,
          serviceAccount: serviceAccount.name,
          roleArn: role.roleArn,
        });
      }

      new CfnOutput(scope, outputId, {
        value: role.roleArn,
        description:
          cluster.auth.type === 'irsa'
            ? `Forwarder role of ${cluster.name}: the eks.amazonaws.com/role-arn annotation of ${serviceAccount.namespace}/${serviceAccount.name}`
            : `Forwarder role of ${cluster.name}: the role of the pod identity association for ${serviceAccount.namespace}/${serviceAccount.name}`,
      });
    }
  }

  private principalFor(cluster: ClusterConfig, serviceAccount: ServiceAccountRef): iam.IPrincipal {
    const { auth } = cluster;
    if (auth.type === 'irsa') {
      const issuer = issuerOf(auth.oidcProviderArn);
      return new iam.FederatedPrincipal(
        auth.oidcProviderArn,
        {
          StringEquals: {
            [`${issuer}:sub`]: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
            [`${issuer}:aud`]: 'sts.amazonaws.com',
          },
        },
        'sts:AssumeRoleWithWebIdentity',
      );
    }
    // EKS Pod Identity assumes the role with session tags naming the cluster, namespace and
    // service account; the conditions accept exactly this cluster's forwarder.
    return new iam.SessionTagsPrincipal(
      new iam.ServicePrincipal('pods.eks.amazonaws.com').withConditions({
        StringEquals: {
          'aws:SourceAccount': Stack.of(this).account,
          'aws:RequestTag/eks-cluster-name': auth.eksClusterName ?? cluster.name,
          'aws:RequestTag/kubernetes-namespace': serviceAccount.namespace,
          'aws:RequestTag/kubernetes-service-account': serviceAccount.name,
        },
      }),
    );
  }
}
