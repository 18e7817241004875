import { canAccessCollection, hasScope, type Principal, type Scope } from '../../domain/access/principal';
import { ApplicationError } from '../errors';

export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new ApplicationError('forbidden', `this operation needs the '${scope}' scope`, { scope });
  }
}

/** A file in a collection the caller cannot access is reported exactly like a missing file (§6). */
export function requireFileAccess(
  principal: Principal,
  scope: Scope,
  collection: string,
  fileId: string,
): void {
  requireScope(principal, scope);
  if (!canAccessCollection(principal, scope, collection)) {
    throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
  }
}

export function requireCollectionWrite(principal: Principal, collection: string): void {
  requireScope(principal, 'files:write');
  if (!canAccessCollection(principal, 'files:write', collection)) {
    throw new ApplicationError('forbidden', `no write access to collection '${collection}'`, { collection });
  }
}
