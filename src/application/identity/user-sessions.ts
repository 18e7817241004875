import type { Principal } from '../../domain/access/principal';
import { INTERNAL_SCOPES } from '../../domain/access/service-account';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import type { RateLimiter } from '../ports/rate-limiter';
import type { AccessTokenSigner, IssuedAccessToken } from '../ports/signing-keys';
import { LOGIN_FAILURES, loginFailureKey, retryAfterSeconds } from './rate-rules';
import type { UserGrant, Users } from './users';

/** The client id people's tokens carry: the Admin UI signs them in (§6). */
export const USER_CLIENT_ID = 'artstore-ui';

export interface SignedIn extends IssuedAccessToken {
  readonly grant: UserGrant;
}

/**
 * People sign in for a short access token plus a rotating refresh token. Failed logins are
 * budgeted per (username, source) before the password is even checked, on top of the lockout.
 */
export class UserSessions {
  constructor(
    private readonly users: Users,
    private readonly signer: AccessTokenSigner,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditTrail,
  ) {}

  async login(username: string, password: string, source: string, issuer: string): Promise<SignedIn> {
    const attempt = { kind: 'anonymous', subject: username.toLowerCase().slice(0, 64) } as const;
    let signed: SignedIn;
    try {
      signed = await this.tryLogin(username, password, source, issuer);
    } catch (error) {
      if (!(error instanceof ApplicationError)) throw error;
      return this.audit.refused(attempt, 'session.login_failed', error, { target: attempt.subject, source });
    }
    await this.audit.record({ kind: 'user', subject: signed.grant.subject }, 'session.login', 'success', {
      target: signed.grant.user.username,
      details: { session: signed.grant.sessionId },
      source,
    });
    return signed;
  }

  private async tryLogin(
    username: string,
    password: string,
    source: string,
    issuer: string,
  ): Promise<SignedIn> {
    const key = loginFailureKey(username.toLowerCase(), source);
    const budget = await this.limiter.peek(key, LOGIN_FAILURES);
    if (!budget.allowed) {
      throw new ApplicationError('rate_limited', 'too many failed logins from here; wait and retry', {
        retry_after: retryAfterSeconds(budget),
      });
    }
    let grant: UserGrant;
    try {
      grant = await this.users.login(username, password, source);
    } catch (error) {
      if (error instanceof ApplicationError && error.code === 'invalid_credentials') {
        await this.limiter.consume(key, LOGIN_FAILURES);
      }
      throw error;
    }
    return this.sign(grant, issuer);
  }

  async refresh(refreshToken: string, issuer: string): Promise<SignedIn> {
    return this.sign(await this.users.refresh(refreshToken), issuer);
  }

  async logout(refreshToken: string, source: string): Promise<void> {
    await this.users.logout(refreshToken);
    await this.audit.record({ kind: 'anonymous', subject: 'refresh-token' }, 'session.logout', 'success', {
      source,
    });
  }

  changeOwnPassword(principal: Principal, oldPassword: string, newPassword: string): Promise<unknown> {
    return this.users.changeOwnPassword(principal, oldPassword, newPassword);
  }

  private async sign(grant: UserGrant, issuer: string): Promise<SignedIn> {
    const issued = await this.signer.sign({
      issuer,
      subject: grant.subject,
      clientId: USER_CLIENT_ID,
      // People never hold the roles' internal scopes, whatever their role.
      scopes: grant.scopes.filter((s) => !INTERNAL_SCOPES.includes(s)),
    });
    return {
      ...issued,
      grant: { ...grant, scopes: grant.scopes.filter((s) => !INTERNAL_SCOPES.includes(s)) },
    };
  }
}
