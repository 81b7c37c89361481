/** The `pullwatch` command. Each subcommand parses its input and calls the domain. */
import { Command, CommanderError, Option } from 'commander';
import { diagnose } from '#shared/diagnosis/diagnose';
import { parseIncidentFilter, parseStatsFilter } from '../functions/history/filters';
import { INCIDENT_TABLE_OUTPUT } from '../infra/outputs';
import { classifyStream } from './classify-lines';
import { renderIncident, renderIncidentList, renderStats } from './history-view';
import type { CheckOptions } from './registry-check';
import { renderVerdict } from './render-verdict';

const EXAMPLE = {
  reason: 'ErrImagePull',
  image: 'nginx:1.27-alpin',
  message:
    'Failed to pull image "nginx:1.27-alpin": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.27-alpin": failed to resolve reference "docker.io/library/nginx:1.27-alpin": docker.io/library/nginx:1.27-alpin: not found',
};

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** Writes to standard output; resolves when it may take more (at once, or after 'drain'). */
const writeOut = (text: string | Uint8Array): Promise<void> =>
  new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });

const writeLine = (line: string): Promise<void> => writeOut(`${line}\n`);

/** Resolves once stdout has handed `bytes` to the system: the caller may then reuse them. */
const writeFlushed = (bytes: string | Uint8Array): Promise<void> =>
  new Promise((resolve) => process.stdout.write(bytes, () => resolve()));

class UsageError extends Error {}
/** The data could not be read (exit 1). */
class ReadError extends Error {}

const messageFrom = async (argument: string | undefined): Promise<string> => {
  const message = argument ?? (process.stdin.isTTY ? '' : await readStdin());
  if (message.trim().length === 0) {
    throw new UsageError('no message: pass the error text as an argument or on standard input');
  }
  return message.replace(/\r?\n$/, '');
};

