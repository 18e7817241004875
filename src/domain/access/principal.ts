/** ARCHITECTURE §6 scopes. */
export const SCOPES = [
  'files:read',
  'files:write',
  'files:delete',
  /** Setting and clearing a legal hold (§3.2): a records-management power apart from writing. */
  'files:legal_hold',
  'storage:read',
  'storage:write',
  'admin:read',
  'admin:write',
  'audit:read',
] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Who is calling. Every use case receives one; authentication (tokens) fills it in at the edge.
 * `collections` limits each scope to collection glob patterns; a missing entry means any collection.
 */
export interface Principal {
  readonly kind: 'user' | 'service' | 'anonymous' | 'system';
  readonly subject: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly collections: Readonly<Partial<Record<Scope, readonly string[]>>>;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope);
}

/** Collection grants are glob patterns: `*` any run of characters, `?` one character. */
export function collectionMatches(pattern: string, collection: string): boolean {
  return globToRegExp(pattern).test(collection);
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/gu, '\\$&')
    .replace(/\*/gu, '.*')
    .replace(/\?/gu, '.');
  return new RegExp(`^${escaped}$`, 'u');
}

export function canAccessCollection(principal: Principal, scope: Scope, collection: string): boolean {
  if (!hasScope(principal, scope)) return false;
  const patterns = principal.collections[scope];
  return patterns === undefined || patterns.some((pattern) => collectionMatches(pattern, collection));
}

/** The collection patterns a principal may use with a scope; undefined means every collection. */
export function collectionPatterns(principal: Principal, scope: Scope): readonly string[] | undefined {
  return hasScope(principal, scope) ? principal.collections[scope] : [];
}

/** The process itself (replay, rebuild, jobs). */
export const SYSTEM_PRINCIPAL: Principal = {
  kind: 'system',
  subject: 'system',
  scopes: new Set(SCOPES),
  collections: {},
};
