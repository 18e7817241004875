/** ARCHITECTURE §4.1: the storage element's write-ahead log. */
/** `quarantine`: the file's blob and sidecar move under `quarantine/<txn>/` (its key) and its row goes. */
export type WalOperation = 'create' | 'delete' | 'update' | 'quarantine';

export interface WalIntent {
  readonly txn: string;
  readonly op: WalOperation;
  readonly fileId: string;
  readonly key: string;
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
  /** Drops records of finished transactions. */
  compact(): Promise<void>;
  close(): Promise<void>;
}
