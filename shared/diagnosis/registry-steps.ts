/**
 * The registry-specific parts of fixes: how to list what exists, how to grant a node read
 * access, how to build a pull secret. Each returns steps with the real names filled in.
 */
import {
  type FixContext,
  type FixStep,
  nsFlag,
  onNode,
  pathOf,
  repositoryOf,
  shellQuote,
} from './fix-context';
import { podTemplatePullSecretStep, serviceAccountPullSecretSteps } from './workload-steps';

const q = shellQuote;

export const DOCS = {
  images: 'https://kubernetes.io/docs/concepts/containers/images/',
  pullPolicy: 'https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy',
  pullSecret: 'https://kubernetes.io/docs/tasks/configure-pod-container/pull-image-private-registry/',
  debugPods: 'https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/',
  nodePressure: 'https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/',
  containerdHosts: 'https://github.com/containerd/containerd/blob/main/docs/hosts.md',
  referenceGrammar: 'https://github.com/distribution/reference/blob/main/reference.go',
  multiPlatform: 'https://docs.docker.com/build/building/multi-platform/',
  sigstorePolicy: 'https://docs.sigstore.dev/policy-controller/overview/',
  containersPolicy: 'https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md',
  dockerHubLimits: 'https://docs.docker.com/docker-hub/usage/pulls/',
  ecrOnEks: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_EKS.html',
  ecrRepositoryPolicy: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html',
  ecrPullThroughCache: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html',
  ecrVpcEndpoints: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html',
  artifactRegistryAccess: 'https://cloud.google.com/artifact-registry/docs/access-control',
  gcrTransition: 'https://cloud.google.com/artifact-registry/docs/transition/transition-from-gcr',
  acrAks: 'https://learn.microsoft.com/azure/aks/cluster-container-registry-integration',
  ghcr: 'https://docs.github.com/packages/working-with-a-github-packages-registry/working-with-the-container-registry',
  quayRobots: 'https://docs.quay.io/glossary/robot-accounts.html',
  harborRobots:
    'https://goharbor.io/docs/main/working-with-projects/project-configuration/create-robot-accounts/',
  gitlabDeployTokens: 'https://docs.gitlab.com/user/project/deploy_tokens/',
  artifactRegistryQuotas: 'https://cloud.google.com/artifact-registry/quotas',
  ecrPublicQuotas: 'https://docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html',
  ecrQuotas: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html',
  dnsDebugging: 'https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/',
} as const;

/** Where to read about access to this registry. */
export const accessDocs = (ctx: FixContext): string => {
  switch (ctx.registry.kind) {
    case 'ecr':
      return DOCS.ecrOnEks;
    case 'artifact-registry':
      return DOCS.artifactRegistryAccess;
    case 'gcr':
      return DOCS.gcrTransition;
    case 'acr':
      return DOCS.acrAks;
    case 'ghcr':
      return DOCS.ghcr;
    case 'quay':
      return DOCS.quayRobots;
    case 'harbor':
      return DOCS.harborRobots;
    case 'gitlab':
      return DOCS.gitlabDeployTokens;
    default:
      return DOCS.pullSecret;
  }
};

const ecrNames = (ctx: FixContext) => ({
  account: ctx.registry.ecr?.accountId || '<account-id>',
  region: ctx.registry.ecr?.region ?? '<region>',
  repo: pathOf(ctx),
});

/** A step that lists the tags the repository really has. */
export const listTags = (ctx: FixContext): FixStep => {
  const repository = repositoryOf(ctx);
  switch (ctx.registry.kind) {
    case 'ecr': {
      if (!ctx.registry.ecr) break;
      const { account, region, repo } = ecrNames(ctx);
      return {
        text: 'List the tags that exist in the ECR repository:',
        command: `aws ecr describe-images --registry-id ${account} --region ${region} --repository-name ${q(repo)} --query 'sort_by(imageDetails,&imagePushedAt)[-20:].imageTags' --output text`,
      };
    }
    case 'artifact-registry':
      return {
        text: 'List the tags that exist in Artifact Registry:',
        command: `gcloud artifacts docker tags list ${q(repository)}`,
      };
    case 'gcr':
      return {
        text: 'List the tags that exist in Container Registry:',
        command: `gcloud container images list-tags ${q(repository)}`,
      };
    case 'acr': {
      const name = ctx.registry.acr?.name ?? '<registry-name>';
      return {
        text: 'List the tags that exist in the Azure Container Registry:',
        command: `az acr repository show-tags --name ${q(name)} --repository ${q(pathOf(ctx))} --orderby time_desc --output table`,
      };
    }
    default:
      break;
  }
  return {
    text: 'List the tags that exist in the repository (with the same credentials the node uses):',
    command: `skopeo list-tags docker://${q(repository)}`,
  };
};

