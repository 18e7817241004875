import type { Principal } from '../../domain/access/principal';
import type { AuditTrail } from '../audit/audit-trail';
import type { SigningKeyRecord } from '../ports/signing-keys';
import { requireScope } from '../shared/authorize';
import type { KeyRing } from './key-ring';

export type SigningKeyView = Omit<SigningKeyRecord, 'encryptedPrivateKey'>;

const view = ({ encryptedPrivateKey: _secret, ...rest }: SigningKeyRecord): SigningKeyView => rest;

/** The admin's view of the issuer's key ring: list the keys, rotate by hand (§6). */
export class ManageKeys {
  constructor(
    private readonly ring: KeyRing,
    private readonly audit: AuditTrail,
  ) {}

  async list(principal: Principal): Promise<SigningKeyView[]> {
    requireScope(principal, 'admin:read');
    return (await this.ring.publishedKeys()).map(view);
  }

  /** The scheduled rotation: records a key the ring made on its own. */
  async ensureCurrent(principal: Principal): Promise<void> {
    const before = new Set((await this.ring.publishedKeys()).map((k) => k.kid));
    await this.ring.ensureCurrent();
    for (const key of await this.ring.publishedKeys()) {
      if (before.has(key.kid)) continue;
      await this.audit.record(principal, 'key.rotated', 'success', {
        target: key.kid,
        details: { manual: false, activates_at: key.activatesAt.toISOString() },
      });
    }
  }

  /** The new key is published now and signs once the publish lead time has passed. */
  async rotate(principal: Principal): Promise<SigningKeyView> {
    requireScope(principal, 'admin:write');
    const key = view(await this.ring.rotate());
    await this.audit.record(principal, 'key.rotated', 'success', {
      target: key.kid,
      details: { manual: true, activates_at: key.activatesAt.toISOString() },
    });
    return key;
  }
}
