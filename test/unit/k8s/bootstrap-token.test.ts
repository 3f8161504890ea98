/** bootstrap_token: the reuse/expiry rule as a table and the Secret it writes. (The module's table, check mode's placeholder included, is test/modules/k8s.ts.) */
import { describe, expect, it } from 'vitest';
import { chooseToken, nodeGroup, parseTokenSecret, PLACEHOLDER, randomToken, tokenSecretObject, wanted, type TokenInfo } from '../../../engine/modules/k8s/bootstrap_token.js';
import { parseDuration } from '../../../engine/modules/k8s/client.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const H = 3600_000;
const want = wanted({ node: 'w1' }); // ttl 24h, usages [authentication, signing], groups [system:bootstrappers:w1]

function tok(id: string, over: Partial<TokenInfo> = {}): TokenInfo {
  return { name: `bootstrap-token-${id}`, id, secret: 'x'.repeat(16), node: 'w1', description: 'tsplay bootstrap token for w1', usages: ['authentication', 'signing'], groups: ['system:bootstrappers:w1'], expiration: new Date(NOW + 20 * H), ...over };
}

const cases: Array<{ name: string; tokens: TokenInfo[]; reuse?: string; expired?: string[]; ttl?: string }> = [
  { name: 'no token: create', tokens: [] },
  { name: 'fresh token of the node: reuse', tokens: [tok('aaaaaa')], reuse: 'aaaaaa' },
  { name: 'exactly a third of 24h left: reuse', tokens: [tok('aaaaaa', { expiration: new Date(NOW + 8 * H) })], reuse: 'aaaaaa' },
  { name: 'less than a third left: create, leave it (a kubelet may use it)', tokens: [tok('aaaaaa', { expiration: new Date(NOW + 8 * H - 1000) })], expired: [] },
  { name: 'expired: create, delete it', tokens: [tok('aaaaaa', { expiration: new Date(NOW - 1) })], expired: ['aaaaaa'] },
  { name: 'other node: create', tokens: [tok('aaaaaa', { node: 'w2' })] },
  { name: 'same node, other description: create', tokens: [tok('aaaaaa', { description: 'by hand' })] },
  { name: 'not made by tsplay (no node annotation): create', tokens: [tok('aaaaaa', { node: undefined })] },
  { name: 'other usages: create', tokens: [tok('aaaaaa', { usages: ['authentication'] })] },
  { name: 'other groups: create', tokens: [tok('aaaaaa', { groups: ['system:bootstrappers:w1', 'system:bootstrappers:extra'] })] },
  { name: 'never-expiring token when a ttl is asked: create', tokens: [tok('aaaaaa', { expiration: undefined })] },
  { name: 'ttl 0 reuses a never-expiring token', tokens: [tok('aaaaaa', { expiration: undefined })], ttl: '0', reuse: 'aaaaaa' },
  { name: 'ttl 0 does not reuse an expiring one', tokens: [tok('aaaaaa')], ttl: '0' },
  { name: 'several usable: the one that lives longest', tokens: [tok('aaaaaa'), tok('bbbbbb', { expiration: new Date(NOW + 23 * H) }), tok('cccccc', { expiration: new Date(NOW - H) })], reuse: 'bbbbbb', expired: ['cccccc'] },
  { name: 'short ttl: a third of 30m', tokens: [tok('aaaaaa', { expiration: new Date(NOW + 11 * 60_000) })], ttl: '30m', reuse: 'aaaaaa' },
];

describe('bootstrap token reuse rule', () => {
  for (const c of cases) {
    it(c.name, () => {
      const w = c.ttl ? wanted({ node: 'w1', ttl: c.ttl }) : want;
      const choice = chooseToken(c.tokens, w, NOW);
      expect(choice.reuse?.id).toBe(c.reuse);
      expect(choice.expired.map((t) => t.id)).toEqual(c.expired ?? []);
    });
  }
});

describe('bootstrap token secret', () => {
  it('writes what the apiserver reads, and reads it back', () => {
    const obj = tokenSecretObject('abc123', '0123456789abcdef', want, NOW) as { metadata: { name: string; namespace: string; annotations: Record<string, string> }; type: string; stringData: Record<string, string> };
    expect(obj.metadata.name).toBe('bootstrap-token-abc123');
    expect(obj.metadata.namespace).toBe('kube-system');
    expect(obj.type).toBe('bootstrap.kubernetes.io/token');
    expect(obj.stringData).toEqual({
      'token-id': 'abc123',
      'token-secret': '0123456789abcdef',
      description: 'tsplay bootstrap token for w1',
      'auth-extra-groups': 'system:bootstrappers:w1',
      expiration: '2030-01-02T00:00:00Z',
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
    });
    const data = Object.fromEntries(Object.entries(obj.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    const back = parseTokenSecret({ metadata: obj.metadata, data })!;
    expect(back).toMatchObject({ id: 'abc123', secret: '0123456789abcdef', node: 'w1', usages: ['authentication', 'signing'], groups: ['system:bootstrappers:w1'] });
    expect(chooseToken([back], want, NOW).reuse?.id).toBe('abc123');
  });

  it('random ids and secrets have the token shape', () => {
    for (let i = 0; i < 50; i++) {
      const t = randomToken();
      expect(`${t.id}.${t.secret}`).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    }
    expect(`${PLACEHOLDER.id}.${PLACEHOLDER.secret}`).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  });

  it('node groups are valid group names, one per node: a.b and a-b never share one', () => {
    expect(nodeGroup('w1')).toBe('system:bootstrappers:w1');
    expect(nodeGroup('a.b')).toBe('system:bootstrappers:a:b');
    expect(nodeGroup('a-b')).toBe('system:bootstrappers:a-b');
    const names = ['a.b', 'a-b', 'ab', 'a.b.c', 'a-b.c', 'a.b-c', 'a-b-c', 'worker-1.example.com', 'worker-1-example.com', 'worker-1-example-com', 'x'.repeat(253), `${'x'.repeat(62)}.${'y'.repeat(62)}`];
    const groups = names.map(nodeGroup);
    expect(new Set(groups).size).toBe(names.length);
    for (const g of groups) expect(g).toMatch(/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/);
    // Not node names: no group, rather than one shared with a valid name.
    for (const bad of ['Worker-1', 'w_1', 'w1.', '-w1', 'a..b', '', 'x'.repeat(254)]) expect(nodeGroup(bad), bad).toBeUndefined();
  });

  it('the token carries its node group besides extra_groups', () => {
    expect(wanted({ node: 'w1.example.com', extra_groups: ['system:bootstrappers:workers'] }).groups).toEqual(['system:bootstrappers:w1:example:com', 'system:bootstrappers:workers']);
  });

  it('durations', () => {
    expect(parseDuration('24h')).toBe(86400);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration(600)).toBe(600);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('1d')).toThrow(/invalid duration/);
  });
});
