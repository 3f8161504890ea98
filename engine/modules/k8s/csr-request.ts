/**
 * Reading a CSR's spec.request so that tsplay and the cluster cannot read different requests.
 *
 * The apiserver and the signer read spec.request with Go: `pem.Decode` (the first PEM block
 * anywhere in the bytes, spaces and tabs inside the base64 ignored), `x509.ParseCertificateRequest`
 * (every extensionRequest attribute, the last SAN extension wins). @peculiar/x509 reads it
 * differently (a PEM regex that skips a block with indented lines, only the first extensionRequest
 * attribute). Rather than imitate one decoder with another, only a canonical request is read at
 * all, one that every reader sees the same way:
 *   - exactly one PEM block "CERTIFICATE REQUEST", only whitespace before (ending in a newline)
 *     and after it, no headers;
 *   - its body lines of base64 characters only (no spaces or tabs), strict base64 (padding only
 *     at the end, and re-encoding the bytes gives the same text);
 *   - DER whose re-encoding with minimal definite lengths is exactly the bytes received (no
 *     indefinite or long-form-when-short lengths, no constructed strings, no trailing bytes);
 *   - at most one extensionRequest attribute with exactly one value, no extension twice, at most
 *     one subjectAltName extension, itself canonical DER.
 * A request that is not canonical is refused with the rule it breaks (CsrRequestError).
 * test/unit/k8s/csr-differential.test.ts compares this reading with the cluster's own (Go) code.
 */
import type * as X509 from '@peculiar/x509';
import { createRequire } from 'node:module';
import { webcrypto } from 'node:crypto';

/** Loaded on first use (~0.4 s at startup otherwise, for every run); it needs reflect-metadata first. */
const requireLib = createRequire(import.meta.url);
let x509lib: typeof X509 | undefined;
function x509(): typeof X509 {
  if (!x509lib) {
    requireLib('reflect-metadata');
    x509lib = requireLib('@peculiar/x509') as typeof X509;
    x509lib.cryptoProvider.set(webcrypto as unknown as Crypto);
  }
  return x509lib;
}

const SAN_OID = '2.5.29.17';
const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';

export class CsrRequestError extends Error {}

export interface ParsedRequest {
  cn: string[];
  o: string[];
  sans: Array<{ type: string; value: string }>;
  verified: boolean;
}

// Before BEGIN only whitespace that ends in a newline: Go's pem.Decode finds BEGIN only at the
// start or right after a newline ("  -----BEGIN" is no block to it).
const PEM_RE = /^(?:\s*\n)?-----BEGIN CERTIFICATE REQUEST-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE REQUEST-----\s*$/;

/** The DER bytes of the one PEM block of spec.request (the base64 of the PEM text). */
export function canonicalDer(requestB64: string): Buffer {
  const raw = Buffer.from(requestB64, 'base64');
  if (raw.toString('base64') !== requestB64) throw new CsrRequestError('spec.request is not strict base64');
  // latin1: every byte is one character, so no invalid UTF-8 can turn into something the regex likes.
  const text = raw.toString('latin1');
  const blocks = text.match(/-----BEGIN /g)?.length ?? 0;
  if (blocks !== 1) throw new CsrRequestError(`spec.request holds ${blocks} PEM blocks, a request must be exactly one CERTIFICATE REQUEST block`);
  const m = PEM_RE.exec(text);
  if (!m) {
    throw new CsrRequestError(
      'spec.request is not one canonical PEM block: expected -----BEGIN CERTIFICATE REQUEST-----, lines of base64 only (no spaces, tabs or headers), -----END CERTIFICATE REQUEST-----, and only whitespace around it',
    );
  }
  const body = m[1]!.replace(/\r?\n/g, '');
  const der = Buffer.from(body, 'base64');
  if (der.toString('base64') !== body) throw new CsrRequestError('the PEM body is not strict base64 (padding in the middle or bits after the end)');
  return der;
}

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** One TLV at off; throws on any length form DER forbids. */
function readTlv(buf: Buffer, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new CsrRequestError(`DER is truncated at byte ${off}`);
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new CsrRequestError(`DER uses a high tag number at byte ${off}`);
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len === 0x80) throw new CsrRequestError(`DER has an indefinite length at byte ${off} (BER, not DER)`);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4 || p + n > limit) throw new CsrRequestError(`DER length at byte ${off} is out of range`);
    if (buf[p] === 0) throw new CsrRequestError(`DER length at byte ${off} has a leading zero (not minimal)`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
    if (len < 0x80) throw new CsrRequestError(`DER length ${len} at byte ${off} is in long form (not minimal)`);
  }
  if (p + len > limit) throw new CsrRequestError(`DER element at byte ${off} runs past its container`);
  return { tag, start: off, contentStart: p, end: p + len };
}

/** Walk every constructed element: its children must fill it exactly, all in DER form. */
function checkDer(buf: Buffer, start: number, end: number): void {
  let off = start;
  while (off < end) {
    const t = readTlv(buf, off, end);
    const constructed = (t.tag & 0x20) !== 0;
    const universal = (t.tag & 0xc0) === 0;
    if (constructed && universal && t.tag !== 0x30 && t.tag !== 0x31) throw new CsrRequestError(`DER has a constructed string at byte ${off} (BER, not DER)`);
    if (constructed) checkDer(buf, t.contentStart, t.end);
    off = t.end;
  }
}

/** The DER must be one element, canonical, with nothing after it. */
export function checkCanonicalDer(der: Buffer, what: string): void {
  try {
    const top = readTlv(der, 0, der.length);
    if (top.end !== der.length) throw new CsrRequestError(`${der.length - top.end} trailing bytes after the DER`);
    checkDer(der, 0, der.length);
  } catch (err) {
    if (err instanceof CsrRequestError) throw new CsrRequestError(`${what}: its DER re-encoding differs from the bytes received: ${err.message}`);
    throw err;
  }
}

export async function parseRequest(requestB64: string): Promise<ParsedRequest> {
  const der = canonicalDer(requestB64);
  checkCanonicalDer(der, 'the certificate request');
  const lib = x509();
  let req: X509.Pkcs10CertificateRequest;
  try {
    req = new lib.Pkcs10CertificateRequest(new Uint8Array(der));
  } catch (err) {
    throw new CsrRequestError(`not a PKCS#10 certificate request (${(err as Error).message.split('\n')[0]})`);
  }
  const extAttrs = req.attributes.filter((a) => a.type === EXTENSION_REQUEST_OID);
  if (extAttrs.length > 1) throw new CsrRequestError(`${extAttrs.length} extensionRequest attributes, at most one is allowed`);
  if (extAttrs.length === 1 && extAttrs[0]!.values.length !== 1) throw new CsrRequestError(`the extensionRequest attribute has ${extAttrs[0]!.values.length} values, exactly one is allowed`);
  const seen = new Set<string>();
  for (const ext of req.extensions) {
    if (seen.has(ext.type)) throw new CsrRequestError(`extension ${ext.type} is requested twice`);
    seen.add(ext.type);
  }
  const sans: Array<{ type: string; value: string }> = [];
  for (const ext of req.extensions) {
    if (ext.type !== SAN_OID) continue;
    checkCanonicalDer(Buffer.from(ext.value), 'the subjectAltName extension');
    for (const n of new lib.SubjectAlternativeNameExtension(ext.rawData).names.items) sans.push({ type: n.type, value: n.value });
  }
  const verified = await req.verify().catch(() => false);
  return { cn: req.subjectName.getField('CN'), o: req.subjectName.getField('O'), sans, verified };
}
