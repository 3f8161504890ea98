/**
 * YAML with positions. Every loaded document keeps a map from JSON pointer to source place,
 * so schema errors and template errors can point at file:line:col.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Document, type Node, type ScalarTag } from 'yaml';
import { Diagnostics, type Place } from '../errors.js';
import { secrets } from '../secrets.js';
import { decodeUtf8, readTextFile, TextFileError, YAML_MAX_ALIAS_COUNT } from '../text.js';
import { isVaultText } from './vault.js';
import { vaultKeyring, VaultError } from './vault-keyring.js';

export interface LoadedYaml {
  file: string;
  value: unknown;
  /** Place of the value at a JSON pointer ("" is the document). */
  placeOf(pointer: string): Place;
  /** Place of the key naming the value at a pointer (falls back to the value). */
  keyPlaceOf(pointer: string): Place;
  /** The whole file was vault-encrypted: the vault id of the password that opened it. */
  vaultId?: string;
}

export function pointerJoin(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * Ansible reads YAML 1.1 (PyYAML), where yes/no/on/off (in these cases only: PyYAML's resolver)
 * are booleans: `gather_facts: no`, `enable_x: yes`. YAML 1.2 reads them as strings, which would
 * render "yes" where Ansible renders True and fail `when: enable_x`.
 */
export const YAML11_BOOLEANS: ScalarTag = {
  identify: (value) => typeof value === 'boolean',
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test: /^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/,
  resolve: (source) => /^(?:yes|on)$/i.test(source),
};

/**
 * YAML 1.1's octal integers, as PyYAML (Ansible) reads them: `perm: 0755` is 493, where YAML 1.2
 * reads 755, so a variable of an Ansible project would silently hold another number. (A module's
 * `mode` must still be a quoted string: engine/load/validate.ts.)
 */
export const YAML11_OCTAL: ScalarTag = {
  identify: (value) => typeof value === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: /^[-+]?0[0-7_]+$/,
  resolve: (source) => {
    const sign = source.startsWith('-') ? -1 : 1;
    return sign * parseInt(source.replace(/^[-+]/, '').replace(/_/g, ''), 8);
  },
};

export function parseYamlText(text: string, file: string, diags: Diagnostics): LoadedYaml | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true, customTags: (tags) => [YAML11_OCTAL, ...tags, YAML11_BOOLEANS] });
  const at = (offset: number): Place => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const duplicate = err.code === 'DUPLICATE_KEY';
      const quote = /Missing closing (["'])quote/.exec(err.message);
      if (quote) {
        // The parser notices at the end of the file; the mistake is where the quote opened.
        const open = Math.max(text.lastIndexOf(`: ${quote[1]}`, err.pos[0]), text.lastIndexOf(`- ${quote[1]}`, err.pos[0]));
        diags.add(`invalid YAML: unclosed ${quote[1]} quote`, at(open >= 0 ? open + 2 : err.pos[0]), 'close the quote on the same line, or use a block scalar (|) for multi-line text');
        continue;
      }
      const flow = /^Flow (sequence|map) in block collection must be sufficiently indented and end with a ([\]}])/.exec(err.message);
      const opener = flow ? unclosedBracket(text, err.pos[0], flow[2] === ']' ? '[' : '{') : undefined;
      if (flow && opener !== undefined) {
        // The parser notices on the next line; the mistake is the bracket that never closed.
        diags.add(`invalid YAML: unclosed ${flow[2] === ']' ? '[' : '{'} (flow ${flow[1]})`, at(opener), `close it with ${flow[2]} on the same line, or write it as a block ${flow[1] === 'sequence' ? 'list (- item)' : 'mapping (key: value lines)'}`);
        continue;
      }
      diags.add(
        duplicate ? `duplicate key: ${err.message.replace(/^Map keys must be unique.*$/s, 'a key appears twice in one mapping')}` : `invalid YAML: ${firstLine(err.message)}`,
        at(err.pos[0]),
        duplicate ? 'remove or rename one of the two keys' : yamlHint(err.code),
      );
    }
    return undefined;
  }
  decryptVaultValues(doc, text, at, diags);
  const valuePlaces = new Map<string, Place>();
  const keyPlaces = new Map<string, Place>();
  const walk = (node: Node | null | undefined, pointer: string): void => {
    if (!node) return;
    if (node.range) valuePlaces.set(pointer, at(node.range[0]));
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const child = pointerJoin(pointer, key);
        if (keyNode?.range) keyPlaces.set(child, at(keyNode.range[0]));
        walk(pair.value as Node | null, child);
        if (!valuePlaces.has(child) && keyNode?.range) valuePlaces.set(child, at(keyNode.range[0]));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item as Node, pointerJoin(pointer, i)));
    }
  };
  walk(doc.contents, '');
  const docPlace: Place = { file, line: 1, col: 1 };
  const nearest = (map: Map<string, Place>, pointer: string): Place => {
    let p = pointer;
    for (;;) {
      const found = map.get(p) ?? valuePlaces.get(p);
      if (found) return found;
      if (p === '') return docPlace;
      p = p.slice(0, p.lastIndexOf('/'));
    }
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (err) {
    // The yaml library throws ReferenceError for aliases that expand too much or name no anchor.
    if (!(err instanceof ReferenceError)) throw err;
    let alias: Node | undefined;
    visit(doc, { Alias: (_key, node) => ((alias ??= node), visit.BREAK) });
    const bomb = /Excessive alias count/.test(err.message);
    diags.add(
      bomb ? `YAML aliases expand to too much data (more than ${YAML_MAX_ALIAS_COUNT} nodes copied by aliases, as in a "billion laughs" document)` : `invalid YAML: ${firstLine(err.message)}`,
      alias?.range ? at(alias.range[0]) : docPlace,
      bomb ? 'use fewer aliases of aliases (*name): write the shared values once, e.g. in group_vars' : 'define the anchor (&name) before its alias (*name)',
    );
    return undefined;
  }
  return {
    file,
    value: unwrapSecrets(value),
    placeOf: (pointer) => nearest(valuePlaces, pointer),
    keyPlaceOf: (pointer) => nearest(keyPlaces, pointer),
  };
}