// The repository-policy statement that lets the nodes' account pull, as a jq update of the policy.
const ECR_PULL_STATEMENT = `.Statement += [${JSON.stringify({
  Sid: 'AllowClusterPull',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::<node-account-id>:root' },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
})}]`;

// gcr.io hosts map to these Artifact Registry multi-regions.
const GCR_LOCATION: Record<string, string> = { gcr: 'us', us: 'us', eu: 'europe', asia: 'asia' };

/** Steps that give the node (the puller) read access to the repository. */
export const grantPull = (ctx: FixContext): FixStep[] => {
  const ns = nsFlag(ctx);
  switch (ctx.registry.kind) {
    case 'ecr': {
      if (!ctx.registry.ecr) return ecrPublicSteps(ctx);
      const { account, region, repo } = ecrNames(ctx);
      const role = ctx.awsRole ?? '<node-role>';
      const repoFlags = `--registry-id ${account} --region ${region} --repository-name ${q(repo)}`;
      return [
        {
          text: `On EKS the kubelet pulls with the node IAM role (on Fargate, the pod execution role); IRSA or Pod Identity of the pod is not used for pulls. Give ${ctx.awsRole ? `the role ${role}, which the registry refused,` : 'that role'} ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, for example with the managed pull-only policy:`,
          command: `aws iam attach-role-policy --role-name ${q(role)} --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly`,
        },
        {
          text: `If the nodes run in another account than ${account}, the repository policy must allow that account (or role) to pull. This adds the statement to the existing policy (set-repository-policy replaces the whole policy, so never set the statement alone over one that exists):`,
          command: `{ aws ecr get-repository-policy ${repoFlags} --query policyText --output text 2>/dev/null || echo '{"Version":"2012-10-17","Statement":[]}'; } | jq ${q(ECR_PULL_STATEMENT)} > pull-policy.json && aws ecr set-repository-policy ${repoFlags} --policy-text file://pull-policy.json`,
        },
        {
          text: 'Off EKS (self-managed, kOps, on-premises or other clouds), the kubelet gets ECR credentials from the ecr-credential-provider plugin (kubelet flags --image-credential-provider-config and --image-credential-provider-bin-dir) with the node’s AWS identity. A pull secret made from aws ecr get-login-password expires after 12 hours, so it needs refreshing (a CronJob) if you use one instead. Check the kubelet’s flags:',
          command: onNode(
            ctx,
            "tr '\\0' '\\n' < /proc/$(pidof kubelet)/cmdline | grep image-credential-provider",
          ),
        },
        ecrPullThroughCacheHint(ctx),
      ];
    }
    case 'artifact-registry': {
      const ar = ctx.registry.artifactRegistry;
      return [
        {
          text: 'Grant the nodes’ service account roles/artifactregistry.reader on the repository (on GKE, the node pool’s service account):',
          command: `gcloud artifacts repositories add-iam-policy-binding ${q(ar?.repository ?? '<repository>')} --location=${q(ar?.location ?? '<location>')} --project=${q(ar?.project ?? '<project>')} --member=serviceAccount:<node-service-account> --role=roles/artifactregistry.reader`,
        },
        {
          text: 'Outside Google Cloud, use a pull secret with a service-account key instead:',
          command: `kubectl create secret docker-registry ${q(ctx.secret)} ${ns} --docker-server=${q(ctx.registry.host)} --docker-username=_json_key --docker-password="$(cat key.json)"`,
        },
      ];
    }
    case 'gcr': {
      const location = GCR_LOCATION[ctx.registry.host.split('.')[0]!] ?? 'us';
      return [
        {
          text: 'Container Registry is served by Artifact Registry now: grant the nodes’ service account roles/artifactregistry.reader on the gcr.io repository of the project:',
          command: `gcloud artifacts repositories add-iam-policy-binding ${q(ctx.registry.host)} --location=${location} --project=${q(ctx.registry.gcr?.project ?? '<project>')} --member=serviceAccount:<node-service-account> --role=roles/artifactregistry.reader`,
        },
      ];
    }
    case 'acr': {
      const name = ctx.registry.acr?.name ?? '<registry-name>';
      return [
        {
          text: 'On AKS, attach the registry to the cluster so the kubelet identity gets AcrPull:',
          command: `az aks update --name <cluster> --resource-group <resource-group> --attach-acr ${q(name)}`,
        },
        {
          text: 'Check that the cluster can reach and authenticate to it:',
          command: `az aks check-acr --name <cluster> --resource-group <resource-group> --acr ${q(ctx.registry.host)}`,
        },
        ...pullSecretSteps(
          ctx,
          'Elsewhere, create a pull secret with a service principal or token that has AcrPull:',
        ),
      ];
    }
    default:
      return pullSecretSteps(ctx);
  }
};

