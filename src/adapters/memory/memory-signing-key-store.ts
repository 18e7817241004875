import type { SigningKeyRecord, SigningKeyStore } from '../../application/ports/signing-keys';

const byAge = (a: SigningKeyRecord, b: SigningKeyRecord): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);

export class MemorySigningKeyStore implements SigningKeyStore {
  private readonly keys = new Map<string, SigningKeyRecord>();

  async save(record: SigningKeyRecord): Promise<void> {
    this.keys.set(record.kid, structuredClone(record));
  }

  async list(): Promise<SigningKeyRecord[]> {
    return [...this.keys.values()].map((k) => structuredClone(k)).sort(byAge);
  }

  async delete(kids: readonly string[]): Promise<void> {
    for (const kid of kids) this.keys.delete(kid);
  }
}
