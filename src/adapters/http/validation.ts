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
      if (status === 413) throw new HttpError('request_too_large', `the JSON body is larger than ${kib} KiB`);
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
  const parsed = schema.safeParse(ctx.request.body ?? {});
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}
