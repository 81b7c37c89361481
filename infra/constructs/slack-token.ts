/**
 * The Slack bot token's secret: created empty (put the token in after the first deploy) or an
 * existing one referenced by name. Only its id travels in the notify function's environment; the
 * function reads the value at run time, so the token is never in a template, a variable or a log.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import { acknowledge } from './acknowledgements';

export interface SlackTokenProps {
  token: InfraConfig['slack']['token'];
}

export class SlackToken extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** What notify is given (PULLWATCH_SLACK_TOKEN_SECRET): the ARN of a created secret, or the name. */
  readonly secretId: string;
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: SlackTokenProps) {
    super(scope, id);
    if (props.token.source === 'existing') {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.token.secretName);
      this.secretId = props.token.secretName;
      this.created = false;
      return;
    }
    const secret = new secretsmanager.Secret(this, 'Secret', {
      ...(props.token.secretName === undefined ? {} : { secretName: props.token.secretName }),
      description:
        'pullwatch: the Slack bot token (xoxb-…), or JSON {"token": "xoxb-…"}. Created empty: put the token with `aws secretsmanager put-secret-value`.',
    });
    // No value at all: without GenerateSecretString and SecretString, CloudFormation creates the
    // secret empty, so nothing resembling a token is ever in the template.
    (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
      'GenerateSecretString',
    );
    acknowledge(
      secret,
      'AwsSolutions-SMG4',
      'The Slack bot token is issued by Slack, not by AWS: it is rotated by reinstalling the Slack app and putting the new token, which a rotation Lambda cannot do.',
    );
    this.secret = secret;
    this.secretId = secret.secretArn;
    this.created = true;
  }

  /** GetSecretValue on this secret only. */
  grantRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.created ? this.secret.secretArn : this.referencedArn()],
      }),
    );
  }

  /** A secret referenced by name has an unknown random suffix: `<name>-??????` matches exactly it. */
  private referencedArn(): string {
    return `${this.secret.secretArn}-??????`;
  }
}
