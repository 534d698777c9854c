/**
 * checkBTree: walks a whole BTree and reports every violated invariant at once (after BTrees'
 * check.py): key order inside each node, key ranges passed down from the root, node fill, child
 * counts, equal leaf depth, the kept count, and one kind of key. Loads every node.
 */
import { compareKeys, showKey, type BTreeKey } from './btree-keys.js';
import { BTree, BTreeNode } from './btree.js';
import type { Connection } from './connection.js';
import type { Persistent } from './persistent.js';

/**
 * @returns a list of problems, empty when the tree is sound.
 * @example
 * expect(await checkBTree(tree)).toEqual([]);
 */
export async function checkBTree<K extends BTreeKey, V>(tree: BTree<K, V>): Promise<string[]> {
  const problems: string[] = [];
  const load = async (obj: Persistent): Promise<void> => {
    if (obj._p_status === 'ghost') await (obj._p_connection as Connection).load(obj);
  };
  await load(tree);
  const t = tree.degree;
  let leafDepth: number | undefined;
  let total = 0;
  const where = (path: number[]): string => (path.length === 0 ? 'root' : `node ${path.join('.')}`);

  async function walk(
    node: BTreeNode<K, V>,
    path: number[],
    lo: K | undefined,
    hi: K | undefined,
  ): Promise<void> {
    await load(node);
    const { keys, values, children } = node;
    total += keys.length;
    if (values.length !== keys.length)
      problems.push(`${where(path)}: ${keys.length} keys but ${values.length} values`);
    const isRoot = path.length === 0;
    if (keys.length > 2 * t - 1)
      problems.push(`${where(path)}: ${keys.length} keys, more than 2t−1 = ${2 * t - 1}`);
    if (!isRoot && keys.length < t - 1)
      problems.push(`${where(path)}: ${keys.length} keys, fewer than t−1 = ${t - 1}`);
    if (isRoot && children !== null && keys.length === 0)
      problems.push('root: an internal root without keys');
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as K;
      if (i > 0 && compareKeys(keys[i - 1] as BTreeKey, k) >= 0) {
        problems.push(
          `${where(path)}: keys out of order at ${i}: ${showKey(keys[i - 1])} then ${showKey(k)}`,
        );
      }
      if (lo !== undefined && compareKeys(k, lo) <= 0)
        problems.push(`${where(path)}: key ${showKey(k)} not above ${showKey(lo)} from its parent`);
      if (hi !== undefined && compareKeys(k, hi) >= 0)
        problems.push(`${where(path)}: key ${showKey(k)} not below ${showKey(hi)} from its parent`);
    }
    if (children === null) {
      if (leafDepth === undefined) leafDepth = path.length;
      else if (leafDepth !== path.length)
        problems.push(`${where(path)}: a leaf at depth ${path.length}, others at ${leafDepth}`);
      return;
    }
    if (children.length !== keys.length + 1) {
      problems.push(`${where(path)}: ${children.length} children for ${keys.length} keys`);
    }
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (!(child instanceof BTreeNode)) {
        problems.push(`${where(path)}: child ${i} is not a BTreeNode`);
        continue;
      }
      await walk(
        child,
        [...path, i],
        i === 0 ? lo : (keys[i - 1] as K),
        i < keys.length ? (keys[i] as K) : hi,
      );
    }
  }

  await walk(tree.root, [], undefined, undefined);
  if (total !== tree.count)
    problems.push(`the tree counts ${tree.count} entries, its nodes hold ${total}`);
  return problems;
}
