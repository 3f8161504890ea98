/**
 * Hand-built PKCS#10 requests for the differential CSR test: every byte under the test's control,
 * so a case can be any mutation (two extensionRequest attributes, non-minimal lengths, odd SAN
 * encodings, ...) and still carry a valid signature over exactly the bytes it has.
 */
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** One DER element; len: 'long' writes the length in two bytes (0x82 hi lo: not minimal below 256), 'indef' BER indefinite. */
export function tlv(tag: number, content: Buffer, len: 'der' | 'long' | 'indef' = 'der'): Buffer {
  if (len === 'indef') return Buffer.concat([Buffer.from([tag | 0x20, 0x80]), content, Buffer.from([0, 0])]);
  const n = content.length;
  let head: number[];
  if (len === 'long') head = [0x82, n >> 8, n & 0xff];
  else if (n < 0x80) head = [n];
  else if (n < 0x100) head = [0x81, n];
  else head = [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...head]), content]);
}
export const seq = (...c: Buffer[]) => tlv(0x30, Buffer.concat(c));
export const set = (...c: Buffer[]) => tlv(0x31, Buffer.concat(c));

export function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const bytes = [40 * p[0]! + p[1]!];
  for (const v of p.slice(2)) {
    const b: number[] = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) b.unshift((x & 0x7f) | 0x80);
    bytes.push(...b);
  }
  return tlv(0x06, Buffer.from(bytes));
}
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));
export const bmp = (s: string) => tlv(0x1e, Buffer.from(s, 'utf16le').swap16());
export const octets = (b: Buffer) => tlv(0x04, b);

export const OID = { cn: '2.5.4.3', o: '2.5.4.10', extReq: '1.2.840.113549.1.9.14', challenge: '1.2.840.113549.1.9.7', san: '2.5.29.17', keyUsage: '2.5.29.15', ecdsaSha256: '1.2.840.10045.4.3.2' };

/** An RDN per attribute, as openssl writes -subj /O=.../CN=... */
export function name(...attrs: Array<[string, Buffer]>): Buffer {
  return seq(...attrs.map(([t, v]) => set(seq(oid(t), v))));
}
export const nodeSubject = (node: string) => name([OID.o, utf8('system:nodes')], [OID.cn, utf8(`system:node:${node}`)]);

export type GeneralName = { dns: string } | { ip: Buffer } | { email: string } | { uri: string } | { raw: Buffer };
export function generalName(g: GeneralName): Buffer {
  if ('dns' in g) return tlv(0x82, Buffer.from(g.dns, 'latin1'));
  if ('ip' in g) return tlv(0x87, g.ip);
  if ('email' in g) return tlv(0x81, Buffer.from(g.email, 'latin1'));
  if ('uri' in g) return tlv(0x86, Buffer.from(g.uri, 'latin1'));
  return g.raw;
}
export const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
export const sanValue = (...names: GeneralName[]) => seq(...names.map(generalName));
export const extension = (type: string, value: Buffer) => seq(oid(type), octets(value));
export const sanExt = (...names: GeneralName[]) => extension(OID.san, sanValue(...names));
/** An extensionRequest attribute: values is the SET's content (usually one SEQUENCE OF Extension). */
export const extReqAttr = (...values: Buffer[]) => seq(oid(OID.extReq), set(...values));
export const extensions = (...exts: Buffer[]) => seq(...exts);

let key: KeyObject | undefined;
let spki: Buffer | undefined;
export function keyPair(): { key: KeyObject; spki: Buffer } {
  if (!key) {
    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    key = createPrivateKey(kp.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    spki = kp.publicKey.export({ type: 'spki', format: 'der' });
  }
  return { key, spki: spki! };
}

/** CertificationRequestInfo: version 0, subject, key, [0] attributes. */
export function tbs(subject: Buffer, attributes: Buffer[], opts: { attrsTag?: Buffer } = {}): Buffer {
  return seq(tlv(0x02, Buffer.from([0])), subject, keyPair().spki, opts.attrsTag ?? tlv(0xa0, Buffer.concat(attributes)));
}

/** Sign exactly these TBS bytes (ECDSA P-256 SHA-256) and wrap them: the DER of a CSR. */
export function signed(tbsDer: Buffer, opts: { flip?: boolean } = {}): Buffer {
  const sig = sign('sha256', tbsDer, keyPair().key);
  if (opts.flip) sig.writeUInt8(sig.readUInt8(sig.length - 2) ^ 0x01, sig.length - 2);
  return seq(tbsDer, seq(oid(OID.ecdsaSha256)), tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
}

/** PEM text; lines of `width` base64 characters, each line passed through `line`. */
export function pem(der: Buffer, opts: { type?: string; width?: number; line?: (l: string, i: number) => string; eol?: string } = {}): string {
  const type = opts.type ?? 'CERTIFICATE REQUEST';
  const eol = opts.eol ?? '\n';
  const b64 = der.toString('base64');
  const lines = b64.match(new RegExp(`.{1,${opts.width ?? 64}}`, 'g'))!.map((l, i) => (opts.line ? opts.line(l, i) : l));
  return `-----BEGIN ${type}-----${eol}${lines.join(eol)}${eol}-----END ${type}-----${eol}`;
}

/** spec.request: the base64 of the PEM text (or of any bytes). */
export const request = (text: string | Buffer) => (typeof text === 'string' ? Buffer.from(text, 'latin1') : text).toString('base64');
