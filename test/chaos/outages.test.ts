import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anonymousFetch,
  authorize,
  bootstrapCredentials,
  clientToken,
  signInAsBootstrapAdmin,
} from '../support/auth';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startSplit, type SplitDeployment } from '../support/split';
import { recordFigures } from './support/figures';
import {
  prepareRefusals,
  preparePool,
  prepareShared,
  proxiedDependencies,
  startPrivateRedis,
  limitedAccount,
  writeConfig,
  type Dependencies,
  type PrivateRedis,
} from './support/outage-deployment';
import {
  ANSWER_WITHIN_MS,
  describeOutcome,
  failedOpen,
  fiveXxKinds,
  isDefinite,
  isHealthy,
  runMix,
  type Outcome,
  type Refused,
  type Stored,
  type Target,
} from './support/outages';
import { byTier } from './support/tier';

afterAll(killAll);

type Dependency = 'postgres' | 'redis' | 's3';
type FaultKind = 'stopped' | 'blackholed' | 'slow' | 'reset' | 'flushed';
interface Fault {
  readonly dependency: Dependency;
  readonly kind: FaultKind;
}

/** One-way latency of the `slow` fault, per chunk. */
const SLOW_MS = 100;
/** After the dependency is back, every request of the mix must succeed within this (issue 7). */
const RECOVERY_MS = 30_000;
const ROUNDS = byTier(1, 3);

const KINDS: readonly FaultKind[] = ['stopped', 'blackholed', 'slow', 'reset'];
const EVERY_FAULT: readonly Fault[] = [
  ...(['postgres', 'redis', 's3'] as const).flatMap((dependency) =>
    KINDS.map((kind) => ({ dependency, kind })),
  ),
  { dependency: 'redis', kind: 'flushed' },
];
const fault = (dependency: Dependency, kind: FaultKind): Fault => ({ dependency, kind });
/** Tier 1 (CI, 3 minutes): each dependency gone and black-holed, Redis flushed; tier 2: everything. */
const ALL_FAULTS: readonly Fault[] = byTier(
  [
    fault('postgres', 'stopped'),
    fault('postgres', 'blackholed'),
    fault('redis', 'stopped'),
    fault('redis', 'blackholed'),
    fault('redis', 'flushed'),
    fault('s3', 'stopped'),
    fault('s3', 'blackholed'),
  ],
  EVERY_FAULT,
);
/** Split roles differ where Redis carries state between processes: events, level-2 cache, limits, locks. */
const SPLIT_FAULTS: readonly Fault[] = byTier(
  [fault('redis', 'stopped'), fault('redis', 'flushed'), fault('postgres', 'stopped')],
  EVERY_FAULT.filter((f) => f.dependency !== 's3'),
);

async function apply(f: Fault, deps: Dependencies, redis: PrivateRedis): Promise<void> {
  const proxy = deps[f.dependency];
  switch (f.kind) {
    case 'stopped':
      return proxy.cut();
    case 'blackholed':
      return proxy.blackhole();
    case 'slow':
      return proxy.slow(SLOW_MS);
    case 'reset':
      return proxy.reset();
    case 'flushed':
      return redis.flush();
  }
}

async function readBack(target: Target, file: Stored): Promise<boolean> {
  const response = await anonymousFetch(`${target.query}/api/v1/files/${file.fileId}/content`, {
    headers: { authorization: `Bearer ${target.token}`, 'accept-encoding': 'identity' },
  });
  const body = Buffer.from(await response.arrayBuffer());
  const { createHash } = await import('node:crypto');
  return response.status === 200 && createHash('sha256').update(body).digest('hex') === file.sha256;
}

async function isGone(target: Target, fileId: string): Promise<boolean> {
  const response = await anonymousFetch(`${target.query}/api/v1/files/${fileId}`, {
    headers: { authorization: `Bearer ${target.token}` },
  });
  await response.arrayBuffer();
  return response.status === 404;
}

/**
 * One fault: the mix during the outage (every answer definite and in time, nothing let through
 * that must not be), then the dependency back and the mix polled until every request succeeds,
 * then every upload acknowledged on the way read back.
 */
