import { deleteSaga } from '../ingester/delete-document';
import { finalizeSaga } from '../ingester/finalize-document';
import type { FileLifecycleDeps } from '../ingester/lifecycle-deps';
import { updateSaga } from '../ingester/update-document';
import { discardSaga, uploadSaga } from '../ingester/upload-document';
import type { Clock } from '../ports/clock';
import type { RestoredCopies } from '../ports/restored-copies';
import { restoreSaga } from '../query/restore-document';
import type { SagaDefinition, SagaPayload, SagaResumer } from './saga-runner';

/** The definitions the recovery sweep drives sagas of dead processes with (no live request behind them). */
export function sagaResumer(
  deps: Pick<FileLifecycleDeps, 'directory' | 'catalog' | 'events' | 'sagas'> & {
    readonly restored: RestoredCopies;
    readonly clock: Clock;
  },
): SagaResumer {
  const definitions = new Map<string, SagaDefinition<SagaPayload>>(
    [
      uploadSaga(deps),
      finalizeSaga(deps),
      deleteSaga(deps),
      updateSaga(deps),
      restoreSaga(deps),
      discardSaga(deps),
    ].map((d) => [d.kind, d as unknown as SagaDefinition<SagaPayload>]),
  );
  return (kind) => definitions.get(kind) ?? null;
}
