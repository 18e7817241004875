import { Redis } from 'ioredis';
import type { StorageElementService } from '../application/storage/storage-element-service';
import { createApp } from '../adapters/http/app';
import type { ReadinessCheck } from '../adapters/http/health-routes';
import { listen } from '../adapters/http/server';
import { afterResubscribe } from '../adapters/redis/redis-event-bus';
import { migrate, openDatabase } from '../adapters/persistence/database';
import { startEmbeddedPostgres } from '../adapters/persistence/embedded-postgres';
import { configureFailpoints } from '../adapters/system/failpoints';
import type { Logger } from '../adapters/telemetry/logger';
import { Metrics } from '../adapters/telemetry/metrics';
import type { Config } from './config';
import { buildContainer, SPOOL_LEFTOVER_AGE_MS, spoolArea } from './container';
import { buildIdentity, type Identity } from './identity';
import { registerRoutes } from './routes';
import {
  announce,
  openStorageElement,
  scheduleScrubs,
  storageObserver,
  type HostedElement,
} from './storage-elements';
import { TOKENS as T } from './tokens';
import { sagaResumer } from '../application/sagas/resume';
import type { ExpireRestoredCopies } from '../application/admin/expire-restored-copies';

export interface RunningArtStore {
  readonly url: string;
  stop(): Promise<void>;
}

/** How long one resource may take to close (the HTTP server has its own, shutdown_timeout_ms). */
const CLOSE_BOUND_MS = 5_000;

/** Closes what was opened, newest first, continuing past failures. */
class Resources {
  private readonly closers: { name: string; close: () => Promise<unknown>; boundMs: number }[] = [];

  add(name: string, close: () => Promise<unknown>, boundMs = CLOSE_BOUND_MS): void {
    this.closers.push({ name, close, boundMs });
  }

  /**
   * Each closer is bounded: one that hangs (a client waiting on a dependency that stopped
   * answering) is logged and left behind, so the rest still close and the process still ends.
   */
  async closeAll(log: Logger): Promise<void> {
    for (const { name, close, boundMs } of this.closers.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), boundMs);
      });
      try {
        if ((await Promise.race([close(), bound])) === 'timeout')
          log.error({ resource: name, bound_ms: boundMs }, 'did not close in time; left behind');
      } catch (error) {
        log.warn({ err: error, resource: name }, 'failed to close');
      } finally {
        clearTimeout(timer);
      }
    }
    this.closers.length = 0;
  }
}

/**
 * Bounds a connected client's commands. Set only once connected: ioredis applies commandTimeout to
 * its ready check too, and a start that stalls the event loop (a loaded machine) would fail that
 * check and the start with it ("Connection is closed.").
 */
function withCommandTimeout(client: Redis, ms: number): void {
  client.options.commandTimeout = ms;
}

async function connectRedis(
  url: string,
  log: Logger,
  cacheTimeoutMs: number,
): Promise<{ publisher: Redis; subscriber: Redis; cache: Redis }> {
  // Requests wait on the publisher (events, tus locks): while Redis is away its commands fail at
  // once, and one that gets no answer fails after 2 s, so a request never hangs on Redis.
  const publisher = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5_000,
  });
  const subscriber = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
  });
  // The shared cache never waits for Redis: a command fails at once while it is away, or times out.
  const cache = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
  });
  for (const client of [publisher, subscriber, cache])
    client.on('error', (error) => log.warn({ err: error }, 'redis connection error'));
  await Promise.all([publisher.connect(), subscriber.connect(), cache.connect()]);
  withCommandTimeout(publisher, 2_000);
  withCommandTimeout(cache, cacheTimeoutMs);
  return { publisher, subscriber, cache };
}

/** Removes expired restored copies now and every `restore_sweep_interval_s`; returns the stopper. */
function scheduleRestoreExpiry(
  expiry: ExpireRestoredCopies,
  config: Config,
  log: Logger,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  const sweep = (): void => {
    // One sweep at a time: a slow SE must not pile sweeps up.
    running ??= expiry
      .sweep()
      .then(({ removed, failed }) => {
        if (removed + failed > 0) log.info({ removed, failed }, 'expired restored copies swept');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'restored copy expiry sweep failed'))
      .finally(() => {
        running = null;
      });
  };
  sweep();
  const timer =
    config.restore_sweep_interval_s > 0 ? setInterval(sweep, config.restore_sweep_interval_s * 1000) : null;
  timer?.unref();
  return async () => {
    if (timer) clearInterval(timer);
    await running;
  };
}

