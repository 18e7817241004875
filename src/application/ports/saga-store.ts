import type { Page } from './file-index';

/**
 * ARCHITECTURE §3.5. `running`: steps going forward; `compensating`: undoing what was done;
 * `done` and `compensated` are final; `failed`: a compensation could not finish and needs a person.
 */
export const SAGA_STATUSES = ['running', 'compensating', 'done', 'compensated', 'failed'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

export const SAGA_KINDS = ['upload', 'finalize', 'delete', 'update', 'restore', 'discard'] as const;
export type SagaKind = (typeof SAGA_KINDS)[number];

/** What a saga needs to go on after a crash, saved after every step whose progress recovery needs. */
export interface SagaRecord {
  readonly id: string;
  readonly kind: SagaKind;
  readonly status: SagaStatus;
  /** Steps completed so far (the index of the next step to run). */
  readonly step: number;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The file the saga is about, for listing. */
  readonly fileId: string | null;
  readonly error: string | null;
  /** The process running it; another may take it over once `leaseUntil` has passed. */
  readonly owner: string;
  readonly leaseUntil: Date;
  readonly attempts: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type SagaUpdate = Pick<
  SagaRecord,
  'status' | 'step' | 'payload' | 'error' | 'leaseUntil' | 'updatedAt'
>;

export interface SagaFilter {
  readonly status?: SagaStatus | undefined;
  readonly kind?: SagaKind | undefined;
  readonly fileId?: string | undefined;
  readonly limit: number;
  readonly cursor: string | null;
}

/** Sagas persisted in PostgreSQL (memory in tests): the durable half of the saga runner. */
export interface SagaStore {
  /**
   * Saves a new saga. One file has at most one unfinished saga: when another is running or
   * compensating for the same `fileId`, nothing is saved and the answer is false.
   */
  create(saga: SagaRecord): Promise<boolean>;
  /** Saves progress; refused (false) when another owner has taken the saga over. */
  save(id: string, owner: string, update: SagaUpdate): Promise<boolean>;
  /** Extends the lease of the owner's unfinished sagas. */
  renew(ids: readonly string[], owner: string, leaseUntil: Date): Promise<void>;
  get(id: string): Promise<SagaRecord | null>;
  /** Newest first. */
  list(filter: SagaFilter): Promise<Page<SagaRecord>>;
  /**
   * Takes over unfinished sagas whose lease has run out (their owner died): each is handed to
   * exactly one caller, with `attempts` incremented.
   */
  claimExpired(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<SagaRecord[]>;
}
