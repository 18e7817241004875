import { accountBlocker, grantScopes, type ServiceAccount } from '../../domain/access/service-account';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import { retryAfterSeconds, TOKEN_FAILURES, tokenFailureKey } from './rate-rules';
import type { Clock } from '../ports/clock';
import type { RateLimiter } from '../ports/rate-limiter';
import type { SecretHasher } from '../ports/secret-hasher';
import type { ServiceAccountStore } from '../ports/service-account-store';
import type { AccessTokenSigner, IssuedAccessToken } from '../ports/signing-keys';

export interface ClientCredentialsRequest {
  readonly clientId: string;
  readonly clientSecret: string;
  /** RFC 6749 §3.3 space-delimited scope list; absent means every granted scope. */
  readonly scope: string | undefined;
  /** The caller's address: failures are counted per (client id, source). */
  readonly source: string;
  /** The issuer identifier the client reached: the token's `iss`. */
  readonly issuer: string;
}

export interface GrantedToken extends IssuedAccessToken {
  readonly scopes: readonly string[];
  readonly account: ServiceAccount;
}

/** RFC 6749 §4.4: a service account trades its credentials for a short-lived access token. */
export class ClientCredentialsGrant {
  constructor(
    private readonly accounts: ServiceAccountStore,
    private readonly hasher: SecretHasher,
    private readonly signer: AccessTokenSigner,
    private readonly clock: Clock,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditTrail,
  ) {}

  /** Every issuance and every refusal goes to the audit log. */
  async grant(request: ClientCredentialsRequest): Promise<GrantedToken> {
    const facts = { target: request.clientId, source: request.source };
    let granted: GrantedToken;
    try {
      granted = await this.tryGrant(request);
    } catch (error) {
      if (!(error instanceof ApplicationError)) throw error;
      return this.audit.refused(
        { kind: 'anonymous', subject: request.clientId },
        'token.refused',
        error,
        facts,
      );
    }
    await this.audit.record({ kind: 'service', subject: granted.account.id }, 'token.issued', 'success', {
      ...facts,
      details: { scopes: [...granted.scopes], expires_at: granted.expiresAt.toISOString() },
    });
    return granted;
  }

  private async tryGrant(request: ClientCredentialsRequest): Promise<GrantedToken> {
    const key = tokenFailureKey(request.clientId, request.source);
    // Checked before the secret, so a client over its failure budget cannot test one more guess.
    const budget = await this.limiter.peek(key, TOKEN_FAILURES);
    if (!budget.allowed) {
      throw new ApplicationError('rate_limited', 'too many failed attempts for this client; wait and retry', {
        retry_after: retryAfterSeconds(budget),
        degraded: budget.degraded,
      });
    }
    let account: ServiceAccount;
    try {
      account = await this.authenticate(request.clientId, request.clientSecret);
    } catch (error) {
      await this.limiter.consume(key, TOKEN_FAILURES);
      throw error;
    }
    const scopes = grantScopes(account.scopes, request.scope);
    if ('refused' in scopes) {
      throw new ApplicationError(
        'invalid_scope',
        `scope not granted to this client: ${scopes.refused.join(' ')}`,
        {
          refused: scopes.refused,
        },
      );
    }
    const issued = await this.signer.sign({
      issuer: request.issuer,
      subject: account.id,
      clientId: account.id,
      scopes: scopes.scopes,
    });
    await this.accounts.touch(account.id, this.clock.now()).catch(() => undefined);
    return { ...issued, scopes: scopes.scopes, account };
  }

  /**
   * One answer for unknown client, wrong secret, suspended account and expired secret, so the
   * endpoint leaks nothing; the reason is kept in the error details for the audit log only.
   */
  private async authenticate(clientId: string, secret: string): Promise<ServiceAccount> {
    const account = await this.accounts.get(clientId);
    if (!account) {
      await this.hasher.burn(secret);
      throw refused('unknown_client');
    }
    if (!(await this.hasher.verify(secret, account.secretHash))) throw refused('wrong_secret');
    const blocker = accountBlocker(account, this.clock.now());
    if (blocker) throw refused(blocker);
    return account;
  }
}

function refused(reason: string): ApplicationError {
  return new ApplicationError('invalid_client', 'client authentication failed', { reason });
}
