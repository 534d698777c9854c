// @vitest-environment happy-dom
/**
 * Hunt 14: the Maintenance tab reports about the database it shows. A verify or a pack still
 * running when the explorer switches to another database (the Databases tab's Open) must not
 * report its outcome as the new database's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import type { PackOptions, PackResult, VerifyReport } from '../src/shared/storage.js';
import type { ShelfMaintenanceView } from '../src/explorer/maintenance-view.js';
import '../src/explorer/maintenance-view.js';
import { until } from './until.js';

afterEach(() => document.body.replaceChildren());

/** A storage whose verify and pack wait until the test lets them end. */
class HeldStorage extends MemoryStorage {
  releaseVerify: (report: VerifyReport) => void = () => undefined;
  override verify(): Promise<VerifyReport> {
    return new Promise((resolve) => (this.releaseVerify = resolve));
  }
  override pack(options: PackOptions = {}): Promise<PackResult> {
    return new Promise((_, reject) => {
      options.signal?.addEventListener('abort', () => reject(options.signal?.reason as Error), {
        once: true,
      });
    });
  }
}

function text(el: Element): string {
  return (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ');
}

function button(el: Element, name: string): HTMLButtonElement {
  const found = [...(el.shadowRoot?.querySelectorAll('button') ?? [])].find(
    (b) => (b.textContent ?? '').trim() === name,
  );
  if (found === undefined) throw new Error(`no button ${name}`);
  return found;
}

async function mounted(db: Database): Promise<ShelfMaintenanceView> {
  const view = document.createElement('shelf-maintenance-view') as ShelfMaintenanceView;
  view.database = db;
  document.body.append(view);
  await until(() => text(view).includes('Garbage ratio'), 'the stats');
  return view;
}

describe('the Maintenance tab after the explorer switched databases', () => {
  it("does not show the old database's verify report as the new one's", async () => {
    const storage = new HeldStorage();
    const first = new Database(storage);
    const second = new Database(new MemoryStorage());
    const view = await mounted(first);
    button(view, 'Verify').click();
    await until(() => text(view).includes('Verifying'), 'the verify to start');
    view.database = second;
    await view.updateComplete;
    storage.releaseVerify({
      problems: [{ kind: 'dangling-ref', message: 'object 7 refers to 99, absent', oid: 7 }],
    } as unknown as VerifyReport);
    await until(() => !button(view, 'Verify').disabled, 'the view to be idle');
    await view.updateComplete;
    expect(text(view)).not.toContain('problem');
    expect(text(view)).not.toContain('Verify failed');
    await first.close();
    await second.close();
  });

  it('does not say a pack of the old database was cancelled on the new one', async () => {
    const first = new Database(new HeldStorage());
    const second = new Database(new MemoryStorage());
    const view = await mounted(first);
    button(view, 'Pack').click();
    await until(() => text(view).includes('Packing'), 'the pack to start');
    view.database = second;
    await until(() => !button(view, 'Pack').disabled, 'the view to be idle');
    await view.updateComplete;
    expect(text(view)).not.toContain('Pack cancelled');
    await first.close();
    await second.close();
  });
});
