/**
 * Throw-away PKI for mTLS tests, generated with the system openssl into a temp dir:
 * a city CA, a server certificate for 127.0.0.1/localhost, client certificates A and B signed by the city CA,
 * and a client certificate from an unrelated CA (which nginx must refuse). EC P-256 keys: fast to make.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL = Bun.which('openssl') ?? '/usr/bin/openssl';

export interface CertFiles {
  certPath: string;
  keyPath: string;
  /** PEM text of the certificate. */
  cert: string;
  /** PEM text of the private key (unencrypted). */
  key: string;
}

export interface TestPki {
  dir: string;
  cityCa: CertFiles;
  server: CertFiles;
  clientA: CertFiles;
  clientB: CertFiles;
  otherCa: CertFiles;
  /** Signed by otherCa, not by the city CA. */
  foreignClient: CertFiles;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): string {
  const result = Bun.spawnSync([OPENSSL, ...args], { cwd, stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed (${result.exitCode}): ${result.stderr.toString()}`);
  }
  return result.stdout.toString();
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function files(dir: string, name: string): CertFiles {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

function makeCa(dir: string, name: string, commonName: string): CertFiles {
  openssl(
    [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/O=Permit Gateway Tests/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return files(dir, name);
}

function makeLeaf(dir: string, name: string, commonName: string, ca: string, extensions: string): CertFiles {
  openssl(['req', '-new', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`], dir);
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      `0x${crypto.getRandomValues(new Uint8Array(16)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`,
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return files(dir, name);
}

const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth';
const SERVER_EXT =
  'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
  'subjectAltName=IP:127.0.0.1,DNS:localhost';

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'permit-gateway-pki-'));
  try {
    const cityCa = makeCa(dir, 'city-ca', 'Test City CA');
    const server = makeLeaf(dir, 'server', 'localhost', 'city-ca', SERVER_EXT);
    const clientA = makeLeaf(dir, 'client-a', 'contractor-a.example', 'city-ca', CLIENT_EXT);
    const clientB = makeLeaf(dir, 'client-b', 'contractor-b.example', 'city-ca', CLIENT_EXT);
    const otherCa = makeCa(dir, 'other-ca', 'Unrelated CA');
    const foreignClient = makeLeaf(dir, 'foreign-client', 'contractor-a.example', 'other-ca', CLIENT_EXT);
    return {
      dir,
      cityCa,
      server,
      clientA,
      clientB,
      otherCa,
      foreignClient,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The RFC 8705 thumbprint as openssl computes it: `openssl x509 -fingerprint -sha256` gives hex pairs
 * separated by colons; convert to base64url. An independent check of certThumbprint().
 */
export function opensslThumbprint(certPath: string): string {
  const out = openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'], '/');
  const match = /Fingerprint=([0-9A-F:]+)/i.exec(out);
  if (!match?.[1]) throw new Error(`unexpected openssl fingerprint output: ${out}`);
  return Buffer.from(match[1].replaceAll(':', ''), 'hex').toString('base64url');
}
