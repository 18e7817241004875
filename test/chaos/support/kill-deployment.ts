import { randomBytes } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServe, type ArtStoreProcess } from '../../support/artstore-process';
import { createAccount, keepSignedIn, signInAsBootstrapAdmin } from '../../support/auth';
import { requireInfrastructure } from '../../support/infrastructure';

export type RoleKind = 'admin' | 'storage' | 'ingester' | 'query';

/** One process of the deployment; it restarts on its first port, so its URL (and token issuer) stays. */
export interface Member {
  readonly kind: RoleKind;
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  url: string;
  proc: ArtStoreProcess | null;
}

/**
 * A split deployment (admin, storage elements, ingesters, a query process) whose members can be
 * killed and restarted one by one with failpoints set (test/support/split.ts, with restarts).
 */
export class KillDeployment {
  /** Starts running now: process start-up is CPU-bound, too many at once only slows every one. */
  private starting = 0;
  private readonly queue: (() => void)[] = [];
  static readonly CONCURRENT_STARTS = 3;

  private constructor(
    readonly members: Member[],
    readonly dataDir: string,
  ) {}

  static async start(options: {
    readonly databaseUrl: string;
    readonly dataDir: string;
    readonly storageElements: readonly { readonly id: string; readonly mode: string }[];
    readonly ingesters: number;
    /** Environment for every process. */
    readonly env: Record<string, string>;
  }): Promise<KillDeployment> {
    const { dataDir } = options;
    const shared = {
      ARTSTORE_DATABASE_URL: options.databaseUrl,
      ARTSTORE_REDIS_URL: requireInfrastructure('redis'),
      ARTSTORE_REDIS_PREFIX: `artstore-chaos-${randomBytes(4).toString('hex')}:`,
      ARTSTORE_HEARTBEAT_MS: '500',
      ...options.env,
    };
    const members: Member[] = [];
    const launch = async (kind: RoleKind, name: string, args: string[], env: Record<string, string>) => {
      const proc = await startServe(args, env, 180_000);
      const member: Member = { kind, name, args, env, url: proc.url, proc };
      members.push(member);
      return member;
    };
    const admin = await launch(
      'admin',
      'admin',
      ['--role', 'admin', '--data-dir', join(dataDir, 'admin')],
      shared,
    );
    await signInAsBootstrapAdmin(admin.url, join(dataDir, 'admin'));
    const account = (role: string) =>
      createAccount(admin.url, {
        name: `${role} role`,
        scopes: ['storage:read', 'storage:write'],
        internal: true,
      });
    const [ingesterAccount, queryAccount] = await Promise.all([account('ingester'), account('query')]);
    const verifying = { ...shared, ARTSTORE_ISSUER_URL: admin.url };
    await Promise.all(
      options.storageElements.map(({ id, mode }) =>
        launch('storage', id, ['--role', 'storage', '--data-dir', join(dataDir, id)], {
          ...verifying,
          ARTSTORE_SE_ID: id,
          ARTSTORE_SE_MODE: mode,
        }),
      ),
    );
    const ingesterEnv = {
      ...verifying,
      ARTSTORE_CLIENT_ID: ingesterAccount.clientId,
      ARTSTORE_CLIENT_SECRET: ingesterAccount.clientSecret,
      // tus uploads resume through any ingester.
      ARTSTORE_STAGING_DIR: join(dataDir, 'staging'),
    };
    await Promise.all([
      ...Array.from({ length: options.ingesters }, (_, i) =>
        launch(
          'ingester',
          `ingester-${i + 1}`,
          ['--role', 'ingester', '--data-dir', join(dataDir, `ingester-${i + 1}`)],
          ingesterEnv,
        ),
      ),
      launch('query', 'query', ['--role', 'query', '--data-dir', join(dataDir, 'query')], {
        ...verifying,
        ARTSTORE_CLIENT_ID: queryAccount.clientId,
        ARTSTORE_CLIENT_SECRET: queryAccount.clientSecret,
      }),
    ]);
    const deployment = new KillDeployment(members, dataDir);
    await deployment.signIn();
    deployment.stopSigningIn = keepSignedIn(() => deployment.signIn());
    return deployment;
  }

  private stopSigningIn: () => void = () => undefined;

  /** The bootstrap admin's token for every member (the test's fetch sends it); tokens expire. */
  async signIn(): Promise<void> {
    const admin = this.of('admin')[0]!;
    await signInAsBootstrapAdmin(admin.url, join(this.dataDir, 'admin'), ...this.members.map((m) => m.url));
  }

  of(kind: RoleKind): Member[] {
    return this.members.filter((m) => m.kind === kind);
  }

  url(name: string): string {
    return this.members.find((m) => m.name === name)!.url;
  }

  /** Where a storage process keeps its SE (blobs, WAL, state). */
  elementRoot(id: string): string {
    return join(this.dataDir, id, 'se', id);
  }

  /**
   * Starts the member again on its port, with `failpoints` (ARTSTORE_FAILPOINTS) when given.
   * Resolves `died` when a failpoint killed it before it listened (a crash during recovery).
   */
  async restart(member: Member, failpoints?: string): Promise<'up' | 'died'> {
    if (member.proc) await member.proc.kill();
    await this.keepLog(member);
    member.proc = null;
    const port = new URL(member.url).port;
    if (this.starting >= KillDeployment.CONCURRENT_STARTS)
      await new Promise<void>((resolve) => this.queue.push(resolve));
    this.starting += 1;
    try {
      member.proc = await startServe(
        [...member.args, '--port', port],
        { ...member.env, ...(failpoints ? { ARTSTORE_FAILPOINTS: failpoints } : {}) },
        120_000,
      );
      return 'up';
    } catch (error) {
      await this.keepLog(member, (error as Error).message);
      if (failpoints && /signal SIGKILL/u.test((error as Error).message)) return 'died';
      throw error;
    } finally {
      this.starting -= 1;
      this.queue.shift()?.();
    }
  }

  /**
   * With CHAOS_LOG_DIR set, a finished incarnation's warnings and errors (and anything not bunyan
   * JSON) are appended to `<dir>/<member>.log`: what a failed run is diagnosed from.
   */
  private async keepLog(member: Member, failedStart?: string): Promise<void> {
    const dir = process.env.CHAOS_LOG_DIR;
    if (!dir) return;
    const lines = failedStart ? failedStart.split('\n') : (member.proc?.lines ?? []);
    const kept = lines.filter((line) => !/^\{.*"level":(10|20|30),/u.test(line));
    await mkdir(dir, { recursive: true });
    await appendFile(
      join(dir, `${member.name}.log`),
      `--- ${new Date().toISOString()}\n${kept.join('\n')}\n`,
    );
  }

  /** SIGTERM to every member still running; the exit codes by name. */
  async stop(members: readonly Member[] = this.members): Promise<Record<string, number | null>> {
    if (members === this.members) this.stopSigningIn();
    const codes: Record<string, number | null> = {};
    await Promise.all(
      members.map(async (m) => {
        if (m.proc) codes[m.name] = await m.proc.stop();
        await this.keepLog(m);
        m.proc = null;
      }),
    );
    return codes;
  }
}