async function campaign(
  shape: string,
  fault: Fault,
  target: Target,
  deps: Dependencies,
  redis: PrivateRedis,
  refused: Refused,
  shared: { temporary: Stored; permanent: Stored },
  /** The admin's data directory: its bootstrap credentials get a fresh token for each fault. */
  adminDataDir: string,
): Promise<void> {
  // Granted while everything is healthy (tokens live 15 minutes).
  const credentials = await bootstrapCredentials(adminDataDir);
  const token = await retried(() => clientToken(target.admin, credentials));
  for (const url of [target.admin, target.ingester, target.query]) authorize(url, token);
  target = { ...target, token };
  const pool = await preparePool(target, shared);
  const refusals = { ...refused, limited: await limitedAccount(target) };
  await apply(fault, deps, redis);
  // A flush empties the limiter's counters too: the limited account may start its minute afresh.
  const mustRefuse = (o: Outcome) =>
    fault.kind === 'flushed' && o.op === 'rate limited account' ? { ...o, mustRefuse: false } : o;
  const during: Outcome[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++)
      during.push(...(await runMix(target, refusals, pool)).map(mustRefuse));
  } finally {
    await deps[fault.dependency].restore();
  }
  const back = performance.now();
  const after: Outcome[] = [];
  let recovered: number | null = null;
  let healthy: readonly Outcome[] = [];
  while (performance.now() - back < RECOVERY_MS + 10_000) {
    const round = (await runMix(target, refusals, pool)).map(mustRefuse);
    after.push(...round);
    if (round.every(isHealthy)) {
      recovered = performance.now() - back;
      healthy = round;
      break;
    }
  }
  const all = [...during, ...after];
  const lost: string[] = [];
  for (const o of all) if (o.stored && !(await readBack(target, o.stored))) lost.push(o.stored.fileId);
  for (const file of [pool.temporary, pool.permanent, pool.uncachedRead, pool.toFinalize])
    if (!(await readBack(target, file))) lost.push(file.fileId);
  const resurrected: Outcome[] = [];
  for (const o of all) if (o.deleted && !(await isGone(target, o.deleted))) resurrected.push(o);

  if (process.env.CHAOS_VERBOSE)
    process.stdout.write(`${faultName(fault)} during: ${during.map(describeOutcome).join('; ')}\n`);
  // What each request took on the first healthy round: this machine's own pace, outage aside.
  const healthyMs = new Map<string, number>();
  for (const o of healthy) healthyMs.set(o.op, Math.max(o.ms, healthyMs.get(o.op) ?? 0));
  const indefinite = all.filter((o) => !isDefinite(o, healthyMs.get(o.op) ?? 0));
  const excess = Math.max(...all.map((o) => o.ms - (healthyMs.get(o.op) ?? 0)));
  const open = all.filter(failedOpen);
  const maxMs = Math.max(...all.map((o) => o.ms));
  const recoveryS = recovered === null ? 'never' : (recovered / 1000).toFixed(1);
  recordFigures(`dependency outage: ${fault.dependency} ${fault.kind} (${shape})`, [
    { name: 'requests', value: all.length },
    { name: 'requests during outage', value: during.length },
    {
      name: 'max latency ms',
      value: Math.round(maxMs),
      target: `≤ ${ANSWER_WITHIN_MS}`,
      ok: maxMs <= ANSWER_WITHIN_MS,
    },
    {
      name: 'max latency over healthy ms',
      value: Math.round(excess),
      target: `≤ ${ANSWER_WITHIN_MS}`,
      ok: excess <= ANSWER_WITHIN_MS,
    },
    { name: 'indefinite answers', value: indefinite.length, target: '0', ok: indefinite.length === 0 },
    { name: '5xx kinds', value: fiveXxKinds(all) },
    { name: 'fail-open', value: open.length, target: '0', ok: open.length === 0 },
    {
      name: 'recovery s',
      value: recoveryS,
      target: `≤ ${RECOVERY_MS / 1000}`,
      ok: recovered !== null && recovered <= RECOVERY_MS,
    },
    { name: 'lost', value: lost.length, target: '0', ok: lost.length === 0 },
    { name: 'deleted but back', value: resurrected.length, target: '0', ok: resurrected.length === 0 },
  ]);
  expect(indefinite.map(describeOutcome)).toEqual([]);
  expect(open.map(describeOutcome)).toEqual([]);
  expect(lost).toEqual([]);
  expect(resurrected.map(describeOutcome)).toEqual([]);
  if (recovered === null)
    throw new Error(
      `no recovery: ${after
        .slice(-30)
        .filter((o) => !isHealthy(o))
        .map(describeOutcome)
        .join('; ')}`,
    );
  expect(recovered).toBeLessThanOrEqual(RECOVERY_MS);
}

