/** ARCHITECTURE §4.1: the storage element's write-ahead log. */
/** `quarantine`: the file's blob and sidecar move under `quarantine/<txn>/` (its key) and its row goes. */
export type WalOperation = 'create' | 'delete' | 'update' | 'quarantine';

export interface WalIntent {
  readonly txn: string;
  readonly op: WalOperation;
  readonly fileId: string;
  readonly key: string;
  /**
   * Set when a damaged record follows the begin: it may have been this transaction's commit or
   * abort, so replay must only finish what the files show was done.
   */
  readonly doubtful?: boolean;
}

/** A record of the log that failed its check when the log was opened: skipped, never acted on. */
export interface WalDamage {
  readonly segment: string;
  /** Byte offset and length of the damaged line in its segment, its line end included. */
  readonly offset: number;
  readonly length: number;
  readonly problem: string;
}

export interface WriteAheadLog {
  /** Records the intent; durable when the promise resolves. */
  begin(intent: WalIntent): Promise<void>;
  /** Marks the transaction done. Need not be durable: replay of a finished transaction is idempotent. */
  commit(txn: string): Promise<void>;
  /** Marks the transaction undone; durable when the promise resolves (replay must not finish it). */
  abort(txn: string): Promise<void>;
  /** Transactions begun and neither committed nor aborted, oldest first. */
  unfinished(): Promise<WalIntent[]>;
  /**
   * Records found damaged when the log was opened (bit rot, not a torn last line). A transaction
   * whose commit or abort was among them stays unfinished: replay decides it from the files alone.
   */
  damaged(): readonly WalDamage[];
  /** Drops records of finished transactions. */
  compact(): Promise<void>;
  close(): Promise<void>;
}
