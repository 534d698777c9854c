/**
 * Decoded object state → JSON, as the CLI shows it (`show`, `history`, `dump`): the archive's form
 * (src/archive/json-value.ts, whose comment lists the markers for undefined, NaN, bigint, Date,
 * Map, Set, bytes and shared parts), with two differences. A reference is shown with its oid and
 * class, `{ "$ref": 12, "class": "app.Todo" }`, and a state is shown as stored rather than
 * canonical: keys in their stored order, a Date or binary value met twice shown twice, −0 as 0.
 */
import {
  stateToJson,
  StoredRef,
  valueToJson,
  type Json,
  type ToJsonOptions,
} from '../src/archive/json-value.js';

export { StoredRef, type Json } from '../src/archive/json-value.js';

/** The CLI's form: stored order, display rather than exact (see ToJsonOptions). */
const SHOWN: ToJsonOptions = { sorted: false, exact: false };

const refToJson = (ref: StoredRef): Json => ({ $ref: ref.oid, class: ref.className });

/** `value` as JSON (see the module comment for the markers). */
export function toJson(value: unknown): Json {
  return valueToJson(value, refToJson, SHOWN);
}

/** The fields of a state as a JSON object (keys escaped as in `toJson`). */
export function fieldsToJson(state: Record<string, unknown>): { [key: string]: Json } {
  return stateToJson(state, refToJson, SHOWN);
}
