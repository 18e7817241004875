import type { Principal, Scope } from '../../domain/access/principal';
import { accountBlocker, isScope, servicePrincipal } from '../../domain/access/service-account';
import { ApplicationError } from '../errors';
import type { Clock } from '../ports/clock';
import type { ServiceAccountStore } from '../ports/service-account-store';
import type { AccessTokenClaims } from '../ports/signing-keys';

/**
 * Turns the claims of a verified token into the request's principal. The account is looked up on
 * every request, so a suspended or deleted account loses access at once, not when its tokens expire.
 */
export class ResolvePrincipal {
  constructor(
    private readonly accounts: ServiceAccountStore,
    private readonly clock: Clock,
  ) {}

  async fromClaims(claims: AccessTokenClaims): Promise<Principal> {
    const account = await this.accounts.get(claims.clientId);
    if (!account || claims.subject !== account.id) {
      throw new ApplicationError('invalid_token', 'the client of this token no longer exists');
    }
    // An expired secret only stops new tokens; a suspension stops the tokens already issued.
    if (accountBlocker(account, this.clock.now()) === 'suspended') {
      throw new ApplicationError('invalid_token', 'the client of this token is suspended');
    }
    const scopes: Scope[] = claims.scopes.filter(isScope);
    return servicePrincipal(account, scopes);
  }
}