interface ExplainOptions extends CheckOptions {
  json?: boolean;
  reason?: string;
  image?: string;
  namespace?: string;
  pod?: string;
  example?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `--check` and the hosts it may reach beyond the rules; without `--check` nothing is contacted. */
const checkOptions = (command: Command): Command =>
  command
    .option('--check', "confirm the verdict against the image's registry (contacts the registry)")
    .option(
      '--check-trust <host>',
      'with --check: a registry (host or host:port) that may be on a loopback or private address (repeatable)',
      collect,
    )
    .option(
      '--check-plain-http <host>',
      'with --check: a registry to reach over plain HTTP (repeatable)',
      collect,
    );

/** The registry checker for `--check`, loaded on demand (the AWS SDK takes a moment to load). */
const checkerFor = (options: CheckOptions) => {
  if (!options.check) {
    if (options.checkTrust || options.checkPlainHttp) {
      throw new UsageError('--check-trust and --check-plain-http only apply with --check');
    }
    return undefined;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { laptopChecker } = require('./registry-check') as typeof import('./registry-check');
  return laptopChecker(options);
};

export const buildProgram = (): Command => {
  const program = new Command('pullwatch')
    .description('Explains why Kubernetes cannot pull an image, and how to fix it.')
    .showHelpAfterError()
    .enablePositionalOptions()
    .exitOverride();

  checkOptions(program.command('explain'))
    .description('explain one kubelet/runtime error message (from the argument, or standard input)')
    .argument('[message]', 'the error text; read from standard input when omitted')
    .option('--json', 'print the verdict as JSON')
    .option('--reason <reason>', 'the kubelet reason, e.g. ErrImagePull or InvalidImageName')
    .option('--image <image>', 'the image reference from the pod spec')
    .option('-n, --namespace <namespace>', 'fill the namespace into the fix commands')
    .option('--pod <pod>', 'fill the pod name into the fix commands')
    .addOption(new Option('--example', 'explain a built-in example message').conflicts(['reason', 'image']))
    .action(async (argument: string | undefined, options: ExplainOptions) => {
      const input = options.example
        ? EXAMPLE
        : { message: await messageFrom(argument), reason: options.reason, image: options.image };
      const checker = checkerFor(options);
      const diagnosed = diagnose({ ...input, namespace: options.namespace, pod: options.pod });
      const verdict = checker
        ? await (require('./registry-check') as typeof import('./registry-check')).withRegistryCheck(
            diagnosed,
            input.image,
            checker,
          )
        : diagnosed;
      await writeLine(options.json ? JSON.stringify(verdict, null, 2) : renderVerdict(verdict));
    });

  program
    .command('classify')
    .description('classify messages: with --jsonl, one JSON request per line on standard input')
    .argument('[message]', 'a single message (without --jsonl); read from standard input when omitted')
    .option(
      '--jsonl',
      'read {"message","reason"?,"image"?,"id"?} lines; write one verdict line per input line',
    )
    .option('--reason <reason>', 'the kubelet reason (single message)')
    .option('--image <image>', 'the image reference (single message)')
    .action(
      async (argument: string | undefined, options: { jsonl?: boolean; reason?: string; image?: string }) => {
        if (!options.jsonl) {
          const verdict = diagnose({
            message: await messageFrom(argument),
            reason: options.reason,
            image: options.image,
          });
          await writeLine(JSON.stringify(verdict));
          return;
        }
        if (argument !== undefined)
          throw new UsageError('--jsonl reads standard input; do not pass a message');
        const { classifyThreads, startClassifyPool } =
          require('./classify-pool') as typeof import('./classify-pool');
        let threads: number;
        try {
          threads = classifyThreads();
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const failed = await classifyStream(
          process.stdin,
          writeFlushed,
          threads > 1 ? { start: () => startClassifyPool(threads), inFlight: 2 * threads } : undefined,
        );
        if (failed > 0) {
          process.stderr.write(`${failed} line(s) could not be classified\n`);
          process.exitCode = 1;
        }
      },
    );

  program
    .command('forward')
    .description(
      'run the in-cluster forwarder: watch image-pull failures and ship them to EventBridge (config from the environment)',
    )
    .action(async () => {
      // Loaded on demand: the AWS and Kubernetes clients take seconds to load and only this command needs them.
      const { forwardMain } = require('../forwarder/main') as typeof import('../forwarder/main');
      process.exitCode = await forwardMain();
    });

  program
    .command('start')
    .description(
      'local mode: the forwarder against the current kubeconfig context and the whole pipeline in this process (Ctrl-C to stop); with no kubeconfig at all, the built-in demo',
    )
    .option('--replay <file>', 'play a recording of pod and event changes instead of watching a cluster')
    .option(
      '--demo',
      'play the built-in demo (the shipped recordings, interleaved) instead of watching a cluster',
    )
    .option('--speed <factor>', 'with --replay or --demo: play faster (2) or slower (0.5)')
    .option(
      '--exit',
      'with --replay or --demo: exit once the recording has played and recovered incidents have resolved',
    )
    .option('--data <dir>', 'data folder (default .pullwatch/data, or PULLWATCH_DATA_DIR)')
    .action(async (options: import('../local/main').StartOptions) => {
      // Loaded on demand: the AWS and Kubernetes clients take seconds to load and only this command needs them.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const { startMain } = require('../local/main') as typeof import('../local/main');
      const code = await startMain(options);
      // Whatever a client library left open, local mode is over.
      process.exit(code);
    });

  const sourceOptions = (command: Command): Command =>
    command
      .option('--data <dir>', 'local store folder (default .pullwatch/data)')
      .option('--table <name>', 'read a deployed incident table instead, with your AWS credentials')
      .option(
        '--stack <name>',
        `read the incident table of a deployed pullwatch stack (its output ${INCIDENT_TABLE_OUTPUT}), with your AWS credentials`,
      )
      .option('--region <region>', 'the region of --table or --stack (default AWS_REGION)');

  const incidents = sourceOptions(
    program
      .command('incidents')
      .description('list incidents, newest first (reads the local store, or --stack / --table in AWS)')
      .option('--cluster <name>', 'only this cluster')
      .option('-n, --namespace <name>', 'only this namespace')
      .option('--cause <id>', 'only this cause (see the cause catalogue)')
      .option('--workload <workload>', 'only this workload: deployment/web, or just web')
      .addOption(
        new Option('--open', 'only open incidents (of any age, unless --since)').conflicts('resolved'),
      )
      .option('--resolved', 'only resolved incidents')
      .option(
        '--since <duration>',
        'first seen within this long (7d by default), or since a date (2026-03-01)',
      )
      .option('--limit <n>', 'at most this many (50 by default)')
      .option('--json', 'print JSON'),
  ).action(async (options: IncidentsOptions) => {
    await withHistory(options, async (source) => {
      const now = Date.now();
      const filter = parseIncidentFilter(
        {
          cluster: options.cluster,
          namespace: options.namespace,
          cause: options.cause,
          workload: options.workload,
          status: options.open ? 'open' : options.resolved ? 'resolved' : undefined,
          since: options.since,
          limit: options.limit,
        },
        now,
      );
      const list = await source.queries.list(filter);
      await writeLine(
        options.json
          ? JSON.stringify(list, null, 2)
          : renderIncidentList(list, {
              now,
              ...(filter.since === undefined ? {} : { since: filter.since }),
              source: source.description,
            }),
      );
    });
  });

  sourceOptions(
    incidents
      .command('show')
      .description('one incident in full: verdict, figures and timeline')
      .argument('<id>', 'the incident id, e.g. pw-95g6wgs63kb7')
      .option('--full', 'every container in the timeline (reads all of its rows), not a summary')
      .option('--json', 'print JSON'),
  ).action(
    async (id: string, own: SourceCommandOptions & { json?: boolean; full?: boolean }, command: Command) => {
      // `incidents --stack X show ID` and `incidents show ID --stack X` both work.
      const parent = (command.parent?.opts() ?? {}) as SourceCommandOptions;
      const options = {
        ...own,
        data: own.data ?? parent.data,
        table: own.table ?? parent.table,
        stack: own.stack ?? parent.stack,
        region: own.region ?? parent.region,
      };
      await withHistory(options, async (source) => {
        const record = await source.queries.get(id, { full: own.full === true });
        if (record === undefined) {
          process.stderr.write(`pullwatch: no incident ${id} in the ${source.description}\n`);
          process.exitCode = 1;
          return;
        }
        await writeLine(
          options.json
            ? JSON.stringify(record, null, 2)
            : renderIncident(record, Date.now(), { full: own.full === true }),
        );
      });
    },
  );

  sourceOptions(
    program
      .command('mutes')
      .description('workloads muted from Slack, with who muted them and when (until unmuted)')
      .option('--cluster <name>', 'only this cluster')
      .option('--json', 'print JSON'),
  ).action(async (options: SourceCommandOptions & { cluster?: string; json?: boolean }) => {
    await withHistory(options, async (source) => {
      const { renderMutes } = require('./mutes') as typeof import('./mutes');
      const mutes = await source.silences.listMutes(options.cluster);
      await writeLine(options.json ? JSON.stringify(mutes, null, 2) : renderMutes(mutes, source.description));
    });
  });

  sourceOptions(
    program
      .command('unmute')
      .description('lift a mute set from Slack: its incidents are posted again')
      .argument(
        '<workload>',
        'cluster/namespace/workload, e.g. prod-eu/shop/web (or prod-eu/shop/deployment/web)',
      ),
  )
    .option(
      '--event-bus <name>',
      "with --table: the bus to announce it on (WorkloadUnmuted); --stack uses the stack's own",
    )
    .action(async (argument: string, options: SourceCommandOptions) => {
      await withHistory(options, async (source) => {
        const { unmute, UnmuteInputError } = require('./mutes') as typeof import('./mutes');
        const { userInfo } = require('node:os') as typeof import('node:os');
        let lifted;
        try {
          lifted = await unmute(
            source.silences,
            argument,
            source.bus === undefined
              ? undefined
              : {
                  publisher: source.bus.publisher,
                  by: { userId: 'cli', userName: localUserName(userInfo) },
                  now: Date.now,
                },
          );
        } catch (error) {
          if (error instanceof UnmuteInputError) throw new UsageError(error.message);
          throw error;
        }
        if (lifted.length === 0) {
          process.stderr.write(`pullwatch: ${argument} is not muted (${source.description})\n`);
          process.exitCode = 1;
          return;
        }
        await writeLine(
          lifted
            .map(
              (mute) =>
                `unmuted ${mute.workload.cluster}/${mute.workload.namespace}/${mute.workload.kind.toLowerCase()}/${mute.workload.name} (muted by @${mute.userName})`,
            )
            .concat(
              source.bus !== undefined
                ? [`WorkloadUnmuted put on the bus ${source.bus.name}`]
                : options.table !== undefined
                  ? ['(no bus event: give --event-bus NAME to put WorkloadUnmuted on the pipeline bus)']
                  : [
                      '(no bus event: the local store has none to put it on; with --stack, or --table and --event-bus, WorkloadUnmuted goes on the bus)',
                    ],
            )
            .join('\n'),
        );
      });
    });

  sourceOptions(
    program
      .command('stats')
      .description(
        'incident counts and median time to recover, by cause and by registry (reads the local store, or --stack / --table in AWS)',
      )
      .option('--since <duration>', 'first seen within this long (30d by default), or since a date')
      .option('--cluster <name>', 'only this cluster')
      .option('--json', 'print JSON'),
  ).action(async (options: SourceCommandOptions & { since?: string; cluster?: string; json?: boolean }) => {
    await withHistory(options, async (source) => {
      const stats = await source.queries.stats(parseStatsFilter(options, Date.now()));
      await writeLine(options.json ? JSON.stringify(stats, null, 2) : renderStats(stats, source.description));
    });
  });

  checkOptions(program.command('diagnose'))
    .description(
      'read a pod and its events now (current kubeconfig) and print the verdict: cause, evidence, fix',
    )
    .argument('[pod]', 'the pod; omit with --all')
    .option('-n, --namespace <namespace>', "the pod's namespace (default: the context's, else default)")
    .option('--all', 'every pod of the namespace that is failing to pull its image')
    .option('--json', 'print JSON')
    .action(
      async (
        pod: string | undefined,
        options: { namespace?: string; all?: boolean; json?: boolean } & CheckOptions,
      ) => {
        if (pod === undefined && !options.all)
          throw new UsageError('name a pod, or give --all for every failing pod of the namespace');
        if (pod !== undefined && options.all) throw new UsageError('give a pod or --all, not both');
        const checker = checkerFor(options);
        const { diagnoseMain } = require('./diagnose-main') as typeof import('./diagnose-main');
        process.exitCode = await diagnoseMain(pod, { ...options, checker }, writeLine);
      },
    );

  return program;
};

interface SourceCommandOptions {
  data?: string;
  table?: string;
  stack?: string;
  region?: string;
  /** `unmute` only. */
  eventBus?: string;
}

interface IncidentsOptions extends SourceCommandOptions {
  cluster?: string;
  namespace?: string;
  cause?: string;
  workload?: string;
  open?: boolean;
  resolved?: boolean;
  since?: string;
  limit?: string;
  json?: boolean;
}

/** Who runs the CLI, for the events it puts on the bus (the OS user; never a secret). */
const localUserName = (userInfo: typeof import('node:os').userInfo): string => {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
};

/** Opens the history source, runs the query, closes; input and source problems become usage errors. */
const withHistory = async (
  options: SourceCommandOptions,
  run: (source: import('./history-source').HistorySource) => Promise<void>,
): Promise<void> => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { openHistorySource, SourceError, SourceUnavailable, awsErrorText } =
    require('./history-source') as typeof import('./history-source');
  const { HistoryInputError } =
    require('../functions/history/filters') as typeof import('../functions/history/filters');
  const { StoreBusy } = require('../local/store') as typeof import('../local/store');
  let source: import('./history-source').HistorySource;
  try {
    source = await openHistorySource(options);
  } catch (error) {
    if (error instanceof SourceError) throw new UsageError(error.message);
    if (error instanceof StoreBusy || error instanceof SourceUnavailable) throw new ReadError(error.message);
    throw error;
  }
  try {
    await run(source);
  } catch (error) {
    if (error instanceof HistoryInputError) throw new UsageError(error.message);
    if (error instanceof Error && (options.table !== undefined || options.stack !== undefined)) {
      throw new ReadError(`cannot read ${source.description}: ${awsErrorText(error)}`);
    }
    throw error;
  } finally {
    await source.close();
  }
};

const main = async (): Promise<void> => {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage mistakes exit 2 (commander has printed the reason).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`pullwatch: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof ReadError) {
      process.stderr.write(`pullwatch: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
};

void main();
