/**
 * Verification shared by the storages: walks the object graph from the root over the stored refs
 * (never decoding state) and reports every reference to an object that has no revision.
 */
import { ROOT_OID, type Storage, type VerifyProblem } from '../src/shared/storage.js';

const BATCH = 500;

/** Adds a problem for every dangling reference among the objects reachable from the root. */
export async function verifyGraph(
  storage: Pick<Storage, 'load'>,
  problems: VerifyProblem[],
): Promise<number> {
  const seen = new Set<number>([ROOT_OID]);
  let frontier = [ROOT_OID];
  /** Who referenced each oid first, for the message. */
  const referrer = new Map<number, number>();
  let reached = 0;
  while (frontier.length > 0) {
    const next: number[] = [];
    for (let i = 0; i < frontier.length; i += BATCH) {
      const batch = frontier.slice(i, i + BATCH);
      const records = await storage.load(batch);
      const found = new Set(records.map((r) => r.oid));
      for (const oid of batch) {
        if (found.has(oid) || oid === ROOT_OID) continue;
        const from = referrer.get(oid) as number;
        problems.push({
          kind: 'dangling-ref',
          oid: from,
          message: `Object ${from} references object ${oid}, which has no stored revision.`,
        });
      }
      reached += records.length;
      for (const r of records) {
        for (const ref of r.refs) {
          if (seen.has(ref)) continue;
          seen.add(ref);
          referrer.set(ref, r.oid);
          next.push(ref);
        }
      }
    }
    frontier = next;
  }
  return reached;
}
