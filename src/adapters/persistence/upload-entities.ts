import { defineEntity, p } from '@mikro-orm/postgresql';

/** Resumable (tus) uploads; see MikroOrmUploadStore. */
export const UploadRow = defineEntity({
  name: 'UploadRow',
  tableName: 'uploads',
  properties: {
    id: p.string().length(64).primary(),
    owner: p.text(),
    principal: p.json<Record<string, unknown>>(),
    length: p.bigint('number').nullable(),
    offset: p.bigint('number'),
    metadata: p.json<Record<string, string>>(),
    stagedKey: p.text(),
    fileId: p.uuid().nullable(),
    status: p.string().length(16),
    error: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    expiresAt: p.datetime(),
  },
  indexes: [{ properties: ['expiresAt'] }, { properties: ['status', 'updatedAt'] }],
});

export const UPLOAD_ENTITIES = [UploadRow];
