import type Router from '@koa/router';
import type { Container } from 'inversify';
import type { ReadinessCheck } from '../adapters/http/health-routes';
import { registerAdminRoutes } from '../adapters/http/admin-routes';
import { registerHealthRoutes } from '../adapters/http/health-routes';
import { registerReadRoutes } from '../adapters/http/read-routes';
import { registerRestoreRoutes } from '../adapters/http/restore-routes';
import { registerStorageRoutes } from '../adapters/http/storage-routes';
import { registerUpdateRoutes } from '../adapters/http/update-routes';
import { registerUploadRoutes } from '../adapters/http/upload-routes';
import { registerTusRoutes } from '../adapters/http/tus-routes';
import { registerLifecycleRoutes, registerSagaRoutes } from '../adapters/http/lifecycle-routes';
import type { Role } from './config';
import type { Identity } from './identity';
import { registerAccountRoutes, registerKeyRoutes } from '../adapters/http/account-routes';
import { registerOAuthRoutes } from '../adapters/http/oauth-routes';
import { registerAuditRoutes } from '../adapters/http/audit-routes';
import { ReadAudit } from '../application/audit/read-audit';
import { registerUserRoutes } from '../adapters/http/user-routes';
import { TOKENS as T } from './tokens';

/** `--role` selects the routers: health and metrics on every role, the rest per role. */
export function registerRoutes(
  router: Router,
  container: Container,
  roles: readonly Role[],
  checks: readonly ReadinessCheck[],
  identity: Identity,
): void {
  registerHealthRoutes(router, checks, container.get(T.metrics));
  if (identity.admin) {
    registerOAuthRoutes(router, identity.admin.oauth);
    registerAccountRoutes(router, identity.admin.accounts);
    registerKeyRoutes(router, identity.admin.keys);
    registerUserRoutes(router, identity.admin.sessions, identity.admin.users, identity.issuerOf);
    registerAuditRoutes(router, new ReadAudit(container.get(T.auditLog)));
  }
  if (roles.includes('ingester')) {
    registerUploadRoutes(router, container.get(T.uploadDocument), container.get(T.metrics));
    registerTusRoutes(
      router,
      container.get(T.resumableUploads),
      container.get(T.uploadLocker),
      container.get(T.metrics),
    );
    registerLifecycleRoutes(router, container.get(T.finalizeDocument), container.get(T.deleteDocument));
    registerUpdateRoutes(router, container.get(T.updateDocument));
  }
  if (roles.includes('query')) {
    registerReadRoutes(router, container.get(T.readDocuments));
    registerRestoreRoutes(router, container.get(T.restoreDocument));
  }
  if (roles.includes('admin')) {
    registerAdminRoutes(router, container.get(T.manageStorageElements), container.get(T.rebuildCatalog));
    registerSagaRoutes(router, container.get(T.readSagas));
  }
  if (roles.includes('storage'))
    registerStorageRoutes(
      router,
      container.get(T.hostedElements),
      container.get(T.codec),
      container.get(T.auditTrail),
    );
}
