import type { Principal } from '../../domain/access/principal';
import type { SigningKeyRecord } from '../ports/signing-keys';
import { requireScope } from '../shared/authorize';
import type { KeyRing } from './key-ring';

export type SigningKeyView = Omit<SigningKeyRecord, 'encryptedPrivateKey'>;

const view = ({ encryptedPrivateKey: _secret, ...rest }: SigningKeyRecord): SigningKeyView => rest;

/** The admin's view of the issuer's key ring: list the keys, rotate by hand (§6). */
export class ManageKeys {
  constructor(private readonly ring: KeyRing) {}

  async list(principal: Principal): Promise<SigningKeyView[]> {
    requireScope(principal, 'admin:read');
    return (await this.ring.publishedKeys()).map(view);
  }

  /** The new key is published now and signs once the publish lead time has passed. */
  async rotate(principal: Principal): Promise<SigningKeyView> {
    requireScope(principal, 'admin:write');
    return view(await this.ring.rotate());
  }
}
