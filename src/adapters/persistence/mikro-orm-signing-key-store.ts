import type { InferEntity } from '@mikro-orm/postgresql';
import type { PublicJwk, SigningKeyRecord, SigningKeyStore } from '../../application/ports/signing-keys';
import type { Orm } from './database';
import { SigningKeyRow } from './entities';

type Row = InferEntity<typeof SigningKeyRow>;

function toRecord(row: Row): SigningKeyRecord {
  return {
    kid: row.kid,
    publicJwk: row.publicJwk as unknown as PublicJwk,
    encryptedPrivateKey: row.encryptedPrivateKey,
    createdAt: row.createdAt,
    activatesAt: row.activatesAt,
    retiredAt: row.retiredAt ?? null,
  };
}

export class MikroOrmSigningKeyStore implements SigningKeyStore {
  constructor(private readonly orm: Orm) {}

  async save(record: SigningKeyRecord): Promise<void> {
    await this.orm.em.fork().upsert(SigningKeyRow, {
      kid: record.kid,
      publicJwk: { ...record.publicJwk },
      encryptedPrivateKey: record.encryptedPrivateKey,
      createdAt: record.createdAt,
      activatesAt: record.activatesAt,
      retiredAt: record.retiredAt,
    });
  }

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.orm.em
      .fork()
      .find(SigningKeyRow, {}, { orderBy: { createdAt: 'asc', kid: 'asc' } });
    return rows.map(toRecord);
  }

  async delete(kids: readonly string[]): Promise<void> {
    if (kids.length === 0) return;
    await this.orm.em.fork().nativeDelete(SigningKeyRow, { kid: { $in: [...kids] } });
  }
}
