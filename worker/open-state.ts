/**
 * Whether a storage is still open: after `close()` every call fails with DatabaseClosedError
 * before it touches anything. Every storage asks here, so all refuse the same way.
 */
import { DatabaseClosedError } from '../src/shared/errors.js';

export class OpenState {
  private closed = false;

  /** True once `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Marks the storage closed; true the first time (so closing twice is harmless). */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    return true;
  }

  /** @throws DatabaseClosedError once closed. */
  check(): void {
    if (this.closed)
      throw new DatabaseClosedError(
        'This storage is closed: nothing was read or stored by this call. Open the database again to use it.',
      );
  }
}
