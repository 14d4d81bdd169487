// The agent endpoint's serving certificate: self-signed and kept in <data-dir>/pki, as kubelet
// makes one when it is given none (the API server does not verify it unless told to). Made on
// first start; node-forge signs (Node's crypto cannot make certificates).
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface ServingCert {
  cert: string;
  key: string;
}

function covers(pem: string, hosts: readonly string[]): boolean {
  try {
    const c = new X509Certificate(pem);
    if (new Date(c.validTo).getTime() < Date.now() + 86_400_000) return false;
    return hosts.every((h) => (isIP(h) ? c.checkIP(h) : c.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}

export async function ensureServingCert(dir: string, nodeName: string, hosts: readonly string[]): Promise<ServingCert> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, 'agent.crt');
  const keyPath = join(dir, 'agent.key');
  const names = [...new Set([nodeName, 'localhost', '127.0.0.1', ...hosts])];
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (covers(cert, names)) return { cert, key: readFileSync(keyPath, 'utf8') };
  }
  const forge = (await import('node-forge')).default;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  c.serialNumber = '01' + randomBytes(15).toString('hex');
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: `${nodeName}@${Math.floor(Date.now() / 1000)}` }];
  c.setSubject(subject);
  c.setIssuer(subject);
  c.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  c.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(c);
  writeFileSync(keyPath, keyPem, { mode: 0o600 });
  writeFileSync(certPath, certPem, { mode: 0o644 });
  return { cert: certPem, key: keyPem };
}
