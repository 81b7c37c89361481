// Throw-away certificate authorities and server certificates, made with the openssl CLI.
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { runOrThrow } from './processes';

export interface CertificateAuthority {
  name: string;
  certPath: string;
  keyPath: string;
}

export interface ServerCertificate {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** Certificates stay valid for two days: long enough for any run, short enough to be harmless. */
const VALID_DAYS = '2';

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export const createAuthority = async (
  openssl: string,
  folder: string,
  name: string,
): Promise<CertificateAuthority> => {
  const certPath = join(folder, `${name}.crt`);
  const keyPath = join(folder, `${name}.key`);
  await runOrThrow(openssl, [
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    VALID_DAYS,
    '-subj',
    `/O=pullwatch tests/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { name, certPath, keyPath };
};

/** A server certificate for `dnsName` (or an IP address), signed by `authority`. */
export const issueServerCertificate = async (
  openssl: string,
  folder: string,
  authority: CertificateAuthority,
  dnsName: string,
): Promise<ServerCertificate> => {
  const base = join(folder, `${dnsName}.${authority.name}`);
  const [keyPath, csrPath, certPath, extensionsPath] = ['key', 'csr', 'crt', 'ext'].map(
    (suffix) => `${base}.${suffix}`,
  ) as [string, string, string, string];
  await runOrThrow(openssl, [
    'req',
    ...ecKey,
    '-keyout',
    keyPath,
    '-out',
    csrPath,
    '-subj',
    `/CN=${dnsName}`,
  ]);
  await writeFile(
    extensionsPath,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${isIP(dnsName) ? 'IP' : 'DNS'}:${dnsName}`,
    ].join('\n') + '\n',
  );
  await runOrThrow(openssl, [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    authority.certPath,
    '-CAkey',
    authority.keyPath,
    '-CAcreateserial',
    '-out',
    certPath,
    '-days',
    VALID_DAYS,
    '-extfile',
    extensionsPath,
  ]);
  return { certPath, keyPath, cert: await readFile(certPath), key: await readFile(keyPath) };
};
