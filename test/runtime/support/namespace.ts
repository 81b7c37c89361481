// The runtimes under test live in a mount namespace of their own, where /etc/hosts and resolv.conf are
// the lab's files (bind-mounted) and a small tmpfs can stand in for a full disk. The machine's files are
// never touched, and nothing needs restoring if the run is killed: the namespace dies with its process.
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Names the runtimes resolve to 127.0.0.1. Any other name gets NXDOMAIN, quickly and offline. */
export const LAB_HOSTNAMES = {
  tls: 'tls.pullwatch.test',
  untrustedCa: 'untrusted-ca.pullwatch.test',
  wrongName: 'wrong-name.pullwatch.test',
  certificateName: 'other.pullwatch.test',
  plainHttp: 'plain-http.pullwatch.test',
  silent: 'silent.pullwatch.test',
} as const;

/** Builds the answer "this name does not exist" (RCODE 3) for a DNS query, echoing its question. */
export const nxdomainAnswer = (query: Buffer): Buffer | undefined => {
  if (query.length < 12) return undefined;
  let offset = 12;
  while (offset < query.length) {
    const length = query[offset] ?? 0;
    if (length === 0) break;
    if ((length & 0xc0) !== 0) return undefined; // queries never compress their question
    offset += length + 1;
  }
  const questionEnd = offset + 1 + 4; // the root label, then QTYPE and QCLASS
  if (questionEnd > query.length) return undefined;
  const answer = Buffer.from(query.subarray(0, questionEnd));
  const recursionDesired = (query[2] ?? 0) & 0x01;
  answer[2] = 0x80 | 0x04 | recursionDesired; // QR, AA, RD as asked
  answer[3] = 0x80 | 0x03; // RA, NXDOMAIN
  answer.writeUInt16BE(1, 4); // one question
  answer.writeUInt16BE(0, 6);
  answer.writeUInt16BE(0, 8);
  answer.writeUInt16BE(0, 10);
  return answer;
};

export interface NameResolution {
  hostsPath: string;
  resolvConfPath: string;
  nameserver: string;
  stop(): Promise<void>;
}

const bindUdp = (socket: Socket, address: string): Promise<void> =>
  new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });

/** Starts the NXDOMAIN resolver on a loopback address and writes the hosts and resolv.conf files. */
export const startNameResolution = async (folder: string): Promise<NameResolution> => {
  let socket: Socket | undefined;
  let nameserver = '';
  const failures: string[] = [];
  for (let attempt = 0; attempt < 8 && !socket; attempt++) {
    const candidate = `127.${53 + attempt}.${(process.pid + attempt) % 250}.53`;
    const udp = createSocket('udp4');
    try {
      await bindUdp(udp, candidate);
      socket = udp;
      nameserver = candidate;
    } catch (error) {
      udp.close();
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  if (!socket) throw new Error(`could not start the test DNS resolver on port 53: ${failures.join('; ')}`);
  const server = socket;
  server.on('message', (query, peer) => {
    const answer = nxdomainAnswer(query);
    if (answer) server.send(answer, peer.port, peer.address);
  });

  const hostsPath = join(folder, 'hosts');
  const resolvConfPath = join(folder, 'resolv.conf');
  await writeFile(
    hostsPath,
    ['127.0.0.1 localhost', '::1 localhost', `127.0.0.1 ${Object.values(LAB_HOSTNAMES).join(' ')}`, ''].join(
      '\n',
    ),
  );
  await writeFile(resolvConfPath, `nameserver ${nameserver}\noptions timeout:2 attempts:1\n`);
  return {
    hostsPath,
    resolvConfPath,
    nameserver,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** A small tmpfs mounted over `path` inside the namespace only: a disk that fills up on demand. */
export interface SmallDisk {
  path: string;
  sizeBytes: number;
}

/**
 * The command line that runs `command` in a new mount namespace where /etc/hosts and /etc/resolv.conf
 * are the lab's files (and `smallDisk`, if given, is mounted). `unshare` and `sh` exec in turn, so the
 * pid spawned is the command's own pid.
 */
export const inLabNamespace = (
  programs: { unshare: string; mount: string },
  resolution: Pick<NameResolution, 'hostsPath' | 'resolvConfPath'>,
  command: string,
  args: readonly string[],
  smallDisk?: SmallDisk,
): [string, string[]] => [
  programs.unshare,
  [
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    [
      '"$0" --bind "$1" /etc/hosts',
      '"$0" --bind "$2" /etc/resolv.conf',
      '{ [ -z "$3" ] || "$0" -t tmpfs -o "size=$4" pullwatch-small-disk "$3"; }',
      'shift 4',
      'exec "$@"',
    ].join(' && '),
    programs.mount,
    resolution.hostsPath,
    resolution.resolvConfPath,
    smallDisk?.path ?? '',
    smallDisk ? String(smallDisk.sizeBytes) : '',
    command,
    ...args,
  ],
];
