import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { advanceCursor, readCursor } from '../cursors.ts';

/**
 * Incremental state of one Ecwid object, in source_cursors (source 'ecwid'):
 *   `<store>/<object>`         the end of the last completed pull (ISO time, UTC)
 *   `<store>/<object>/window`  `<end>#<offset>` of the pull in progress: the items committed so far
 * A pull reads the items updated in [previous end - overlap, end]; `end` is fixed when the pull starts, so a
 * pull stopped halfway resumes the same window at the committed offset, and only a completed window moves the
 * start of the next one. Both values sort in their order (ISO times, zero-padded offsets), as cursors must.
 */
export const ECWID_SOURCE = 'ecwid';

export interface PullWindow {
  /** updatedFrom (UNIX seconds), undefined on the first pull: everything. */
  from?: number;
  /** updatedTo (UNIX seconds). */
  to: number;
  /** Items already committed in this window. */
  offset: number;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const seconds = (isoTime: string) => Math.floor(Date.parse(isoTime) / 1000);

export class ObjectCursor {
  constructor(
    private readonly wh: Warehouse,
    readonly key: string,
    private readonly runId: string,
  ) {}

  /** The window to pull now: the unfinished one if a pull stopped halfway, else a new one ending now. */
  async window(now: Date, overlapSeconds: number): Promise<PullWindow> {
    const done = await readCursor(this.wh, ECWID_SOURCE, this.key);
    const open = await readCursor(this.wh, ECWID_SOURCE, `${this.key}/window`);
    const from = done === null ? undefined : seconds(done) - overlapSeconds;
    const [end, offset] = open?.split('#') ?? [];
    if (end && offset && (done === null || end > done))
      return { from, to: seconds(end), offset: Number(offset) };
    return { from, to: Math.floor(now.getTime() / 1000), offset: 0 };
  }

  /** The end of the last completed pull, or null (for the deletions' retention check). */
  lastEnd(): Promise<string | null> {
    return readCursor(this.wh, ECWID_SOURCE, this.key);
  }

  /** Records the items committed so far (call inside the transaction that commits them). */
  async committed(window: PullWindow, offset: number, complete: boolean): Promise<void> {
    const value = `${iso(window.to)}#${String(offset).padStart(10, '0')}`;
    await advanceCursor(this.wh, ECWID_SOURCE, `${this.key}/window`, value, this.runId);
    if (complete) await advanceCursor(this.wh, ECWID_SOURCE, this.key, iso(window.to), this.runId);
  }
}
