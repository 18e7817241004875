/** What prompted a fixity check. */
export const FIXITY_TRIGGERS = ['scrub', 'read', 'reconcile', 'mode_gate'] as const;
export type FixityTrigger = (typeof FIXITY_TRIGGERS)[number];

/** One re-hash of a stored copy against its sidecar checksum. */
export interface FixityCheck {
  readonly seId: string;
  readonly fileId: string;
  readonly checkedAt: Date;
  readonly ok: boolean;
  /** What was wrong for a failure ('checksum differs from the sidecar', 'blob missing', ...). */
  readonly detail: string | null;
  readonly trigger: FixityTrigger;
}

/** Every file's fixity history (PREMIS-style events), kept in PostgreSQL next to the catalog. */
export interface FixityLog {
  record(check: FixityCheck): Promise<void>;
  /** The file's checks on every SE, newest first. */
  history(fileId: string, options: { limit: number }): Promise<FixityCheck[]>;
  /** When the SE last checked any file through one of these triggers, or null. */
  lastCheckedAt(seId: string, triggers: readonly FixityTrigger[]): Promise<Date | null>;
}
