/**
 * The incident table, built from its definition in functions/_common/incident-table.ts (the same
 * data the dynalite tests create their table from): keys, indexes and projections, TTL attribute.
 * On-demand, point-in-time recovery, KMS encryption, deletion protection, retained on stack deletion.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { INCIDENT_TABLE, incidentTableDefinition } from '../../functions/_common/incident-table';

/** The DynamoDB writes the functions make (a test checks grants against what each bundle calls). */
export const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

type KeyElement = { AttributeName?: string; KeyType?: string };

const attributeType = (type: string | undefined): dynamodb.AttributeType => {
  switch (type) {
    case 'S':
      return dynamodb.AttributeType.STRING;
    case 'N':
      return dynamodb.AttributeType.NUMBER;
    case 'B':
      return dynamodb.AttributeType.BINARY;
    default:
      throw new Error(`incident table: unknown attribute type ${type}`);
  }
};

const projectionType = (type: string | undefined): dynamodb.ProjectionType => {
  switch (type) {
    case 'ALL':
      return dynamodb.ProjectionType.ALL;
    case 'KEYS_ONLY':
      return dynamodb.ProjectionType.KEYS_ONLY;
    case 'INCLUDE':
      return dynamodb.ProjectionType.INCLUDE;
    default:
      throw new Error(`incident table: unknown projection ${type}`);
  }
};

export class IncidentTable extends Construct {
  readonly table: dynamodb.Table;
  /** The index names, as the definition has them. */
  readonly indexNames: string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The name is only needed by the CreateTable shape; CloudFormation names the real table.
    const definition = incidentTableDefinition('pullwatch-incidents');
    const types = new Map(
      (definition.AttributeDefinitions ?? []).map((attribute) => [
        attribute.AttributeName,
        attributeType(attribute.AttributeType),
      ]),
    );
    const key = (schema: readonly KeyElement[] | undefined, keyType: 'HASH' | 'RANGE') => {
      const name = schema?.find((element) => element.KeyType === keyType)?.AttributeName;
      if (name === undefined) return undefined;
      const type = types.get(name);
      if (type === undefined) throw new Error(`incident table: no attribute definition for ${name}`);
      return { name, type };
    };

    const partitionKey = key(definition.KeySchema, 'HASH');
    if (partitionKey === undefined) throw new Error('incident table: the definition has no partition key');
    const sortKey = key(definition.KeySchema, 'RANGE');
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey,
      ...(sortKey === undefined ? {} : { sortKey }),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: INCIDENT_TABLE.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.indexNames = [];
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      const indexName = index.IndexName;
      const indexPartitionKey = key(index.KeySchema, 'HASH');
      if (indexName === undefined || indexPartitionKey === undefined) {
        throw new Error(`incident table: index ${indexName ?? '(unnamed)'} has no name or partition key`);
      }
      const indexSortKey = key(index.KeySchema, 'RANGE');
      const projection = projectionType(index.Projection?.ProjectionType);
      this.table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: indexPartitionKey,
        ...(indexSortKey === undefined ? {} : { sortKey: indexSortKey }),
        projectionType: projection,
        ...(projection === dynamodb.ProjectionType.INCLUDE
          ? { nonKeyAttributes: [...(index.Projection?.NonKeyAttributes ?? [])] }
          : {}),
      });
      this.indexNames.push(indexName);
    }
  }

  /** The table and each of its indexes, by ARN (no wildcard). */
  get resourceArns(): string[] {
    return [this.table.tableArn, ...this.indexNames.map((name) => `${this.table.tableArn}/index/${name}`)];
  }

  /** Reads: GetItem and BatchGetItem on the table, Query on the table and its indexes. */
  grantReadIncidents(grantee: iam.IGrantable): void {
    const policy = grantee.grantPrincipal;
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [this.table.tableArn],
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: this.resourceArns }),
    );
  }

  /**
   * DeleteItem on the items an action lifts, and no other: a workload's snooze (`SNOOZE#…`) and a
   * mute (the `MUTES` partition). Everything else in the table is never deleted.
   */
  grantLiftSilences(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SNOOZE#*', 'MUTES'] } },
      }),
    );
  }

  /** Reads, and PutItem / UpdateItem on the table (all writes are conditional; nothing is deleted). */
  grantReadWriteIncidents(grantee: iam.IGrantable): void {
    this.grantReadIncidents(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...WRITE_ACTIONS], resources: [this.table.tableArn] }),
    );
  }
}
