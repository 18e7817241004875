import { canAccessCollection, hasScope, type Principal, type Scope } from '../../domain/access/principal';
import { DEFAULT_COLLECTION, isValidCollection } from '../../domain/document/document';
import { DomainError } from '../../domain/errors';
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

/** The collection a new document goes to (default `default`), valid and writable by the principal. */
export function writableCollection(principal: Principal, requested: string | undefined): string {
  const collection = requested ?? DEFAULT_COLLECTION;
  if (!isValidCollection(collection)) {
    throw new DomainError(
      'invalid_collection',
      'collection must be 1-63 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
      { field: 'collection' },
    );
  }
  requireCollectionWrite(principal, collection);
  return collection;
}
