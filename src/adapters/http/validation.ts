import type { Context, Next } from 'koa';
import { HttpMethodEnum, koaBody } from 'koa-body';
import type { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import { HttpError } from './problem';

/** The first zod issue as an invalid_request naming its field. */
export function invalid(error: z.ZodError): ApplicationError {
  const issue = error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
  return new ApplicationError('invalid_request', `${field || 'body'}: ${issue.message}`, {
    field: field || 'body',
  });
}

/**
 * Where in a parsed JSON value (or query) a NUL character sits, as a field path, or null. PostgreSQL
 * text cannot hold U+0000 (its wire protocol refuses the message, SQLSTATE 08P01): no identifier,
 * name or value of ours contains one, so it is refused at the edge rather than reaching a query.
 */
export function nulField(value: unknown, path = ''): string | null {
  const pending: [unknown, string][] = [[value, path]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, at] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return at || 'body';
    } else if (item && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        const childPath = at ? `${at}.${key}` : key;
        if (key.includes('\u0000')) return childPath;
        pending.push([child, childPath]);
      }
    }
  }
  return null;
}

function refuseNul(field: string): ApplicationError {
  return new ApplicationError('invalid_request', `${field}: must not contain a NUL character (U+0000)`, {
    field,
  });
}

/** NUL in the path or the query: refused before any route reads a parameter (see nulField). */
export async function noNulCharacters(ctx: Context, next: Next): Promise<void> {
  if (/%00/iu.test(ctx.path)) throw refuseNul('path');
  // The token endpoint reads no query and answers in RFC 6749's format, never problem details.
  if (ctx.path !== '/oauth/token' && /%00/iu.test(ctx.querystring))
    throw refuseNul(nulField(ctx.query) ?? 'query');
  await next();
}

export function parseQuery<T extends z.ZodType>(ctx: Context, schema: T): z.infer<T> {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ctx.query)) {
    if (Array.isArray(value))
      throw new ApplicationError('invalid_request', `'${key}' is given more than once`, { field: key });
    flat[key] = value;
  }
  const parsed = schema.safeParse(flat);
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

function jsonParserUpTo(kib: number) {
  return koaBody({
    json: true,
    urlencoded: false,
    text: false,
    multipart: false,
    jsonLimit: `${kib}kb`,
    jsonStrict: true,
    // A DELETE may carry a body too (the reason for releasing a legal hold).
    parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH, HttpMethodEnum.DELETE],
  });
}

/** JSON request bodies only where routes declare them (never on upload routes), up to `kib` KiB. */
export function jsonBodyUpTo(kib: number): (ctx: Context, next: Next) => Promise<void> {
  const parser = jsonParserUpTo(kib);
  return async (ctx, next) => {
    if (ctx.request.length && !ctx.is('application/json')) {
      throw new HttpError('unsupported_media_type', 'send the body as application/json', {
        field: 'content-type',
      });
    }
    try {
      await parser(ctx, async () => undefined);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 413)
        throw new HttpError('request_too_large', `the JSON body is larger than ${kib} KiB`, {
          field: 'body',
        });
      throw new HttpError('invalid_json', `the body is not valid JSON: ${(error as Error).message}`, {
        field: 'body',
      });
    }
    await next();
  };
}

/** JSON request bodies of up to 64 KiB. */
export const jsonBody = jsonBodyUpTo(64);

export function parseBody<T extends z.ZodType>(ctx: Context, schema: T): z.infer<T> {
  const nul = nulField(ctx.request.body);
  if (nul !== null) throw refuseNul(nul);
  const parsed = schema.safeParse(ctx.request.body ?? {});
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}
