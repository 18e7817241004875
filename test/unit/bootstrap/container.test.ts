import Router from '@koa/router';
import { MemoryLocker } from '@tus/server';
import type { Redis } from 'ioredis';
import { RedisLocker } from '../../../src/adapters/tus/redis-locker';
import { ManageStorageElements } from '../../../src/application/admin/manage-storage-elements';
import { UploadDocument } from '../../../src/application/ingester/upload-document';
import { ReadDocuments } from '../../../src/application/query/read-documents';
import { RestoreDocument } from '../../../src/application/query/restore-document';
import { ExpireRestoredCopies } from '../../../src/application/admin/expire-restored-copies';
import type { StorageElementService } from '../../../src/application/storage/storage-element-service';
import { INTERNAL_PREFIX } from '../../../src/adapters/http/internal-wire';
import type { Orm } from '../../../src/adapters/persistence/database';
import { JsonSidecarCodec } from '../../../src/adapters/sidecar/json-sidecar-codec';
import { createLogger } from '../../../src/adapters/telemetry/logger';
import { Metrics } from '../../../src/adapters/telemetry/metrics';
import { loadConfig, ROLES, type Role } from '../../../src/bootstrap/config';
import { buildContainer, type Infrastructure } from '../../../src/bootstrap/container';
import { registerRoutes } from '../../../src/bootstrap/routes';
import type { Identity } from '../../../src/bootstrap/identity';
import { TOKENS } from '../../../src/bootstrap/tokens';
import { aMemoryElement } from '../../support/fakes';

/** Every non-empty subset of the four roles (15 sets). */
const ROLE_SETS: Role[][] = Array.from({ length: 2 ** ROLES.length - 1 }, (_, i) =>
  ROLES.filter((_role, bit) => ((i + 1) >> bit) & 1),
);

function infrastructureFor(roles: readonly Role[]): Infrastructure {
  const split = roles.length < ROLES.length;
  const config = loadConfig({
    env: {
      ARTSTORE_ROLE: roles.join(','),
      ...(split
        ? {
            ARTSTORE_DATABASE_URL: 'postgresql://artstore@127.0.0.1:5432/artstore',
            ARTSTORE_REDIS_URL: 'redis://127.0.0.1:6379',
            ARTSTORE_ISSUER_URL: 'http://admin.test:8000',
            ARTSTORE_CLIENT_ID: 'role-test',
            ARTSTORE_CLIENT_SECRET: 'role-test-secret-0123456789',
          }
        : {}),
      ...(split && roles.includes('storage') ? { ARTSTORE_SE_ID: 'rw-1' } : {}),
    },
  });
  return {
    config,
    logger: createLogger('fatal'),
    metrics: new Metrics(),
    // Adapters only keep the ORM at construction; nothing here queries a database.
    orm: {} as Orm,
    redis: null,
    serviceToken: () => Promise.reject(new Error('not in this test')),
  };
}

function hostedFor(infra: Infrastructure): Map<string, StorageElementService> {
  return new Map(
    infra.config.hosted_storage_elements.map((se) => [
      se.id,
      aMemoryElement({ id: se.id, mode: se.mode }).service,
    ]),
  );
}

