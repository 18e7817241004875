import type { Principal, Scope } from '../../domain/access/principal';
import {
  accountBlocker,
  INTERNAL_SCOPES,
  isScope,
  servicePrincipal,
} from '../../domain/access/service-account';
import { userPrincipal } from '../../domain/access/user';
import { ApplicationError } from '../errors';
import type { Clock } from '../ports/clock';
import type { RateLimiter } from '../ports/rate-limiter';
import type { ServiceAccountStore } from '../ports/service-account-store';
import type { AccessTokenClaims } from '../ports/signing-keys';
import type { UserStore } from '../ports/user-store';
import { ACCOUNT_REQUESTS, accountRequestKey, retryAfterSeconds } from './rate-rules';
import { USER_CLIENT_ID } from './user-sessions';

/**
 * Turns the claims of a verified token into the request's principal. The account or user is looked
 * up on every request, so a suspended account, a deleted user or a changed role takes effect at
 * once, not when the tokens already issued expire.
 */
export class ResolvePrincipal {
  constructor(
    private readonly accounts: ServiceAccountStore,
    private readonly users: UserStore | null,
    private readonly clock: Clock,
    private readonly limiter: RateLimiter,
  ) {}

  async fromClaims(claims: AccessTokenClaims): Promise<Principal> {
    const scopes: Scope[] = claims.scopes.filter(isScope);
    if (claims.clientId === USER_CLIENT_ID) return this.user(claims.subject, scopes);
    const account = await this.accounts.get(claims.clientId);
    if (!account || claims.subject !== account.id) {
      throw new ApplicationError('invalid_token', 'the client of this token no longer exists');
    }
    // An expired secret only stops new tokens; a suspension stops the tokens already issued.
    if (accountBlocker(account, this.clock.now()) === 'suspended') {
      throw new ApplicationError('invalid_token', 'the client of this token is suspended');
    }
    if (account.rateLimitPerMinute !== null) await this.withinQuota(account.id, account.rateLimitPerMinute);
    return servicePrincipal(account, scopes);
  }

  /** An account's own request limit, counted across every role sharing the limiter's store. */
  private async withinQuota(accountId: string, perMinute: number): Promise<void> {
    const rule = { ...ACCOUNT_REQUESTS, limit: perMinute };
    const decision = await this.limiter.consume(accountRequestKey(accountId), rule);
    if (!decision.allowed) {
      throw new ApplicationError('rate_limited', `this account may make ${perMinute} requests a minute`, {
        retry_after: retryAfterSeconds(decision),
      });
    }
  }

  private async user(id: string, tokenScopes: readonly Scope[]): Promise<Principal> {
    const user = this.users ? await this.users.get(id) : null;
    if (!user) throw new ApplicationError('invalid_token', 'the user of this token no longer exists');
    const current = userPrincipal(user);
    // The token's scopes, never more than the role grants today, and never the roles' internal ones.
    const allowed = (s: Scope): boolean => current.scopes.has(s) && !INTERNAL_SCOPES.includes(s);
    return { ...current, scopes: new Set(tokenScopes.filter(allowed)) };
  }
}
