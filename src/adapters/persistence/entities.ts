import { defineEntity, p } from '@mikro-orm/postgresql';
import { AUDIT_ENTITIES } from './audit-entities';
import { UPLOAD_ENTITIES } from './upload-entities';
import { USER_ENTITIES } from './user-entities';

/** The storage-element registry (§2: admin owns it; every SE announces itself here). */
export const StorageElementRow = defineEntity({
  name: 'StorageElementRow',
  tableName: 'storage_elements',
  properties: {
    id: p.string().length(63).primary(),
    mode: p.string().length(8),
    backend: p.string().length(8),
    dc: p.string().length(63),
    priority: p.integer(),
    totalBytes: p.bigint('number'),
    usedBytes: p.bigint('number'),
    fileCount: p.bigint('number'),
    url: p.text(),
    lastSeenAt: p.datetime(),
  },
});

/** One storage element's metadata cache (§4): a copy of each active sidecar, rebuildable from them. */
export const SeFileRow = defineEntity({
  name: 'SeFileRow',
  tableName: 'se_files',
  properties: {
    seId: p.string().length(63).primary(),
    fileId: p.uuid().primary(),
    size: p.bigint('number'),
    attributes: p.json<Record<string, unknown>>(),
    updatedAt: p.datetime(),
  },
  primaryKeys: ['seId', 'fileId'],
});

/** The catalog of every file (§2, admin). `attributes` holds the sidecar document; columns serve queries. */
export const CatalogFileRow = defineEntity({
  name: 'CatalogFileRow',
  tableName: 'files',
  properties: {
    fileId: p.uuid().primary(),
    name: p.text(),
    collection: p.string().length(63),
    contentType: p.text(),
    size: p.bigint('number'),
    sha256: p.string().length(64),
    uploader: p.text(),
    uploadedAt: p.datetime(),
    status: p.string().length(16),
    retentionPolicy: p.string().length(16),
    expiresAt: p.datetime().nullable(),
    attributes: p.json<Record<string, unknown>>(),
    /** The name split into words (search-text.ts); the search trigger reads it. */
    nameWords: p.text().default(''),
  },
  indexes: [
    { properties: ['uploadedAt', 'fileId'] },
    { properties: ['collection'] },
    { properties: ['contentType'] },
    { properties: ['uploader'] },
  ],
  // Declared so schema diffs know it; its function lives in Migration20261202060000_file_search. Its
  // companion `files_search_truncate` is not declared: information_schema (which the diff reads)
  // does not list truncate triggers.
  triggers: [
    {
      name: 'files_search',
      timing: 'after',
      events: ['insert', 'update', 'delete'],
      expression:
        'create trigger files_search after insert or update or delete on "files" for each row execute function files_search();',
    },
  ],
});

/**
 * What search reads (Migration20261202060000_file_search): per file its weighted tsvector and the
 * columns filters and sorts use, kept equal to `files` by its triggers. Narrow on purpose: ranking
 * reads every match's row. Only raw search SQL reads it; nothing writes it but the triggers.
 */
export const FileSearchRow = defineEntity({
  name: 'FileSearchRow',
  tableName: 'file_search',
  properties: {
    fileId: p.uuid().primary(),
    name: p.text(),
    collection: p.string().length(63),
    contentType: p.text(),
    size: p.bigint('number'),
    uploader: p.text(),
    uploadedAt: p.datetime(),
    status: p.string().length(16),
    retentionPolicy: p.string().length(16),
    expiresAt: p.datetime().nullable(),
    tags: p.json<string[]>(),
    searchVector: p.string().columnType('tsvector').lazy(),
  },
  indexes: [{ properties: ['searchVector'], type: 'gin' }, { properties: ['uploadedAt', 'fileId'] }],
});

