/**
 * `tsplay migrate SRC DEST`: every file of the Ansible project SRC into DEST. YAML that is
 * Ansible content is converted (ansible-yaml.ts), `.j2` templates become `.hbs`
 * (to-handlebars.ts), everything else is copied byte for byte (modes and symlinks kept). DEST
 * is built beside it under a temporary name and renamed into place at the end, so it appears
 * whole or not at all; it must not exist, or be an empty directory (no user file is ever
 * overwritten). What could not be converted is listed with SRC's file:line:col and the reason.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Diagnostics } from '../errors.js';
import { iniGet, parseIniConfig } from '../load/ini-config.js';
import { convertYaml, type ProjectSettings, type Problem } from './ansible-yaml.js';
import { templateToHandlebars } from './to-handlebars.js';
import { LineIndex } from './yaml-edit.js';

export interface FileProblem extends Problem {
  /** SRC-relative path of the file as written. */
  file: string;
}

export interface MigrateResult {
  /** Files converted (YAML and templates), copied as they were, and all of them. */
  converted: number;
  copied: number;
  files: number;
  templates: number;
  /** Lines of SRC that held Jinja or a condition to rewrite, and how many of them were converted whole. */
  jinjaLines: number;
  convertedLines: number;
  problems: FileProblem[];
}

export class MigrateError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MigrateError';
  }
}

const SKIP_DIRS = new Set(['.git']);

/** The DEST of a .j2 file: `x.conf.j2` -> `x.conf.hbs`. */
export function hbsName(name: string): string {
  return `${name.slice(0, -'.j2'.length)}.hbs`;
}

export function migrateProject(srcDir: string, destDir: string): MigrateResult {
  const src = resolve(srcDir);
  const dest = resolve(destDir);
  checkPaths(src, dest);
  const settings = projectSettings(src);
  const staging = join(dirname(dest), `.${basename(dest)}.tsplay-migrate-${process.pid}`);
  const result: MigrateResult = { converted: 0, copied: 0, files: 0, templates: 0, jinjaLines: 0, convertedLines: 0, problems: [] };
  mkdirSync(staging);
  try {
    walk(src, src, staging, result, settings);
    chmodSync(staging, statSync(src).mode & 0o7777);
    // An empty DEST is replaced by rename(2) as it stands; a missing one is created by it.
    renameSync(staging, dest);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  result.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
  return result;
}

function checkPaths(src: string, dest: string): void {
  if (!existsSync(src) || !statSync(src).isDirectory()) throw new MigrateError(`${src} is not a directory`, 'SRC is the Ansible project: the directory holding its playbooks, roles and inventories');
  if (dest === src || dest.startsWith(src + sep) || src.startsWith(dest + sep)) throw new MigrateError(`DEST ${dest} is inside SRC ${src}, or SRC inside DEST`, 'write the tsplay project beside the Ansible one, e.g. tsplay migrate ansible/ tsplay/');
  if (existsSync(dest) || isDanglingLink(dest)) {
    if (!lstatSync(dest).isDirectory() || readdirSync(dest).length > 0) throw new MigrateError(`${dest} exists and is not an empty directory`, 'tsplay migrate never overwrites files: name a new directory, or empty this one');
  }
  if (!existsSync(dirname(dest))) throw new MigrateError(`the directory ${dirname(dest)} does not exist`, 'create it first, or name DEST in an existing directory');
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** ansible.cfg beside the playbooks: `gathering = explicit` means a play without gather_facts gathers none. */
function projectSettings(src: string): ProjectSettings {
  const file = join(src, 'ansible.cfg');
  if (!existsSync(file)) return { gatherByDefault: true };
  const gathering = iniGet(parseIniConfig(readFileSync(file, 'utf8'), file, new Diagnostics()), 'defaults', 'gathering')?.value.trim().replace(/^(['"])(.*)\1$/, '$2');
  return { gatherByDefault: gathering !== 'explicit' };
}

function walk(root: string, dir: string, out: string, result: MigrateResult, settings: ProjectSettings): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const from = join(dir, entry.name);
    const rel = relative(root, from);
    if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), join(out, entry.name));
      continue;
    }
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name)) continue;
      mkdirSync(join(out, entry.name));
      walk(root, from, join(out, entry.name), result, settings);
      chmodSync(join(out, entry.name), statSync(from).mode & 0o7777);
      continue;
    }
    if (!entry.isFile()) continue;
    result.files++;
    const mode = statSync(from).mode & 0o7777;
    const bytes = readFileSync(from);
    const converted = convertFile(rel, entry.name, bytes, dir, result, settings);
    const target = join(out, converted?.name ?? entry.name);
    writeFileSync(target, converted ? converted.text : bytes, { flag: 'wx' });
    chmodSync(target, mode);
    if (converted) result.converted++;
    else result.copied++;
  }
}

function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

function convertFile(rel: string, name: string, bytes: Buffer, dir: string, result: MigrateResult, settings: ProjectSettings): { name: string; text: string } | undefined {
  const text = utf8(bytes);
  if (text === undefined) return undefined;
  if (name.endsWith('.j2') && name.length > 3) {
    if (existsSync(join(dir, hbsName(name)))) {
      result.problems.push({ file: rel, line: 1, col: 1, reason: `${hbsName(name)} exists beside it: the template is copied as it is` });
      return undefined;
    }
    const converted = templateToHandlebars(text);
    result.templates++;
    const index = new LineIndex(text);
    for (const l of converted.left) result.problems.push({ file: rel, ...index.position(l.at), reason: l.reason });
    const lines = jinjaLinesOf(text);
    result.jinjaLines += lines.size;
    // A template left whole (not well formed, or whitespace Handlebars cannot keep) converted nothing.
    const bad = new Set(converted.left.map((l) => index.position(l.at).line));
    result.convertedLines += converted.text === text ? 0 : [...lines].filter((l) => !bad.has(l)).length;
    return { name: hbsName(name), text: converted.text };
  }
  if (/\.ya?ml$/.test(name) || (!name.includes('.') && /(^|\/)(group_vars|host_vars)\//.test(rel))) {
    const converted = convertYaml(text, rel, settings);
    if (!converted) return undefined;
    result.jinjaLines += converted.jinjaLines.size;
    result.convertedLines += converted.convertedLines.size;
    for (const p of converted.problems) result.problems.push({ file: rel, ...p });
    return { name, text: converted.text };
  }
  if (/(^|\/)(hosts|inventory[^/]*)(\.ini)?$/.test(rel) && /\{\{|\{%/.test(text)) {
    // INI inventories are copied: their values are kept as written.
    text.split('\n').forEach((line, i) => {
      const at = line.search(/\{\{|\{%/);
      if (at >= 0) result.problems.push({ file: rel, line: i + 1, col: at + 1, reason: 'Jinja in an INI inventory value is copied as written: move the value to group_vars or host_vars, which tsplay migrate converts' });
    });
  }
  return undefined;
}

/** The lines of a template that hold Jinja. */
function jinjaLinesOf(text: string): Set<number> {
  const out = new Set<number>();
  text.split('\n').forEach((line, i) => {
    if (/\{\{|\{%|\{#|%\}|\}\}/.test(line)) out.add(i + 1);
  });
  return out;
}
