/** The `pullwatch` command. Each subcommand parses its input and calls the domain. */
import { createInterface } from 'node:readline';
import { Command, CommanderError, Option } from 'commander';
import { diagnose } from '#shared/diagnosis/diagnose';
import { classifyStream } from './classify-lines';
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

const writeLine = (line: string): Promise<void> =>
  new Promise((resolve) => {
    if (process.stdout.write(`${line}\n`)) resolve();
    else process.stdout.once('drain', resolve);
  });

class UsageError extends Error {}

const messageFrom = async (argument: string | undefined): Promise<string> => {
  const message = argument ?? (process.stdin.isTTY ? '' : await readStdin());
  if (message.trim().length === 0) {
    throw new UsageError('no message: pass the error text as an argument or on standard input');
  }
  return message.replace(/\r?\n$/, '');
};

interface ExplainOptions {
  json?: boolean;
  reason?: string;
  image?: string;
  namespace?: string;
  pod?: string;
  example?: boolean;
}

export const buildProgram = (): Command => {
  const program = new Command('pullwatch')
    .description('Explains why Kubernetes cannot pull an image, and how to fix it.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('explain')
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
      const verdict = diagnose({ ...input, namespace: options.namespace, pod: options.pod });
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
        const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
        const failed = await classifyStream(lines, writeLine);
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

  return program;
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
    throw error;
  }
};

void main();