export const FileCopyRow = defineEntity({
  name: 'FileCopyRow',
  tableName: 'file_copies',
  properties: {
    fileId: p.uuid().primary(),
    seId: p.string().length(63).primary(),
    key: p.text(),
    createdAt: p.datetime(),
  },
  primaryKeys: ['fileId', 'seId'],
  indexes: [{ properties: ['seId'] }],
});

/** Restored copies of archived files (see MikroOrmRestoredCopies), removed when they expire. */
export const RestoredCopyRow = defineEntity({
  name: 'RestoredCopyRow',
  tableName: 'restored_copies',
  properties: {
    fileId: p.uuid().primary(),
    seId: p.string().length(63).primary(),
    key: p.text(),
    expiresAt: p.datetime(),
    restoredAt: p.datetime(),
  },
  primaryKeys: ['fileId', 'seId'],
  indexes: [{ properties: ['expiresAt'] }],
});

/** The OAuth issuer's key ring (§6); the private key is AES-256-GCM ciphertext, opaque here. */
export const SigningKeyRow = defineEntity({
  name: 'SigningKeyRow',
  tableName: 'signing_keys',
  properties: {
    kid: p.string().length(64).primary(),
    publicJwk: p.json<Record<string, unknown>>(),
    encryptedPrivateKey: p.text(),
    createdAt: p.datetime(),
    activatesAt: p.datetime(),
    retiredAt: p.datetime().nullable(),
  },
});

/** OAuth clients (§6): the secret only as a slow hash; grants as JSON (scope → collection globs). */
export const ServiceAccountRow = defineEntity({
  name: 'ServiceAccountRow',
  tableName: 'service_accounts',
  properties: {
    id: p.string().length(128).primary(),
    name: p.text(),
    scopes: p.json<string[]>(),
    collections: p.json<Record<string, string[]>>(),
    status: p.string().length(16),
    secretHash: p.text(),
    secretExpiresAt: p.datetime(),
    rateLimitPerMinute: p.integer().nullable(),
    internal: p.boolean(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    lastUsedAt: p.datetime().nullable(),
  },
});

/** The fixity history (see MikroOrmFixityLog): append-only, read by file, newest first. */
export const FixityCheckRow = defineEntity({
  name: 'FixityCheckRow',
  tableName: 'fixity_checks',
  properties: {
    id: p.bigint('number').primary(),
    seId: p.string().length(63),
    fileId: p.uuid(),
    checkedAt: p.datetime(),
    ok: p.boolean(),
    detail: p.text().nullable(),
    trigger: p.string().length(16),
  },
  indexes: [{ properties: ['fileId', 'checkedAt', 'id'] }, { properties: ['seId', 'checkedAt'] }],
});

/** Sagas (§3.5, see MikroOrmSagaStore): saved as they go, taken over when their lease runs out. */
export const SagaRow = defineEntity({
  name: 'SagaRow',
  tableName: 'sagas',
  properties: {
    id: p.uuid().primary(),
    kind: p.string().length(16),
    status: p.string().length(16),
    step: p.integer(),
    payload: p.json<Record<string, unknown>>(),
    fileId: p.uuid().nullable(),
    error: p.text().nullable(),
    owner: p.string().length(64),
    leaseUntil: p.datetime(),
    attempts: p.integer(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  indexes: [
    { properties: ['createdAt', 'id'] },
    { properties: ['fileId'] },
    { properties: ['status', 'leaseUntil'] },
    {
      name: 'sagas_unfinished_file_id_unique',
      expression:
        'create unique index "sagas_unfinished_file_id_unique" on "sagas" ("file_id") where "status" in (\'running\', \'compensating\')',
    },
  ],
});

export const ENTITIES = [
  StorageElementRow,
  SeFileRow,
  FixityCheckRow,
  CatalogFileRow,
  FileSearchRow,
  SagaRow,
  FileCopyRow,
  RestoredCopyRow,
  SigningKeyRow,
  ServiceAccountRow,
  ...AUDIT_ENTITIES,
  ...USER_ENTITIES,
  ...UPLOAD_ENTITIES,
];
