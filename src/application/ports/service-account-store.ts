import type { ServiceAccount } from '../../domain/access/service-account';
import type { Page } from './file-index';

export interface ServiceAccountStore {
  /** Refuses a duplicate id with ApplicationError 'conflict'. */
  insert(account: ServiceAccount): Promise<void>;
  get(id: string): Promise<ServiceAccount | null>;
  list(options: { cursor: string | null; limit: number }): Promise<Page<ServiceAccount>>;
  /** Replaces the account; answers false when it no longer exists. */
  update(account: ServiceAccount): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Records a successful authentication (best effort, never blocks a token). */
  touch(id: string, at: Date): Promise<void>;
}
