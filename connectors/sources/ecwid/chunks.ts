import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a pull keeps the pages it has fetched but not yet committed: JSON lines on disk, one file per chunk, so
 * memory holds one page at a time whatever the store's size. DuckDB reads the file (read_json) when the chunk
 * is committed; the file is removed right after.
 */
export class ChunkFile {
  pages = 0;
  items = 0;

  constructor(readonly file: string) {}

  static in(dir: string, name: string, n: number): ChunkFile {
    return new ChunkFile(join(dir, `${name}-${n}.jsonl`));
  }

  append(items: readonly unknown[]): void {
    this.pages++;
    if (items.length === 0) return;
    this.items += items.length;
    // Raw customer data: readable by the owner only (the folder is too).
    appendFileSync(this.file, `${items.map((i) => JSON.stringify(i)).join('\n')}\n`, { mode: 0o600 });
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}
