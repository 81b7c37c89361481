/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). `npx cdk synth` uses infra/config/example.json;
 * `npx cdk synth -c config=<name>` uses infra/config/<name>.json. cdk-nag's AWS Solutions checks run
 * on every synth: an unacknowledged finding fails it.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_CONFIG_NAME, type InfraConfig, InfraConfigError, loadInfraConfig } from './config';
import { PullwatchStack } from './stack';

export interface PullwatchApp {
  app: App;
  stack: PullwatchStack;
  config: InfraConfig;
}

/** The app with its stack; `config` is a config name or path, or an already validated config. */
export const createApp = (
  options: { appProps?: AppProps; config?: string | InfraConfig } = {},
): PullwatchApp => {
  const app = new App(options.appProps);
  const selected =
    options.config ?? (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_NAME;
  const config = typeof selected === 'string' ? loadInfraConfig(selected) : selected;
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new PullwatchStack(app, config.stackName, {
    config,
    description: 'pullwatch: why Kubernetes pods cannot pull their image, in Slack (infra/stack.ts)',
    ...(config.account === undefined && config.region === undefined
      ? {}
      : { env: { account: config.account, region: config.region } }),
    tags: { application: 'pullwatch' },
  });
  return { app, stack, config };
};

if (require.main === module) {
  try {
    createApp().app.synth();
  } catch (error) {
    if (error instanceof InfraConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
