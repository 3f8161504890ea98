/** Which tasks a run selects with --tags / --skip-tags. */
import type { Scope } from '../load/model.js';
import type { RunState } from './state.js';

/** Ansible's tag rules: always runs unless skipped; never only when asked; `all` is the default. */
export function selectedByTags(run: RunState, node: Scope): boolean {
  const tags = new Set(node.tags);
  const { tags: only, skipTags } = run.options;
  if (skipTags.some((t) => tags.has(t) || (t === 'tagged' && tags.size > 0) || (t === 'untagged' && tags.size === 0))) return false;
  if (tags.has('always')) return true;
  if (only.length === 0 || only.includes('all')) return !tags.has('never');
  return only.some((t) => tags.has(t) || (t === 'tagged' && tags.size > 0) || (t === 'untagged' && tags.size === 0));
}
