import busboy from 'busboy';
import { parse as parseDisposition } from 'content-disposition';
import type { Context } from 'koa';
import { PassThrough, type Readable } from 'node:stream';
import type Router from '@koa/router';
import type { UploadDocument } from '../../application/ingester/upload-document';
import type { DocumentAttributes } from '../../domain/document/document';
import type { Metrics } from '../telemetry/metrics';
import { contentCoding, decodeBody } from './content-decoding';
import type { RequestState } from './context';
import { mergeDigests, parseDigestHeader } from './digests';
import { HttpError } from './problem';
import { parseUploadFields, toUploadCommand, type RawFields } from './upload-fields';
import { documentView } from './views';

const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/iu;

export function mediaType(value: string | undefined): string {
  const essence = (value ?? '').split(';')[0]!.trim().toLowerCase();
  if (essence === '') return 'application/octet-stream';
  if (!MEDIA_TYPE.test(essence))
    throw new HttpError('unsupported_media_type', `'${value}' is not a media type`, {
      field: 'content-type',
    });
  return essence;
}

function decodeHeader(header: string, value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HttpError('invalid_json', `header value '${value}' is not valid percent-encoding`, {
      field: header,
    });
  }
}

/** Metadata of a raw upload: ArtStore-* headers (percent-encoded UTF-8) and query parameters. */
function rawFields(ctx: Context): RawFields {
  const pairs: [string, string][] = [];
  const headers: Record<string, string> = {
    'artstore-name': 'name',
    'artstore-retention-policy': 'retention_policy',
    'artstore-ttl-days': 'ttl_days',
    'artstore-retain-until': 'retain_until',
    'artstore-collection': 'collection',
    'artstore-description': 'description',
    'artstore-tags': 'tags',
    'artstore-metadata': 'metadata',
    'artstore-compression': 'compression',
  };
  for (const [header, field] of Object.entries(headers)) {
    const value = ctx.get(header);
    if (value !== '') pairs.push([field, decodeHeader(header, value)]);
  }
  for (const [key, value] of Object.entries(ctx.query)) {
    for (const v of Array.isArray(value) ? value : [value ?? '']) pairs.push([key, v]);
  }
  return pairs;
}

function dispositionName(ctx: Context): string | undefined {
  const header = ctx.get('content-disposition');
  if (!header) return undefined;
  try {
    return parseDisposition(header).parameters.filename;
  } catch {
    throw new HttpError('invalid_json', 'Content-Disposition is malformed', { field: 'content-disposition' });
  }
}

function contentLength(ctx: Context): number | null {
  const header = ctx.get('content-length');
  return header === '' ? null : Number(header);
}

async function rawUpload(ctx: Context, upload: UploadDocument): Promise<DocumentAttributes> {
  const fields = parseUploadFields(rawFields(ctx));
  const coding = contentCoding(ctx.get('content-encoding'));
  const digests = mergeDigests(
    parseDigestHeader(ctx.get('content-digest') || undefined, 'Content-Digest'),
    parseDigestHeader(ctx.get('repr-digest') || undefined, 'Repr-Digest'),
  );
  const type = mediaType(ctx.get('content-type'));
  const principal = (ctx.state as RequestState).principal;
  // A client that hangs up mid-body errors the request; the use case's pipeline reports it.
  ctx.req.on('error', () => undefined);
  if (coding === null) {
    // The `sha256` field, like the headers, describes the body: all of them are verified.
    const command = toUploadCommand(fields, dispositionName(ctx), type, {
      size: contentLength(ctx),
      ...mergeDigests(digests, fields.sha256 === undefined ? {} : { sha256: fields.sha256 }),
    });
    return upload.execute(principal, command, ctx.req);
  }
  // The stored document is the decoded content: its size is unknown until it is decoded, and
  // the header digests describe the encoded bytes (checked while decoding); `sha256` the document.
  const command = toUploadCommand(fields, dispositionName(ctx), type, { size: null, sha256: fields.sha256 });
  const decoded = decodeBody(ctx.req, coding, digests);
  try {
    return await upload.execute(principal, command, decoded.stream);
  } catch (error) {
    throw decoded.violation() ?? error;
  }
}

