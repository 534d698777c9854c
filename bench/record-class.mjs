// The record class the benchmarks store (bench/pages/shelf.ts's, about 200 bytes as JSON), made
// over the shelfdb a benchmark bundled (bench/bundle-import.mjs): each bundle has its own
// Persistent, so the class is defined per bundle.

/** Defines and registers `bench.Rec` over `shelfdb` (its Persistent and registerClass). */
export function defineRecord({ Persistent, registerClass }) {
  class Rec extends Persistent {
    id = 0;
    title = '';
    done = false;
    priority = 0;
    tags = [];
    created = 0;
    note = '';
  }
  registerClass(Rec, 'bench.Rec');
  return Rec;
}
