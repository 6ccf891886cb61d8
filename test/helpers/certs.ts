// Certificates generated during a test run with openssl (EC P-256, valid two days): a CA, a server
// certificate for localhost/127.0.0.1, a client certificate (CN=client-1) from the same CA, and a
// client certificate from an unrelated CA (rejected by --tls-client-auth-policy=require-verify).

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestCerts {
  dir: string
  caFile: string
  certFile: string
  keyFile: string
  clientCertFile: string
  clientKeyFile: string
  rogueCertFile: string
  rogueKeyFile: string
  ca: Buffer
  clientCert: Buffer
  clientKey: Buffer
  rogueCert: Buffer
  rogueKey: Buffer
}

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function issue (dir: string, name: string, cn: string, ca: string, ext: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext)
  openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`])
}

/** Generates a fresh set into a temp dir, removed at teardown. */
export function makeCerts (t: { teardown (fn: () => unknown): void }): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-certs-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  for (const ca of ['ca', 'rogue-ca']) {
    openssl(dir, ['req', '-x509', ...KEY, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`])
  }
  issue(dir, 'server', 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  issue(dir, 'client', 'client-1', 'ca', 'extendedKeyUsage=clientAuth\n')
  issue(dir, 'rogue', 'rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n')
  const f = (n: string): string => path.join(dir, n)
  return {
    dir,
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    rogueCertFile: f('rogue.pem'),
    rogueKeyFile: f('rogue.key'),
    ca: fs.readFileSync(f('ca.pem')),
    clientCert: fs.readFileSync(f('client.pem')),
    clientKey: fs.readFileSync(f('client.key')),
    rogueCert: fs.readFileSync(f('rogue.pem')),
    rogueKey: fs.readFileSync(f('rogue.key'))
  }
}
