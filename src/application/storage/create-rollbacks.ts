import type { IdGenerator } from '../ports/clock';
import type { WriteAheadLog } from '../ports/write-ahead-log';

/**
 * Removes a failed create's row and files, each removal durable when it resolves; `uncount` runs
 * with the row's removal (it takes back what the put counted in, once).
 */
export type UndoCreate = (fileId: string, key: string, uncount: () => void) => Promise<void>;

interface Owed {
  readonly key: string;
  readonly uncount: () => void;
  /** The create's own transaction, open until its abort is written. */
  createTxn: string | null;
  /** A delete intent recorded because the undo failed: replay finishes the rollback. */
  rollbackTxn: string | null;
}

/**
 * Puts that failed and whose undo did not finish (the disk failing persistently, the backend away).
 * Their create record is still open, and replay rolls a create forward when its blob and sidecar are
 * whole, so a failed put could come back after a restart. When the undo fails, a delete intent is
 * logged in its place (replay removes whatever is left of the file); until the undo is done the
 * rollback stays owed here and is tried again before the next write.
 */
export class CreateRollbacks {
  private readonly owed = new Map<string, Owed>();

  constructor(
    private readonly wal: WriteAheadLog,
    private readonly ids: IdGenerator,
    private readonly undo: UndoCreate,
  ) {}

  /**
   * Undoes a failed put. True when the failure is settled durably: the files are gone, or a
   * delete intent makes the next replay remove them. False when neither could be written.
   */
  async rollBack(fileId: string, key: string, txn: string, uncount: () => void): Promise<boolean> {
    const owed: Owed = { key, uncount, createTxn: txn, rollbackTxn: null };
    this.owed.set(fileId, owed);
    const undone = await this.finish(fileId).then(
      () => true,
      () => false,
    );
    if (undone) return true;
    // Set before the begin: a failed begin the log could not cut back is still closed by finish().
    owed.rollbackTxn = this.ids.token();
    return this.wal.begin({ txn: owed.rollbackTxn, op: 'delete', fileId, key }).then(
      () => true,
      () => false,
    );
  }

  /** Files whose rollback is still owed. */
  fileIds(): string[] {
    return [...this.owed.keys()];
  }

  owes(fileId: string): boolean {
    return this.owed.has(fileId);
  }

  /**
   * Undo, then close the records. The delete intent is closed with an abort, which is durable:
   * were it left open, a replay would remove a later, acknowledged write of the same file.
   */
  async finish(fileId: string): Promise<void> {
    const owed = this.owed.get(fileId);
    if (!owed) return;
    await this.undo(fileId, owed.key, owed.uncount);
    // The removals are durable: a create record still open finds nothing to roll forward.
    if (owed.createTxn !== null) {
      await this.wal.abort(owed.createTxn).catch(() => undefined);
      owed.createTxn = null;
    }
    if (owed.rollbackTxn !== null) {
      await this.wal.abort(owed.rollbackTxn);
      owed.rollbackTxn = null;
    }
    this.owed.delete(fileId);
  }
}
