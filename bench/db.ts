/** Throwaway PostgreSQL databases on the server at ARTSTORE_BENCH_DATABASE_URL. */
import { Client } from 'pg';

export const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

const NAME = /^[a-z0-9_]+$/u;

export class Databases {
  private readonly created: string[] = [];

  constructor(private readonly adminUrl: string) {}

  urlOf(name: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async create(name: string): Promise<string> {
    if (!NAME.test(name)) throw new Error(`unsafe database name '${name}'`);
    await withClient(this.adminUrl, (c) => c.query(`create database "${name}"`));
    this.created.push(name);
    return this.urlOf(name);
  }

  async dropAll(): Promise<void> {
    const names = this.created.splice(0);
    await withClient(this.adminUrl, async (c) => {
      for (const name of names) await c.query(`drop database if exists "${name}" with (force)`);
    });
  }

  /** Server version and the settings that decide what "durable" means on it. */
  serverInfo(): Promise<string> {
    return withClient(this.adminUrl, async (c) => {
      const settings = [
        'server_version',
        'fsync',
        'synchronous_commit',
        'full_page_writes',
        'wal_sync_method',
      ];
      const values: string[] = [];
      for (const name of settings) {
        const result = await c.query<Record<string, string>>(`show ${name}`);
        values.push(`${name}=${result.rows[0]?.[name] ?? '?'}`);
      }
      return values.join(' ');
    });
  }
}

export async function execute(url: string, sql: string): Promise<void> {
  await withClient(url, (c) => c.query(sql));
}