/**
 * multipart/form-data, streamed through busboy. Metadata fields must precede the file part.
 * The content stream handed to the use case ends only once the whole body has parsed cleanly,
 * so a trailing field, a second file or a truncated body fails the upload before it commits.
 */
function multipartUpload(ctx: Context, upload: UploadDocument): Promise<DocumentAttributes> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: ctx.req.headers,
        // The whole client name is kept (as original_name); the use case sanitises it.
        preservePath: true,
        // Browsers and fetch send file names as raw UTF-8 (RFC 7578 §4.2), not latin1.
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 200, fieldSize: 64 * 1024, parts: 202, fieldNameSize: 200 },
      });
    } catch (error) {
      reject(new HttpError('malformed_multipart', (error as Error).message, { field: 'content-type' }));
      return;
    }
    const pairs: [string, string][] = [];
    let content: PassThrough | null = null;
    let outcome: Promise<DocumentAttributes> | null = null;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      ctx.req.unpipe(parser);
      ctx.req.resume();
      if (content) content.destroy(error as Error);
      else reject(error);
    };
    parser.on('field', (name, value, info) => {
      if (content)
        return fail(
          new HttpError(
            'field_after_file',
            `field '${name}' follows the file part; send metadata fields before the file`,
            { field: name },
          ),
        );
      if (info.valueTruncated)
        return fail(
          new HttpError('request_too_large', `field '${name}' is longer than 64 KiB`, { field: name }),
        );
      pairs.push([name, value]);
    });
    parser.on('file', (_field, stream: Readable, info) => {
      if (content || failed) {
        stream.resume();
        return;
      }
      content = new PassThrough({ highWaterMark: 1 << 20 });
      // The use case attaches its pipeline later; until then a parse failure must not be an unhandled 'error'.
      content.on('error', () => undefined);
      stream.on('error', (error) =>
        fail(
          new HttpError('malformed_multipart', `the multipart body is malformed: ${error.message}`, {
            field: 'body',
          }),
        ),
      );
      stream.pipe(content, { end: false });
      try {
        const fields = parseUploadFields(pairs);
        const command = toUploadCommand(fields, info.filename, mediaType(info.mimeType), {
          size: null,
          sha256: fields.sha256,
        });
        outcome = upload.execute((ctx.state as RequestState).principal, command, content);
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(resolve, (error: unknown) => {
        failed = true;
        ctx.req.unpipe(parser);
        ctx.req.resume();
        reject(error);
      });
    });
    parser.on('filesLimit', () =>
      fail(new HttpError('multiple_files', 'send exactly one file per request', { field: 'file' })),
    );
    parser.on('partsLimit', () =>
      fail(new HttpError('request_too_large', 'too many parts', { field: 'body' })),
    );
    parser.on('fieldsLimit', () =>
      fail(new HttpError('request_too_large', 'too many fields', { field: 'body' })),
    );
    parser.on('error', (error: Error) =>
      fail(
        new HttpError('malformed_multipart', `the multipart body is malformed: ${error.message}`, {
          field: 'body',
        }),
      ),
    );
    parser.on('close', () => {
      if (failed) return;
      if (!content)
        return fail(
          new HttpError('missing_file', 'the multipart body has no file part (a part with a filename)', {
            field: 'file',
          }),
        );
      content.end();
    });
    ctx.req.on('error', (error) => fail(error));
    ctx.req.on('aborted', () =>
      fail(new HttpError('malformed_multipart', 'the request was aborted', { field: 'body' })),
    );
    ctx.req.pipe(parser);
  });
}

export function registerUploadRoutes(router: Router, upload: UploadDocument, metrics: Metrics): void {
  router.post('/api/v1/files', async (ctx) => {
    const multipart = Boolean(ctx.is('multipart/form-data'));
    if (multipart && contentCoding(ctx.get('content-encoding')) !== null) {
      throw new HttpError(
        'unsupported_content_encoding',
        'a multipart body cannot have a Content-Encoding; encode the raw upload instead',
        { field: 'content-encoding' },
      );
    }
    const file = multipart ? await multipartUpload(ctx, upload) : await rawUpload(ctx, upload);
    metrics.uploadedBytes.inc(file.size);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/files/${file.fileId}`);
    ctx.body = documentView(file);
  });
}
