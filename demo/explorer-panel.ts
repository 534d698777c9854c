/**
 * The explorer beside the app: the "Explorer" button (or the `#explorer` address) opens a panel
 * with `<shelf-explorer editable>` over the app's own database, so what the app stores can be
 * looked at and changed while using it. The explorer's code is loaded the first time the panel
 * opens: the app does not wait for it.
 */
import type { Database } from 'shelfdb';
import type { ShelfExplorer } from 'shelfdb/explorer';

const ROUTE = '#explorer';

/**
 * Wires `toggle` to show and hide `panel` with an explorer over `db` inside. The explorer is
 * removed from the page while the panel is closed (its connection closes with it).
 */
export function mountExplorerPanel(
  db: Database,
  toggle: HTMLButtonElement,
  panel: HTMLElement,
  onError: (message: string) => void,
): void {
  let explorer: ShelfExplorer | undefined;

  async function show(open: boolean): Promise<void> {
    toggle.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    document.body.classList.toggle('with-explorer', open);
    if (!open) {
      explorer?.remove();
      return;
    }
    if (explorer === undefined) {
      await import('shelfdb/explorer');
      explorer = document.createElement('shelf-explorer');
      explorer.database = db;
      explorer.editable = true;
    }
    if (!panel.hidden) panel.append(explorer);
  }

  function follow(): void {
    show(location.hash === ROUTE).catch((error: unknown) =>
      onError(`The explorer failed to load: ${String(error)}`),
    );
  }

  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    // The address keeps the choice: a reload (or a bookmark) opens the panel again.
    history.replaceState(null, '', open ? ROUTE : location.pathname + location.search);
    follow();
  });
  window.addEventListener('hashchange', follow);
  follow();
}
