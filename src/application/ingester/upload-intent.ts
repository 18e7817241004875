import type { Principal } from '../../domain/access/principal';
import { checkDescriptiveFields } from '../../domain/document/metadata-limits';
import { sanitizeFileName } from '../../domain/document/file-name';
import { decideRetention } from '../../domain/retention/retention';
import type { PrincipalSnapshot } from '../ports/upload-store';
import { writableCollection } from '../shared/authorize';
import type { UploadCommand } from './upload-document';

/** What the client asked for in Upload-Metadata, as a direct upload's command without its content checks. */
export type UploadIntent = Omit<UploadCommand, 'expect' | 'fileId'> & {
  readonly sha256?: string | undefined;
};

/** Parses Upload-Metadata; throws the same 4xx errors as a direct upload's fields. */
export type DescribeUpload = (metadata: Readonly<Record<string, string>>) => UploadIntent;

export const snapshot = (p: Principal): PrincipalSnapshot => ({
  kind: p.kind,
  subject: p.subject,
  scopes: [...p.scopes],
  collections: p.collections,
});

export const principalOf = (s: PrincipalSnapshot): Principal => ({ ...s, scopes: new Set(s.scopes) });

/** Everything a direct upload would refuse before reading a byte. */
export function validateIntent(
  principal: Principal,
  intent: UploadIntent,
  now: Date,
  defaultTtlDays: number,
): void {
  writableCollection(principal, intent.collection);
  sanitizeFileName(intent.name);
  checkDescriptiveFields({
    description: intent.description ?? null,
    tags: intent.tags ?? [],
    metadata: intent.metadata ?? {},
  });
  decideRetention(
    { policy: intent.retentionPolicy, ttlDays: intent.ttlDays, retainUntil: intent.retainUntil },
    now,
    defaultTtlDays,
  );
}