describe('buildContainer', () => {
  it('covers all 15 role sets', () => {
    expect(ROLE_SETS).toHaveLength(15);
    expect(new Set(ROLE_SETS.map((set) => set.join(','))).size).toBe(15);
  });

  it.each(ROLE_SETS.map((roles) => [roles.join('+'), roles] as const))(
    'resolves every token the routes of %s need',
    (_name, roles) => {
      const infra = infrastructureFor(roles);
      const hosted = hostedFor(infra);
      const container = buildContainer(infra, roles, hosted);

      expect(container.get(TOKENS.metrics)).toBe(infra.metrics);
      expect(container.get(TOKENS.config)).toBe(infra.config);
      expect(container.isBound(TOKENS.uploadDocument)).toBe(roles.includes('ingester'));
      expect(container.isBound(TOKENS.readDocuments)).toBe(roles.includes('query'));
      expect(container.isBound(TOKENS.manageStorageElements)).toBe(roles.includes('admin'));
      if (roles.includes('ingester'))
        expect(container.get(TOKENS.uploadDocument)).toBeInstanceOf(UploadDocument);
      if (roles.includes('query')) expect(container.get(TOKENS.readDocuments)).toBeInstanceOf(ReadDocuments);
      expect(container.isBound(TOKENS.restoreDocument)).toBe(roles.includes('query'));
      if (roles.includes('query'))
        expect(container.get(TOKENS.restoreDocument)).toBeInstanceOf(RestoreDocument);
      expect(container.isBound(TOKENS.expireRestoredCopies)).toBe(roles.includes('admin'));
      if (roles.includes('admin'))
        expect(container.get(TOKENS.expireRestoredCopies)).toBeInstanceOf(ExpireRestoredCopies);
      if (roles.includes('admin')) {
        expect(container.get(TOKENS.manageStorageElements)).toBeInstanceOf(ManageStorageElements);
      }
      if (roles.includes('storage')) {
        expect(container.get(TOKENS.hostedElements)).toBe(hosted);
        expect([...hosted.keys()]).toEqual(
          roles.length === ROLES.length ? ['edit-1', 'rw-1', 'rw-2'] : ['rw-1'],
        );
        expect(container.get(TOKENS.codec)).toBeInstanceOf(JsonSidecarCodec);
      }

      const router = new Router();
      // The issuer's routes need a database-backed key ring; the e2e tests cover them.
      const identity: Identity = {
        authenticate: () => Promise.reject(new Error('not in this test')),
        issuerOf: () => 'http://artstore.test',
        serviceToken: () => Promise.reject(new Error('not in this test')),
        admin: null,
        start: async () => async () => undefined,
      };
      expect(() => registerRoutes(router, container, roles, [], identity)).not.toThrow();
      const paths = router.stack.map((layer) => String(layer.path));
      expect(paths).toContain('/metrics');
      expect(paths.some((p) => p.startsWith(INTERNAL_PREFIX))).toBe(roles.includes('storage'));
      expect(paths.includes('/api/v1/uploads/:id')).toBe(roles.includes('ingester'));
      expect(paths.includes('/api/v1/files/:id/restore')).toBe(roles.includes('query'));
      expect(container.isBound(TOKENS.resumableUploads)).toBe(roles.includes('ingester'));
    },
  );

  it('hands out singletons: one use case per container, sharing the directory', () => {
    const roles = [...ROLES];
    const infra = infrastructureFor(roles);
    const container = buildContainer(infra, roles, hostedFor(infra));
    expect(container.get(TOKENS.uploadDocument)).toBe(container.get(TOKENS.uploadDocument));
    expect(container.get(TOKENS.resumableUploads)).toBe(container.get(TOKENS.resumableUploads));
    expect(container.get(TOKENS.uploadLocker)).toBe(container.get(TOKENS.uploadLocker));
    expect(container.get(TOKENS.directory)).toBe(container.get(TOKENS.directory));
    expect(container.get(TOKENS.events)).toBe(container.get(TOKENS.events));
  });

  it('reaches hosted SEs in process through the directory', () => {
    const roles = [...ROLES];
    const infra = infrastructureFor(roles);
    const hosted = hostedFor(infra);
    const directory = buildContainer(infra, roles, hosted).get(TOKENS.directory);
    expect(directory.client('rw-1')).toBe(hosted.get('rw-1'));
    expect(directory.client('elsewhere-1')).not.toBe(undefined);
    expect(directory.client('elsewhere-1').id).toBe('elsewhere-1');
  });
});

describe('the resumable-upload lock', () => {
  it("is @tus/server's MemoryLocker without Redis and a RedisLocker with it", () => {
    const roles = [...ROLES];
    const infra = infrastructureFor(roles);
    expect(buildContainer(infra, roles, hostedFor(infra)).get(TOKENS.uploadLocker)).toBeInstanceOf(
      MemoryLocker,
    );
    const redis = {} as Redis;
    const withRedis = { ...infra, redis: { publisher: redis, subscriber: redis, cache: redis } };
    expect(buildContainer(withRedis, roles, hostedFor(withRedis)).get(TOKENS.uploadLocker)).toBeInstanceOf(
      RedisLocker,
    );
  });
});