/** Starts every configured role in this process: infrastructure, SEs, HTTP, heartbeats. */
export async function startArtStore(config: Config, log: Logger): Promise<RunningArtStore> {
  configureFailpoints(config.failpoints);
  const resources = new Resources();
  try {
    let databaseUrl = config.database_url;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.data_dir, log);
      resources.add('embedded postgres', () => embedded.stop());
      databaseUrl = embedded.url;
    }
    // Migrations run on a connection of their own without the query bound: a backfill over a
    // large catalog may take minutes, while a request's query must not.
    const migrating = await openDatabase({
      url: databaseUrl,
      connectTimeoutMs: config.database_connect_timeout_ms,
    });
    const applied = await migrate(migrating).finally(() => migrating.close());
    if (applied.length > 0) log.info({ migrations: applied }, 'migrations applied');
    const orm = await openDatabase({
      url: databaseUrl,
      queryTimeoutMs: config.database_query_timeout_ms,
      connectTimeoutMs: config.database_connect_timeout_ms,
    });
    resources.add('database', () => orm.close());
    const redis = config.redis_url
      ? await connectRedis(config.redis_url, log, config.cache_l2_timeout_ms)
      : null;
    if (redis)
      resources.add('redis', () =>
        Promise.all([redis.publisher.quit(), redis.subscriber.quit(), redis.cache.quit()]),
      );

    const metrics = new Metrics({ roles: config.role.join(',') });
    const hosted = new Map<string, StorageElementService>();
    let identity: Identity | null = null;
    const serviceToken = (rejected?: string): Promise<string> =>
      identity ? identity.serviceToken(rejected) : Promise.reject(new Error('identity is not ready yet'));
    const container = buildContainer(
      { config, logger: log, metrics, orm, redis, serviceToken },
      config.role,
      hosted,
    );
    const built = await buildIdentity(
      config,
      orm,
      container.get(T.events),
      container.get(T.clock),
      log,
      container.get(T.auditTrail),
    );
    identity = built.identity;
    resources.add('identity', built.close);
    const deps = {
      index: container.get(T.fileIndex),
      codec: container.get(T.codec),
      clock: container.get(T.clock),
      ids: container.get(T.ids),
      fixity: container.get(T.fixityLog),
      observer: storageObserver(
        container.get(T.registry),
        container.get(T.events),
        container.get(T.auditTrail),
        log,
      ),
    };
    for (const seConfig of config.hosted_storage_elements) {
      const element: HostedElement = await openStorageElement(seConfig, config, deps);
      resources.add(`storage element ${seConfig.id}`, () => element.close());
      hosted.set(seConfig.id, element.service);
      log.info(
        { se: seConfig.id, mode: element.service.currentMode(), path: seConfig.path },
        'storage element ready',
      );
    }

    const checks: ReadinessCheck[] = [
      { name: 'database', check: () => orm.em.fork().getConnection().execute('select 1') },
      ...(redis ? [{ name: 'redis', check: () => redis.publisher.ping() }] : []),
      ...[...hosted.values()].map((se) => ({
        name: `storage_element:${se.id}`,
        check: async () => {
          const { health } = await se.info();
          if (health.status === 'failing') throw new Error(health.problems.join('; '));
        },
      })),
    ];
    const ready = identity;
    const app = createApp(log, metrics, ready, (router) =>
      registerRoutes(router, container, config.role, checks, ready),
    );
    const server = await listen(app, config.host, config.port);
    resources.add(
      'http server',
      () => server.close(config.shutdown_timeout_ms),
      config.shutdown_timeout_ms + CLOSE_BOUND_MS,
    );

    const url = config.public_url ?? server.url;
    resources.add('identity schedule', await ready.start(url));
    const registry = container.get(T.registry);
    const clock = container.get(T.clock);
    const heartbeat = async (): Promise<void> => {
      for (const se of hosted.values()) await announce(se, url, registry, clock, metrics);
    };
    await heartbeat();
    const timer = setInterval(() => {
      heartbeat().catch((error: unknown) => log.warn({ err: error }, 'storage element heartbeat failed'));
    }, config.heartbeat_ms);
    timer.unref();
    resources.add('heartbeat', async () => clearInterval(timer));
    if (config.scrub_interval_s > 0) {
      const scrubs = scheduleScrubs(
        [...hosted.values()],
        config.scrub_interval_s * 1000,
        container.get(T.fixityLog),
        clock,
        log,
      );
      resources.add('scrub schedule', async () => scrubs.stop());
    }
    if (config.role.includes('ingester')) {
      const uploads = container.get(T.resumableUploads);
      const sweep = (): void => {
        uploads
          .sweep()
          .then(({ finished, removed }) => {
            if (finished + removed > 0) log.info({ finished, removed }, 'resumable uploads swept');
          })
          .catch((error: unknown) => log.warn({ err: error }, 'resumable upload sweep failed'));
      };
      sweep();
      spoolArea(config)
        .removeOlderThan(new Date(Date.now() - SPOOL_LEFTOVER_AGE_MS))
        .then((removed) => {
          if (removed > 0) log.info({ removed }, 'spool leftovers removed');
        })
        .catch((error: unknown) => log.warn({ err: error }, 'spool cleanup failed'));
      if (config.upload_sweep_interval_s > 0) {
        const sweeper = setInterval(sweep, config.upload_sweep_interval_s * 1000);
        sweeper.unref();
        resources.add('upload sweep', async () => clearInterval(sweeper));
      }
    }
    const sagas = container.get(T.sagaRunner);
    resources.add('sagas', () => sagas.stop());
    // §3.5: the admin takes over sagas whose process died (each claim is atomic across admin replicas).
    if (config.role.includes('admin')) {
      sagas.startRecovery(
        sagaResumer({
          directory: container.get(T.directory),
          catalog: container.get(T.writerCatalog),
          events: container.get(T.events),
          restored: container.get(T.restoredCopies),
          sagas,
          clock,
        }),
      );
      resources.add(
        'restore expiry',
        scheduleRestoreExpiry(container.get(T.expireRestoredCopies), config, log),
      );
    }
    const unsubscribe = await container.get(T.registryView).listen(container.get(T.events));
    resources.add('registry events', unsubscribe);
    const catalog = container.get(T.catalog);
    resources.add('catalog events', await catalog.listen());
    // Events published while the subscriber was reconnecting are lost: forget what they would have invalidated.
    if (redis)
      resources.add(
        'catalog resync',
        afterResubscribe(redis.subscriber, () => catalog.forgetAll()),
      );

    log.info(
      { url, bound: server.url, roles: config.role, storage_elements: [...hosted.keys()] },
      'listening',
    );
    return { url: server.url, stop: () => resources.closeAll(log) };
  } catch (error) {
    await resources.closeAll(log);
    throw error;
  }
}