/** Which credential each registry accepts for a pull secret. */
const CREDENTIAL: Partial<Record<FixContext['registry']['kind'], string>> = {
  dockerhub: 'a Docker Hub personal access token with read-only scope (not the account password)',
  ghcr: 'a personal access token (classic) with the read:packages scope: GitHub Packages does not accept fine-grained tokens for the container registry, and a workflow’s GITHUB_TOKEN works only inside GitHub Actions',
  quay: 'a robot account with read permission on the repository',
  harbor: 'a robot account with pull permission on the project',
  gitlab: 'a deploy token with the read_registry scope',
};

const secretUser: Partial<Record<FixContext['registry']['kind'], string>> = {
  dockerhub: '<docker-hub-user> --docker-password=<access-token>',
  ghcr: '<github-user> --docker-password=<token-with-read-packages>',
  quay: "'<org>+<robot>' --docker-password=<robot-token>",
  harbor: "'robot$<project>+<robot>' --docker-password=<robot-secret>",
  gitlab: '<deploy-token-user> --docker-password=<deploy-token-with-read-registry>',
};

/** "<sentence>. Use <the credential this registry accepts>:" */
const withCredential = (ctx: FixContext, sentence: string): string => {
  const base = sentence.replace(/[:.]\s*$/, '');
  const credential = CREDENTIAL[ctx.registry.kind];
  return credential ? `${base}. Use ${credential}:` : `${base}:`;
};

/** The command that creates a docker-registry pull secret for this registry under `ctx.secret`. */
export const createPullSecret = (ctx: FixContext, intro?: string): FixStep => {
  const server = ctx.registry.kind === 'dockerhub' ? 'https://index.docker.io/v1/' : ctx.registry.host;
  const user = secretUser[ctx.registry.kind] ?? '<user> --docker-password=<password-or-token>';
  return {
    text: withCredential(
      ctx,
      intro ??
        `Create a pull secret in namespace ${ctx.namespace} with credentials that can read ${repositoryOf(ctx)}`,
    ),
    command: `kubectl create secret docker-registry ${q(ctx.secret)} ${nsFlag(ctx)} --docker-server=${q(server)} --docker-username=${user}`,
  };
};

/** Create the pull secret and attach it where the pod will use it, keeping the secrets already attached. */
export const pullSecretSteps = (ctx: FixContext, intro?: string): FixStep[] => [
  createPullSecret(ctx, intro),
  ...serviceAccountPullSecretSteps(ctx),
  podTemplatePullSecretStep(ctx),
];

/** Check the secret the pod already names: does it hold credentials for this registry? */
export const inspectSecret = (ctx: FixContext): FixStep => ({
  text: `Check which registries the pull secret ${ctx.secret} holds credentials for (it must include ${ctx.registry.host}):`,
  command: `kubectl get secret ${q(ctx.secret)} ${nsFlag(ctx)} -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d | jq '.auths | keys'`,
});