export function loadYamlFile(file: string, diags: Diagnostics, origin?: Place): LoadedYaml | undefined {
  const read = readLoadedText(file, diags, origin);
  if (!read) return undefined;
  const doc = parseYamlText(read.text, file, diags);
  if (doc && read.vaultId) doc.vaultId = read.vaultId;
  return doc;
}

/**
 * A file the loader reads (YAML, JSON or INI): its text, decrypted with the run's vault
 * passwords when the whole file is vault-encrypted (`ansible-vault encrypt`), as Ansible's
 * DataLoader does. Places in it are then lines of the plaintext (what `ansible-vault view` shows).
 */
export function readLoadedText(file: string, diags: Diagnostics, origin?: Place): { text: string; vaultId?: string } | undefined {
  try {
    const text = readTextFile(file);
    if (!isVaultText(text)) return { text };
    const { plaintext, id } = vaultKeyring().decrypt(text);
    return { text: decodeUtf8(plaintext, file), vaultId: id };
  } catch (err) {
    if (err instanceof VaultError) {
      diags.add(err.describe('the vault-encrypted file'), { file, line: 1, col: 1 }, err.hint);
      return undefined;
    }
    if (err instanceof TextFileError) {
      diags.add(err.message, err.place, err.hint);
      return undefined;
    }
    const code = (err as NodeJS.ErrnoException).code;
    diags.add(
      code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(err as Error).message}`,
      origin,
      code === 'ENOENT' ? 'check the path; relative paths are resolved from the file that names them' : undefined,
    );
    return undefined;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `key: !vault |` values (ansible-vault encrypt_string) and, in a JSON file, `{"__ansible_vault":
 * "..."}` (how ansible-inventory --list writes them) are decrypted in place with the run's vault
 * passwords, and are secrets from then on. One that cannot be decrypted is an error at its line,
 * and its value is empty: the ciphertext is never a value.
 */
function decryptVaultValues(doc: Document, text: string, at: (offset: number) => Place, diags: Diagnostics): void {
  const json = text.includes('__ansible_vault') && isJson(text);
  const nameOf = (path: readonly unknown[]): string | undefined => {
    const parent = path[path.length - 1];
    return isPair(parent) && isScalar(parent.key) ? String(parent.key.value) : undefined;
  };
  const placeOf = (node: Node, path: readonly unknown[]): Place => {
    const parent = path[path.length - 1];
    const keyNode = isPair(parent) ? (parent.key as Node | null) : null;
    return at(keyNode?.range?.[0] ?? node.range?.[0] ?? 0);
  };
  const open = (ciphertext: unknown, node: Node, path: readonly unknown[]): string => {
    const name = nameOf(path);
    const what = `the !vault value${name === undefined ? '' : ` of '${name}'`}`;
    if (typeof ciphertext !== 'string' || !isVaultText(ciphertext.trimStart())) {
      diags.add(`${what} is not vault data: it must start with $ANSIBLE_VAULT`, placeOf(node, path), 'paste the whole output of ansible-vault encrypt_string: key: !vault | and the $ANSIBLE_VAULT lines below it');
      return '';
    }
    try {
      const plaintext = strictUtf8.decode(vaultKeyring().decrypt(ciphertext.trimStart()).plaintext);
      secrets.add(plaintext, 'secret', name);
      return plaintext;
    } catch (err) {
      if (err instanceof VaultError) diags.add(err.describe(what), placeOf(node, path), err.hint);
      else if (err instanceof TypeError) diags.add(`${what} decrypts to bytes that are not UTF-8 text`, placeOf(node, path), 'encrypt text (ansible-vault encrypt_string); binary data belongs in a file for copy: src');
      else throw err;
      return '';
    }
  };
  const notScalar = (node: Node, path: readonly unknown[]): void => {
    if (node.tag === '!vault') diags.add('!vault tags a string (the output of ansible-vault encrypt_string), not a mapping or list', placeOf(node, path), 'write key: !vault | followed by the $ANSIBLE_VAULT lines');
  };
  visit(doc, {
    Scalar(_key, node, path) {
      if (node.tag !== '!vault') return;
      node.value = open(node.value, node, path);
      node.tag = undefined;
    },
    Map(_key, node, path) {
      notScalar(node, path);
      const only = node.items.length === 1 ? node.items[0] : undefined;
      if (!json || !only || !isScalar(only.key) || only.key.value !== '__ansible_vault' || !isScalar(only.value)) return;
      const replaced = new Scalar(open(only.value.value, node, path));
      replaced.range = node.range;
      return replaced;
    },
    Seq(_key, node, path) {
      notScalar(node, path);
    },
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Offset of the last `[` (or `{`) before `end` that no bracket closes, outside quotes and comments. */
function unclosedBracket(text: string, end: number, open: '[' | '{'): number | undefined {
  const stack: Array<{ ch: string; at: number }> = [];
  let quote: string | undefined;
  for (let i = 0; i < end; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\n' && quote === "'") quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) while (i < end && text[i] !== '\n') i++;
    else if (ch === '[' || ch === '{') stack.push({ ch, at: i });
    else if ((ch === ']' || ch === '}') && stack.length > 0) stack.pop();
  }
  for (let j = stack.length - 1; j >= 0; j--) if (stack[j]!.ch === open) return stack[j]!.at;
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check indentation: nested keys need consistent spaces (no tabs)';
    case 'TAB_AS_INDENT':
      return 'YAML does not allow tabs for indentation; use spaces';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a value starting with {{ must be quoted: key: "{{ var }}"';
    default:
      return undefined;
  }
}

/**
 * `name: { secret: true, value: ... }` declares a secret variable: the value is used as is and
 * masked in every output from the moment the file is read.
 */
export function unwrapSecrets(value: unknown, name?: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, name && `${name}[${i}]`));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (obj.secret === true && 'value' in obj && keys.length === 2) {
      secrets.add(obj.value, 'secret', name);
      return obj.value;
    }
    for (const k of keys) obj[k] = unwrapSecrets(obj[k], name ? `${name}.${k}` : k);
  }
  return value;
}
