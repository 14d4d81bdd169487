// The API server's own PKI, made on first start and kept in the data dir: a CA, a serving
// certificate for the listen address and localhost, and an admin token. The kubeconfig written
// beside them is the way in. Keys come from Node's crypto; node-forge signs (Node cannot).
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type forgeTypes from 'node-forge';

// node-forge (~0.2 s to load) is needed only to sign certificates, on first start.
type Forge = typeof forgeTypes;
let forgeModule: Forge | undefined;
async function loadForge(): Promise<Forge> {
  forgeModule ??= (await import('node-forge')).default;
  return forgeModule;
}

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Bearer tokens accepted, token → user. */
  tokens: Map<string, UserInfo>;
  adminToken: string;
}

export interface UserInfo {
  name: string;
  groups: string[];
}

function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function serial(): string {
  // Positive, 16 bytes: a leading byte below 0x80 keeps the DER integer positive.
  return '01' + randomBytes(15).toString('hex');
}

interface SignRequest {
  commonName: string;
  organizations?: string[];
  publicPem: string;
  isCA: boolean;
  dnsNames?: string[];
  ips?: string[];
  usage: 'ca' | 'server' | 'client';
  days: number;
}

function sign(forge: Forge, req: SignRequest, issuer: { cert?: forgeTypes.pki.Certificate; keyPem: string }): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(req.publicPem);
  cert.serialNumber = serial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + req.days * 86_400_000);
  const subject: forgeTypes.pki.CertificateField[] = [{ name: 'commonName', value: req.commonName }];
  for (const o of req.organizations ?? []) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : subject);
  const exts: object[] = [{ name: 'basicConstraints', cA: req.isCA, critical: true }];
  if (req.usage === 'ca') exts.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
  else exts.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
  if (req.usage === 'server') exts.push({ name: 'extKeyUsage', serverAuth: true });
  if (req.usage === 'client') exts.push({ name: 'extKeyUsage', clientAuth: true });
  const alt: { type: number; value?: string; ip?: string }[] = [];
  for (const d of req.dnsNames ?? []) alt.push({ type: 2, value: d });
  for (const ip of req.ips ?? []) alt.push({ type: 7, ip });
  if (alt.length) exts.push({ name: 'subjectAltName', altNames: alt });
  exts.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(exts);
  cert.sign(forge.pki.privateKeyFromPem(issuer.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** The names and addresses the serving certificate covers. */
export function servingNames(listenHost: string, extra: readonly string[] = []): { dnsNames: string[]; ips: string[] } {
  const dnsNames = new Set(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc']);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const h of [listenHost, ...extra]) {
    if (!h || h === '0.0.0.0' || h === '::') continue;
    if (isIP(h)) ips.add(h);
    else dnsNames.add(h);
  }
  return { dnsNames: [...dnsNames], ips: [...ips] };
}

function certCovers(pem: string, names: { dnsNames: string[]; ips: string[] }): boolean {
  const c = new X509Certificate(pem);
  if (new Date(c.validTo).getTime() < Date.now() + 86_400_000) return false;
  return names.ips.every((ip) => c.checkIP(ip) !== undefined) && names.dnsNames.every((d) => c.checkHost(d) !== undefined);
}

/**
 * Loads the PKI from `dir`, making what is missing. The serving certificate is re-issued when
 * it no longer covers the listen address (e.g. a new --listen), keeping the CA.
 */
export async function ensurePki(dir: string, names: { dnsNames: string[]; ips: string[] }): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  const write = (f: string, data: string) => {
    writeFileSync(p(f), data, { mode: 0o600 });
    chmodSync(p(f), 0o600);
  };
  if (!existsSync(p('ca.crt')) || !existsSync(p('ca.key'))) {
    const kp = newKeyPair();
    write('ca.key', kp.privatePem);
    // A name of its own per CA (as client-go's self-signed "host@timestamp", without the "@" a
    // PrintableString cannot hold): another svcnet's client certificates then name an issuer
    // this server does not know. With one shared name, Node's TLS checked their signature
    // against our CA, and OpenSSL's error from that failed check surfaced later on the
    // connection as a client error: a 400 instead of kube's 401.
    const commonName = `svcnet-ca-${Math.floor(Date.now() / 1000)}-${randomBytes(4).toString('hex')}`;
    write('ca.crt', sign(await loadForge(), { commonName, publicPem: kp.publicPem, isCA: true, usage: 'ca', days: 3650 }, { keyPem: kp.privatePem }));
  }
  const caCert = readFileSync(p('ca.crt'), 'utf8');
  const caKey = readFileSync(p('ca.key'), 'utf8');
  if (!existsSync(p('apiserver.crt')) || !existsSync(p('apiserver.key')) || !certCovers(readFileSync(p('apiserver.crt'), 'utf8'), names)) {
    const kp = newKeyPair();
    write('apiserver.key', kp.privatePem);
    const forge = await loadForge();
    write(
      'apiserver.crt',
      sign(
        forge,
        { commonName: 'svcnet-apiserver', publicPem: kp.publicPem, isCA: false, usage: 'server', days: 825, ...names },
        { cert: forge.pki.certificateFromPem(caCert), keyPem: caKey },
      ),
    );
  }
  if (!existsSync(p('tokens.json'))) {
    write('tokens.json', JSON.stringify({ [randomBytes(24).toString('base64url')]: { name: 'admin', groups: ['system:masters', 'system:authenticated'] } }, null, 2) + '\n');
  }
  const tokenFile = JSON.parse(readFileSync(p('tokens.json'), 'utf8')) as Record<string, UserInfo>;
  const tokens = new Map(Object.entries(tokenFile));
  const adminToken = [...tokens.entries()].find(([, u]) => u.name === 'admin')?.[0];
  if (!adminToken) throw new Error(`${p('tokens.json')}: no token for user "admin"`);
  return {
    caCert,
    caKey,
    serverCert: readFileSync(p('apiserver.crt'), 'utf8'),
    serverKey: readFileSync(p('apiserver.key'), 'utf8'),
    tokens,
    adminToken,
  };
}

/** Adds a bearer token for a user (e.g. a node agent) and persists it. */
export function issueToken(dir: string, pki: Pki, user: UserInfo): string {
  const token = randomBytes(24).toString('base64url');
  pki.tokens.set(token, user);
  const out: Record<string, UserInfo> = Object.fromEntries(pki.tokens);
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify(out, null, 2) + '\n', { mode: 0o600 });
  return token;
}

/** A client certificate signed by the CA: CN is the user, O the groups (as Kubernetes reads them). */
export async function issueClientCertificate(pki: Pki, user: UserInfo, days = 365): Promise<{ cert: string; key: string }> {
  const forge = await loadForge();
  const kp = newKeyPair();
  const cert = sign(
    forge,
    { commonName: user.name, organizations: user.groups, publicPem: kp.publicPem, isCA: false, usage: 'client', days },
    { cert: forge.pki.certificateFromPem(pki.caCert), keyPem: pki.caKey },
  );
  return { cert, key: kp.privatePem };
}

