import type { AccountSettings } from '../application/identity/service-accounts';
import { SCOPES, type Scope } from '../domain/access/principal';
import { isScope } from '../domain/access/service-account';

/** Flags of the `accounts` and `keys` commands, merged into main's parseArgs table. */
export const IDENTITY_OPTIONS = {
  name: { type: 'string' },
  scopes: { type: 'string' },
  collections: { type: 'string' },
  internal: { type: 'boolean' },
  'secret-ttl-days': { type: 'string' },
  limit: { type: 'string' },
} as const;

export type IdentityFlags = Partial<
  Record<'name' | 'scopes' | 'collections' | 'secret-ttl-days' | 'limit', string>
> & {
  internal?: boolean | undefined;
};

export type IdentityCommand =
  | { readonly kind: 'accounts create'; readonly settings: AccountSettings }
  | { readonly kind: 'accounts list'; readonly limit: number | null }
  | { readonly kind: 'accounts rotate-secret'; readonly clientId: string; readonly secretTtlDays?: number }
  | { readonly kind: 'keys rotate' }
  | { readonly kind: 'audit verify' };

/** A command line that cannot mean anything: exit code 2, one line on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  accounts: ['create', 'list', 'rotate-secret'],
  keys: ['rotate'],
  audit: ['verify'],
};
/** Which flags each subcommand takes; any other identity flag is a usage error. */
const ALLOWED: Readonly<Record<IdentityCommand['kind'], readonly (keyof IdentityFlags)[]>> = {
  'accounts create': ['name', 'scopes', 'collections', 'internal', 'secret-ttl-days'],
  'accounts list': ['limit'],
  'accounts rotate-secret': ['secret-ttl-days'],
  'keys rotate': [],
  'audit verify': [],
};
/** The same pattern rule as the admin API's collection grants. */
const PATTERN = /^[a-z0-9*?_.-]{1,63}$/u;

export function isIdentityCommand(command: string | undefined): boolean {
  return command !== undefined && command in SUBCOMMANDS;
}

/** `positionals` starts with the command (`accounts` or `keys`). */
export function parseIdentityCommand(positionals: readonly string[], flags: IdentityFlags): IdentityCommand {
  const [group = '', sub, ...rest] = positionals;
  const subs = SUBCOMMANDS[group] ?? [];
  if (sub === undefined) throw new UsageError(`${group} needs a subcommand: ${subs.join(', ')}`);
  if (!subs.includes(sub))
    throw new UsageError(`unknown subcommand '${group} ${sub}': use ${subs.join(', ')}`);
  const kind = `${group} ${sub}` as IdentityCommand['kind'];
  const stray = (Object.keys(IDENTITY_OPTIONS) as (keyof IdentityFlags)[]).filter(
    (flag) => flags[flag] !== undefined && !ALLOWED[kind].includes(flag),
  );
  if (stray.length > 0) throw new UsageError(`${kind} does not take --${stray.join(', --')}`);
  const expected = kind === 'accounts rotate-secret' ? 1 : 0;
  if (rest.length !== expected) {
    throw new UsageError(
      expected === 1
        ? `${kind} needs exactly one client id`
        : `${kind} takes no argument ('${rest.join(' ')}')`,
    );
  }
  const ttl =
    flags['secret-ttl-days'] === undefined
      ? undefined
      : integer('secret-ttl-days', flags['secret-ttl-days'], 1, 3650);
  switch (kind) {
    case 'accounts create':
      return { kind, settings: accountSettings(flags, ttl) };
    case 'accounts list':
      return { kind, limit: flags.limit === undefined ? null : integer('limit', flags.limit, 1, 1_000_000) };
    case 'accounts rotate-secret':
      return { kind, clientId: rest[0]!, ...(ttl === undefined ? {} : { secretTtlDays: ttl }) };
    case 'keys rotate':
    case 'audit verify':
      return { kind };
  }
}

function accountSettings(flags: IdentityFlags, secretTtlDays: number | undefined): AccountSettings {
  const name = flags.name?.trim() ?? '';
  if (!name || name.length > 128) throw new UsageError('accounts create needs --name of 1-128 characters');
  if (flags.scopes === undefined) {
    throw new UsageError(`accounts create needs --scopes, a comma-separated list of ${SCOPES.join(', ')}`);
  }
  return {
    name,
    scopes: scopeList(flags.scopes),
    collections: flags.collections === undefined ? {} : collectionGrants(flags.collections),
    internal: flags.internal ?? false,
    ...(secretTtlDays === undefined ? {} : { secretTtlDays }),
  };
}

function scope(value: string): Scope {
  if (!isScope(value)) throw new UsageError(`unknown scope '${value}': use ${SCOPES.join(', ')}`);
  return value;
}

function scopeList(text: string): Scope[] {
  return split(text, ',').map(scope);
}

/** `files:read=docs-*|archive,files:write=docs-*` */
function collectionGrants(text: string): Partial<Record<Scope, string[]>> {
  const grants: Partial<Record<Scope, string[]>> = {};
  for (const entry of split(text, ',')) {
    const equals = entry.indexOf('=');
    if (equals < 0) throw new UsageError(`--collections entry '${entry}' is not scope=glob1|glob2`);
    const patterns = split(entry.slice(equals + 1), '|');
    const bad = patterns.find((p) => !PATTERN.test(p));
    if (patterns.length === 0 || bad !== undefined) {
      throw new UsageError(
        `--collections entry '${entry}': patterns are 1-63 characters of a-z, 0-9, "*", "?", "_", "." and "-"`,
      );
    }
    grants[scope(entry.slice(0, equals).trim())] = patterns;
  }
  return grants;
}

function split(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/u.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}`);
  }
  return value;
}
