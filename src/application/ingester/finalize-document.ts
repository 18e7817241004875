import type { Principal } from '../../domain/access/principal';
import type { DocumentAttributes } from '../../domain/document/document';
import { nextCopyTarget, rankCandidates } from '../../domain/placement/placement';
import { decideRetention } from '../../domain/retention/retention';
import { ApplicationError } from '../errors';
import type { FileCopy } from '../ports/file-catalog';
import type { SagaDefinition } from '../sagas/saga-runner';
import { requireCollectionWrite, requireFileAccess } from '../shared/authorize';
import { copyFile } from '../shared/copy-file';
import type { FileLifecycleDeps } from './lifecycle-deps';
import { discardEverywhere, draftOf } from './upload-document';

export interface FinalizeCommand {
  readonly retainUntil?: Date | undefined;
}

/** The saved state of a finalize saga. */
export type FinalizeSagaPayload = {
  readonly fileId: string;
  /** The temporary copies (on `edit` SEs), removed once the catalog has switched. */
  readonly from: readonly FileCopy[];
  /** Every `rw` SE the saga may have copied to. */
  readonly candidates: readonly string[];
  readonly copies: readonly FileCopy[];
  /** `rw` SEs whose copy failed and could not be discarded then: discarded with the temporary copies. */
  readonly strays?: readonly string[];
};

/**
 * Finalize (§3.2): a temporary file becomes permanent. The finalize saga copies it to `rw` SEs
 * (as many as permanent files need, distinct data centres first), each copy verified against the
 * file's SHA-256 as it is written; switches the catalog to the new retention and copies (the
 * pivot); then removes the temporary copies. Cut short before the switch, the new copies are
 * discarded and the file stays temporary; after it, the saga goes on to the end, behind the
 * answer (which comes once the catalog has switched).
 */
export class FinalizeDocument {
  constructor(
    private readonly settings: { readonly replication: number; readonly staleAfterMs: number },
    private readonly deps: FileLifecycleDeps,
  ) {}

  async execute(principal: Principal, fileId: string, command: FinalizeCommand): Promise<DocumentAttributes> {
    const { catalog, registry, clock, sagas } = this.deps;
    const entry = await catalog.get(fileId);
    if (!entry || entry.file.status !== 'active')
      throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    requireFileAccess(principal, 'files:write', entry.file.collection, fileId);
    requireCollectionWrite(principal, entry.file.collection);
    const file = entry.file;
    if (file.retention.policy === 'permanent')
      throw new ApplicationError('conflict', `file ${fileId} is already permanent`, { field: 'retention' });
    const retention = decideRetention({ policy: 'permanent', retainUntil: command.retainUntil }, clock.now());
    const holding = new Set(entry.copies.map((c) => c.seId));
    const candidates = rankCandidates(await registry.list(), {
      mode: 'rw',
      size: file.stored.size,
      now: clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
    }).filter((se) => !holding.has(se.id));
    if (candidates.length < this.settings.replication) {
      throw new ApplicationError(
        'no_writable_storage',
        `a permanent file needs ${this.settings.replication} copies on distinct 'rw' storage elements; only ${candidates.length} can take it`,
      );
    }
    let finalized: DocumentAttributes | null = null;
    const saga = finalizeSaga(this.deps, {
      copy: async (payload) => {
        const copies: FileCopy[] = [];
        const strays: string[] = [];
        const remaining = [...candidates];
        const usedDcs = new Set<string>();
        const failures: string[] = [];
        while (copies.length < this.settings.replication) {
          const target = nextCopyTarget(remaining, usedDcs);
          if (!target)
            throw new ApplicationError(
              'no_writable_storage',
              `only ${copies.length} of the ${this.settings.replication} permanent copies could be written`,
              { failures },
            );
          remaining.splice(remaining.indexOf(target), 1);
          try {
            finalized = await copyFile(
              this.deps.directory,
              file,
              // A change to the document: the new copies continue its sidecar version.
              { ...draftOf(file), retention, attrVersion: file.attrVersion + 1 },
              entry.copies,
              target.id,
            );
          } catch (error) {
            failures.push(`${target.id}: ${(error as Error).message}`);
            // That SE may keep a copy no record names (it died after storing, before answering):
            // when it cannot be discarded now, the saga discards it with the temporary copies.
            await this.deps.directory
              .client(target.id)
              .discard(fileId)
              .catch(() => strays.push(target.id));
            continue;
          }
          copies.push({ seId: target.id, key: finalized.stored.key });
          usedDcs.add(target.dc);
        }
        return { ...payload, copies, ...(strays.length > 0 ? { strays } : {}) };
      },
      document: () => finalized,
    });
    // Answered once the catalog has switched: the temporary copies' removal goes on behind it.
    const { payload } = await sagas.commit(
      saga,
      { fileId, from: entry.copies, candidates: candidates.map((se) => se.id), copies: [] },
      fileId,
    );
    await this.deps.audit.record(principal, 'file.finalized', 'success', {
      target: fileId,
      details: { copies: payload.copies.map((c) => c.seId).join(',') },
    });
    return finalized!;
  }
}

/**
 * The finalize saga. After a crash before the catalog switched, the new copies are discarded;
 * after it, the temporary copies are removed and the change announced.
 */
export function finalizeSaga(
  deps: Pick<FileLifecycleDeps, 'directory' | 'catalog' | 'events'>,
  live?: {
    copy(payload: FinalizeSagaPayload): Promise<FinalizeSagaPayload>;
    document(): DocumentAttributes | null;
  },
): SagaDefinition<FinalizeSagaPayload> {
  return {
    kind: 'finalize',
    pivot: 1,
    steps: [
      {
        name: 'copy',
        // Saved: the save checks that this process still owns the saga before its pivot (a copy
        // that outlived its lease may have been taken over and undone), and it keeps the strays.
        run: async (payload) => {
          if (!live) throw new Error('a finalize cut short before its switch is undone, not resumed');
          return live.copy(payload);
        },
        compensate: (payload) => discardEverywhere(deps.directory, payload.fileId, payload.candidates),
      },
      {
        name: 'switch',
        // `pivotDone` tells after a crash whether the catalog switched.
        checkpoint: false,
        run: async (payload) => {
          const file = live?.document();
          if (!file) throw new Error('a finalize cut short before its switch is undone, not resumed');
          await deps.catalog.restore({ file, copies: payload.copies });
          return payload;
        },
      },
      {
        name: 'remove_temporary',
        run: async (payload) => {
          // Under the saga's hold on the file: no later finalize can have written there.
          await discardEverywhere(deps.directory, payload.fileId, [
            ...payload.from.map((c) => c.seId),
            ...(payload.strays ?? []),
          ]);
          return payload;
        },
      },
      {
        name: 'announce',
        run: async (payload) => {
          await deps.events.publish('file.changed', { fileId: payload.fileId }).catch(() => undefined);
          return payload;
        },
      },
    ],
    pivotDone: async (payload) => {
      const entry = await deps.catalog.get(payload.fileId);
      return entry?.file.retention.policy === 'permanent';
    },
  };
}
