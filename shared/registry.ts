// Placeholder signature; the implementation is being written.
export const REGISTRY_KINDS = [
  'dockerhub',
  'ecr',
  'gcr',
  'artifact-registry',
  'acr',
  'ghcr',
  'quay',
  'harbor',
  'gitlab',
  'other',
] as const;
export type RegistryKind = (typeof REGISTRY_KINDS)[number];