const faultName = (f: Fault): string => `${f.dependency} ${f.kind}`;

/** `attempt` until it succeeds, for up to RECOVERY_MS (after a fault the admin may still be catching up). */
async function retried<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + RECOVERY_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('dependency outages (--role all)', () => {
  let redis: PrivateRedis;
  let deps: Dependencies;
  let db: TestDatabase;
  let dir: string;
  let proc: ArtStoreProcess;
  let target: Target;
  let refused: Refused;
  let shared: { temporary: Stored; permanent: Stored };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    db = await createTestDatabase();
    deps = await proxiedDependencies(db.url, redis.url);
    dir = await mkdtemp(join(tmpdir(), 'artstore-outages-'));
    const config = await writeConfig(dir, deps.s3Endpoint);
    proc = await startServe(['--data-dir', join(dir, 'data'), '--config', config], {
      ARTSTORE_DATABASE_URL: deps.databaseUrl,
      ARTSTORE_REDIS_URL: deps.redisUrl,
      ARTSTORE_REDIS_PREFIX: 'outages:',
    });
    const token = await signInAsBootstrapAdmin(proc.url, join(dir, 'data'));
    target = { admin: proc.url, ingester: proc.url, query: proc.url, token };
    refused = await prepareRefusals(target);
    shared = await prepareShared(target);
  });

  afterAll(async () => {
    await proc?.stop();
    await Promise.all([deps?.postgres.close(), deps?.redis.close(), deps?.s3.close()]);
    await redis?.stop();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(ALL_FAULTS.map((f) => [faultName(f), f] as const))('%s', async (_, fault) => {
    await campaign('all', fault, target, deps, redis, refused, shared, join(dir, 'data'));
  });
});

describe('dependency outages (split roles)', () => {
  let redis: PrivateRedis;
  let deps: Dependencies;
  let db: TestDatabase;
  let dir: string;
  let split: SplitDeployment;
  let target: Target;
  let refused: Refused;
  let shared: { temporary: Stored; permanent: Stored };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    db = await createTestDatabase();
    deps = await proxiedDependencies(db.url, redis.url);
    dir = await mkdtemp(join(tmpdir(), 'artstore-outages-split-'));
    split = await startSplit({
      databaseUrl: deps.databaseUrl,
      redisUrl: deps.redisUrl,
      dataDir: dir,
      storageElements: [
        { id: 'edit-1', mode: 'edit' },
        { id: 'rw-1', mode: 'rw' },
      ],
    });
    target = {
      admin: split.admin.url,
      ingester: split.ingester.url,
      query: split.query.url,
      token: split.adminToken,
    };
    for (const url of [target.admin, target.ingester, target.query]) authorize(url, target.token);
    refused = await prepareRefusals(target);
    shared = await prepareShared(target);
  });

  afterAll(async () => {
    if (split) await Promise.all(split.processes.map((p) => p.stop()));
    await Promise.all([deps?.postgres.close(), deps?.redis.close(), deps?.s3.close()]);
    await redis?.stop();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(SPLIT_FAULTS.map((f) => [faultName(f), f] as const))('%s', async (_, fault) => {
    await campaign('split', fault, target, deps, redis, refused, shared, join(dir, 'admin'));
  });
});
