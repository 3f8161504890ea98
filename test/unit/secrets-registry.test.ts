/**
 * The secret registry's rules, one by one: which names make a variable secret, which forms are
 * masked, what a short value does, and how a derived value differs from a secret.
 */
import { describe, expect, it } from 'vitest';
import { isSecretName, MASK, Secrets } from '../../engine/secrets.js';

describe('secret names', () => {
  it('a name ending in a secret word is secret; one that only mentions it is not', () => {
    for (const n of ['db_password', 'api_token', 'vault_pass', 'ansible_become_pass', 'tls_private_key', 'registry_credentials', 'api_credential', 'dbPassword', 'client_secret', 'secrets', 'token']) expect(isSecretName(n), n).toBe(true);
    for (const n of ['bootstrap_token_ttl', 'bootstrap_token_usages', 'secret_name', 'bypass', 'compass', 'ansible_ssh_private_key_file', 'token_ttl', 'passenger']) expect(isSecretName(n), n).toBe(false);
  });

  it('a secret name makes its whole value secret: lists, maps, at any depth, inside lists of maps', () => {
    const s = new Secrets();
    s.addFromVars({ app: { db_passwords: ['first-pw-1', 'second-pw-2'], users: [{ name: 'alice', api_token: 'alice-token-3' }] }, credentials: { db: 'leaf-pw-4', nested: { x: 'leaf-pw-5' } } });
    expect(s.redact('first-pw-1 second-pw-2 alice alice-token-3 leaf-pw-4 leaf-pw-5')).toBe(`${MASK} ${MASK} alice ${MASK} ${MASK} ${MASK}`);
  });
});

describe('forms', () => {
  const s = new Secrets();
  const pw = 'pa"ss\\word-9';
  s.add(pw);

  it('as is, JSON-escaped, in any case, base64 whole and inside longer base64 at every alignment', () => {
    expect(s.redact(`x${pw}y`)).toBe(`x${MASK}y`);
    expect(s.redact(JSON.stringify({ v: pw }))).not.toContain('word-9');
    expect(s.redact(pw.toUpperCase())).toBe(MASK);
    expect(s.redact(Buffer.from(pw).toString('base64'))).toBe(MASK);
    for (const prefix of ['', 'a', 'ab', 'abc:']) {
      const b64 = Buffer.from(`${prefix}${pw}trailing`).toString('base64');
      const inner = Buffer.from(pw).subarray(1, 10).toString('base64');
      expect(s.redact(b64), prefix).toContain(MASK);
      expect(s.redact(b64), prefix).not.toContain(inner);
    }
  });

  it('a multi-line secret line by line; a derived text only whole', () => {
    const r = new Secrets();
    r.add('-----BEGIN K-----\nbGluZS1vbmUtc2VjcmV0\n-----END K-----');
    expect(r.redact('+    bGluZS1vbmUtc2VjcmV0\n')).toBe(`+    ${MASK}\n`);
    r.add('kind: Config\nuser: x', 'derived');
    expect(r.redact('kind: Config')).toBe('kind: Config');
    expect(r.redact('kind: Config\nuser: x')).toBe(MASK);
  });

  it('a value shorter than 4 characters is never searched for in text, but is still known', () => {
    const r = new Secrets();
    r.addFromVars({ vault_pass: 'ab' });
    expect(r.redact('ab abc tab')).toBe('ab abc tab');
    expect(r.holds({ copied: 'ab' })).toBe(true);
    expect(r.takeShortNames()).toEqual(['vault_pass']);
  });

  it('derive() registers what shows a secret, and nothing else', () => {
    const r = new Secrets();
    r.add('hunter2-pw');
    r.derive('user:hunter2-pw@db');
    r.derive('plain words');
    expect(r.redact('user:hunter2-pw@db')).toBe(MASK);
    expect(r.redact(Buffer.from('user:hunter2-pw@db').toString('base64'))).toBe(MASK);
    expect(r.redact('plain words')).toBe('plain words');
  });
});
