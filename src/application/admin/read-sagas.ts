import type { Principal } from '../../domain/access/principal';
import { ApplicationError } from '../errors';
import type { Page } from '../ports/file-index';
import type { SagaFilter, SagaRecord, SagaStore } from '../ports/saga-store';
import { requireScope } from '../shared/authorize';

/** The admin's view of sagas (§3.5): what runs, what was undone, what needs a person. */
export class ReadSagas {
  constructor(private readonly store: SagaStore) {}

  list(principal: Principal, filter: SagaFilter): Promise<Page<SagaRecord>> {
    requireScope(principal, 'admin:read');
    return this.store.list(filter);
  }

  async get(principal: Principal, id: string): Promise<SagaRecord> {
    requireScope(principal, 'admin:read');
    const saga = await this.store.get(id);
    if (!saga) throw new ApplicationError('saga_not_found', `saga ${id} does not exist`);
    return saga;
  }
}
