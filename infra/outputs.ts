/**
 * Keys of the stack outputs that tools read back from CloudFormation (`pullwatch incidents --stack`):
 * defined once for the stack and its readers. Plain constants: no CDK import, so the CLI loads it cheaply.
 * A CfnOutput created directly in the stack keeps its construct id as its OutputKey.
 */
export const INCIDENT_TABLE_OUTPUT = 'IncidentTableName';
/** The pipeline's bus: forwarders put events on it; `pullwatch unmute --stack` announces on it. */
export const EVENT_BUS_OUTPUT = 'EventBusName';