/** ECR pull-through cache: the rule's prefix, its upstream secret, and the first pull's permissions. */
export const ecrPullThroughCacheHint = (ctx: FixContext): FixStep => ({
  text: 'If this repository is an ECR pull-through cache (its path starts with the rule’s prefix, e.g. docker-hub/), the first pull creates it: the pulling role also needs ecr:CreateRepository and ecr:BatchImportUpstreamImage, the rule’s upstream credentials must be a Secrets Manager secret whose name starts with ecr-pullthroughcache/, and Docker Hub official images need the library/ segment (…/docker-hub/library/nginx). Check the rules and whether the upstream credentials still work:',
  command: `aws ecr describe-pull-through-cache-rules --region ${ecrNames(ctx).region} && aws ecr validate-pull-through-cache-rule --region ${ecrNames(ctx).region} --ecr-repository-prefix <prefix>`,
});

/**
 * ECR's pull-through cache said "The authentication to the upstream registry failed": the node's own
 * credentials were accepted, but ECR could not fetch the image from the upstream with the rule's.
 */
export const ecrUpstreamAuthStep = (ctx: FixContext): FixStep => ({
  text: `ECR’s pull-through cache could not fetch ${repositoryOf(ctx)} from its upstream registry, which refused the rule’s credentials or has no such image. Check the path after the rule’s prefix first: Docker Hub official images need library/ (…/docker-hub/library/nginx), every other image must not have it (…/docker-hub/bitnami/redis). Then check the rule’s upstream credentials: a Secrets Manager secret named ecr-pullthroughcache/…, holding a valid upstream user name and access token:`,
  command: `aws ecr validate-pull-through-cache-rule --region ${ecrNames(ctx).region} --ecr-repository-prefix <prefix>`,
});

/** ECR Public serves anonymous pulls; credentials only raise the quota, and stale ones are refused. */
const ecrPublicSteps = (ctx: FixContext): FixStep[] => [
  {
    text: 'ECR Public (public.ecr.aws) serves images without credentials. A refusal usually means stale credentials for public.ecr.aws (its tokens expire after 12 hours) in a pull secret or the node’s docker config: remove them, or refresh them in us-east-1, where ECR Public authenticates:',
    command: 'aws ecr-public get-login-password --region us-east-1 | head -c 20; echo',
  },
  ...(ctx.pullSecrets.length > 0 ? [inspectSecret(ctx)] : []),
];

/** The registry's own quota, where it has one worth naming. */
export const registryQuotaSteps = (ctx: FixContext): FixStep[] => {
  switch (ctx.registry.kind) {
    case 'ecr':
      return ctx.registry.ecr
        ? [
            {
              text: `Amazon ECR throttles API calls per account and region (BatchGetImage, GetDownloadUrlForLayer, GetAuthorizationToken). See the applied quotas in ${ecrNames(ctx).region}, and request an increase in Service Quotas if rollouts keep hitting them:`,
              command: `aws service-quotas list-service-quotas --service-code ecr --region ${ecrNames(ctx).region} --query 'Quotas[].[QuotaName,Value]' --output table`,
            },
          ]
        : [
            {
              text: 'ECR Public limits anonymous pulls per source IP much more tightly than authenticated ones: authenticate pulls with AWS credentials (a pull secret from aws ecr-public get-login-password, refreshed within 12 hours), or cache the images in a private ECR pull-through cache rule for public.ecr.aws.',
              command:
                'aws ecr create-pull-through-cache-rule --ecr-repository-prefix ecr-public --upstream-registry-url public.ecr.aws --region <region>',
            },
          ];
    case 'artifact-registry':
    case 'gcr':
      return [
        {
          text: 'Artifact Registry counts requests per project and region per minute; a burst of pulls (many nodes at once) can exhaust it. See the quota and its usage on the project’s Quotas page (service artifactregistry.googleapis.com), and request more there:',
          command: `gcloud alpha services quota list --service=artifactregistry.googleapis.com --consumer=projects/${q(ctx.registry.artifactRegistry?.project ?? ctx.registry.gcr?.project ?? '<project>')}`,
        },
      ];
    default:
      return [];
  }
};

export const rateLimitDocs = (ctx: FixContext): string => {
  switch (ctx.registry.kind) {
    case 'dockerhub':
      return DOCS.dockerHubLimits;
    case 'artifact-registry':
    case 'gcr':
      return DOCS.artifactRegistryQuotas;
    case 'ecr':
      return ctx.registry.ecr ? DOCS.ecrQuotas : DOCS.ecrPublicQuotas;
    default:
      return DOCS.ecrPullThroughCache;
  }
};
