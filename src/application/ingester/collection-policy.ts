export const COMPRESSION_CHOICES = ['auto', 'none', 'gzip', 'br'] as const;
export type CompressionChoice = (typeof COMPRESSION_CHOICES)[number];

/** What the operator configured for one collection (config file `collections.<name>`). */
export interface CollectionPolicy {
  /** Narrows the global limit for this collection; null: the global limit alone applies. */
  readonly maxUploadBytes: number | null;
  /** Exact media types or `type/*` globs; null: any type. */
  readonly allowedContentTypes: readonly string[] | null;
  /** How new documents in this collection are stored; null: the global default. */
  readonly compression: CompressionChoice | null;
}

export type CollectionPolicies = Readonly<Record<string, CollectionPolicy>>;

const NO_POLICY: CollectionPolicy = { maxUploadBytes: null, allowedContentTypes: null, compression: null };

export function policyFor(policies: CollectionPolicies | undefined, collection: string): CollectionPolicy {
  return (policies && Object.hasOwn(policies, collection) ? policies[collection] : undefined) ?? NO_POLICY;
}

/** The global limit is a ceiling: a collection may only lower it. */
export function uploadLimitFor(globalMax: number, policy: CollectionPolicy): number {
  return policy.maxUploadBytes === null ? globalMax : Math.min(globalMax, policy.maxUploadBytes);
}

/** `text/*` matches any text type, `*\/*` anything; otherwise the essence must be equal. */
export function contentTypeAllowed(type: string, allowed: readonly string[] | null): boolean {
  if (allowed === null) return true;
  const [major] = type.split('/');
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*/*') return true;
    if (p.endsWith('/*')) return p.slice(0, -2) === major;
    return p === type;
  });
}
