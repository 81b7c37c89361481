/**
 * `npm run bench`: classifier throughput over the fixture corpus on one core, `classify --jsonl`
 * throughput through the CLI (a child process: parse, validate, diagnose, serialise, write), and the
 * worst case for adversarial 1 MiB inputs. Prints figures; asserts nothing. On a shared machine the
 * rates fall with the load, so the load average is printed with them.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type DiagnosisInput, diagnose } from '#shared/diagnosis/diagnose';
import { classifyThreads } from '../cli/classify-pool';

const FIXTURES = [
  'test/fixtures/messages/corpus.jsonl',
  'test/fixtures/messages/holdout.jsonl',
  'test/fixtures/runtime/captured.jsonl',
];

const loadCorpus = (): DiagnosisInput[] =>
  FIXTURES.map((file) => join(__dirname, '..', file))
    .filter((path) => existsSync(path))
    .flatMap((path) => readFileSync(path, 'utf8').split('\n'))
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const { message, reason, image } = JSON.parse(line) as DiagnosisInput;
      return { message, reason, image };
    });

/** Messages per second of wall time, and per second of this process's CPU time (less sensitive to the load). */
const throughput = (corpus: DiagnosisInput[], seconds: number): { wall: number; cpu: number } => {
  let count = 0;
  const cpuBefore = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (const input of corpus) diagnose(input);
    count += corpus.length;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: count / seconds, cpu: count / ((cpu.user + cpu.system) / 1e6) };
};

const BIN = join(__dirname, '..', 'bin', 'pullwatch.js');
const NEWLINE = 10;

/** CPU seconds a process has used, all its threads (Linux); undefined elsewhere or once it is gone. */
const cpuSecondsOf = (pid: number | undefined): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [utime, stime] = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 13)
      .map(Number);
    return (utime! + stime!) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
};
// USER_HZ, 100 on every Linux architecture Node runs on.
const CLOCK_TICKS = 100;
const CPU_SAMPLE_MS = 20;

/**
 * Lines per second of `pullwatch classify --jsonl` on `lines` requests made from the corpus, from
 * its first answer to its last: the process's start (tsx, module loading) is excluded. Also, where
 * /proc says, the lines per CPU-second of the process (all its threads) over the same answers,
 * which the load of other processes changes much less.
 */
const cliThroughput = (corpus: DiagnosisInput[], lines: number): Promise<{ wall: number; cpu?: number }> =>
  new Promise((resolve, reject) => {
    const input = Buffer.from(
      `${Array.from({ length: lines }, (_, id) => JSON.stringify({ id, ...corpus[id % corpus.length] })).join('\n')}\n`,
    );
    const child = spawn(process.execPath, [BIN, 'classify', '--jsonl'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let firstAt: number | undefined;
    let firstLines = 0;
    let answered = 0;
    let firstCpu: number | undefined;
    let lastCpu: { at: number; seconds: number; answered: number } | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      let count = 0;
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) count++;
      const now = performance.now();
      if (firstAt === undefined) {
        firstAt = now;
        firstLines = count;
        firstCpu = cpuSecondsOf(child.pid);
      }
      answered += count;
      if (firstCpu !== undefined && (lastCpu === undefined || now - lastCpu.at >= CPU_SAMPLE_MS)) {
        const seconds = cpuSecondsOf(child.pid);
        if (seconds !== undefined) lastCpu = { at: now, seconds, answered };
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0 || answered !== lines || firstAt === undefined) {
        reject(new Error(`classify --jsonl exited ${code} after ${answered} of ${lines} lines`));
        return;
      }
      const cpuSeconds = lastCpu && firstCpu !== undefined ? lastCpu.seconds - firstCpu : 0;
      resolve({
        wall: (answered - firstLines) / ((performance.now() - firstAt) / 1000),
        cpu: cpuSeconds > 0.5 ? (lastCpu!.answered - firstLines) / cpuSeconds : undefined,
      });
    });
    child.stdin.end(input);
  });

const MIB = 1 << 20;
const fill = (unit: string): string => unit.repeat(Math.ceil(MIB / unit.length)).slice(0, MIB);

const ADVERSARIAL: Record<string, () => DiagnosisInput> = {
  'one character': () => ({ message: fill('a') }),
  'separators ": "': () => ({ message: fill(': ') }),
  'near-miss phrases': () => ({ message: fill('not foun connection refuse x50 tls handshake timeou ') }),
  'every phrase, repeated': () => ({
    message: fill('not found; 401 Unauthorized; i/o timeout; no such host; x509: eof 429 503 '),
  }),
  'quotes and markers': () => ({ message: fill('pull image "image "reference "') }),
  'line breaks inside phrases': () => ({
    message: `e${'\n'.repeat(MIB / 2)}of ${fill('e\n\n\no\n\nf no such\n\nhost ').slice(MIB / 2)}`,
  }),
  'unicode and control': () => ({ message: fill('\u0000\u202e\ud83d\ude00<!channel>&') }),
  'huge image reference': () => ({ message: 'x', image: fill('a/') }),
  'huge quoted image': () => ({ message: `Failed to pull image "${fill('a')}": not found` }),
};

/** Median and maximum of `runs` timed calls on one input (the maximum includes GC pauses). */
const timings = (make: () => DiagnosisInput, runs: number): { median: number; max: number } => {
  const input = make();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    diagnose(input);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(runs / 2)]!, max: times[runs - 1]! };
};

const load = (): string =>
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')} on ${availableParallelism()} cores`;

const main = async (): Promise<void> => {
  console.log(`before: ${load()}`);
  const corpus = loadCorpus();
  if (corpus.length === 0) throw new Error(`no fixtures found in ${FIXTURES.join(', ')}`);
  throughput(corpus, 0.5); // warm-up for the JIT
  const rate = throughput(corpus, 3);
  console.log(
    `classifier throughput: ${Math.round(rate.wall).toLocaleString('en')} messages/s on one core (${corpus.length} fixtures, target >= 100,000); ${Math.round(rate.cpu).toLocaleString('en')} per CPU-second`,
  );
  const lines = 200_000;
  const cli = await cliThroughput(corpus, lines);
  console.log(
    `classify --jsonl through the CLI: ${Math.round(cli.wall).toLocaleString('en')} lines/s (${lines.toLocaleString('en')} lines, startup excluded, ${classifyThreads()} classify threads; target >= 50,000, 100,000 where the cores allow)${cli.cpu === undefined ? '' : `; ${Math.round(cli.cpu).toLocaleString('en')} per CPU-second of the CLI (all threads)`}`,
  );
  console.log('adversarial 1 MiB inputs, 10 runs each (target < 20 ms):');
  let worstMedian = 0;
  let worstMax = 0;
  for (const [name, make] of Object.entries(ADVERSARIAL)) {
    timings(make, 2);
    const { median, max } = timings(make, 10);
    worstMedian = Math.max(worstMedian, median);
    worstMax = Math.max(worstMax, max);
    console.log(`  ${name.padEnd(28)} median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
  }
  console.log(
    `worst case: median ${worstMedian.toFixed(2)} ms, max ${worstMax.toFixed(2)} ms per 1 MiB input`,
  );
  console.log(`after: ${load()}`);
};

void main();
