import type Router from '@koa/router';
import { z } from 'zod';
import { SEARCH_SORTS } from '../../application/ports/file-catalog';
import type { SearchFacets, SearchHit } from '../../application/ports/file-catalog';
import type { ReadDocuments } from '../../application/query/read-documents';
import { FILE_STATUSES } from '../../domain/document/document';
import { RETENTION_POLICIES } from '../../domain/retention/retention';
import type { RequestState } from './context';
import { parseQuery } from './validation';
import { documentView } from './views';

/** A comma-separated list of up to `max` non-empty items of `item`. */
function list<T extends z.ZodType<string, string>>(item: T, max = 20) {
  return z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()))
    .pipe(z.array(item).min(1).max(max));
}

const text = z.string().trim().min(1, 'must not be empty').max(256);
const instant = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((s) => new Date(s));
const bytes = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const searchQuery = z
  .strictObject({
    q: z.string().trim().max(256).default(''),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(2048).optional(),
    sort: z.enum(SEARCH_SORTS).optional(),
    order: z.enum(['asc', 'desc']).optional(),
    collection: list(text).optional(),
    content_type: list(text).optional(),
    tags: list(text).optional(),
    tags_mode: z.enum(['all', 'any']).default('all'),
    uploader: text.optional(),
    size_min: bytes.optional(),
    size_max: bytes.optional(),
    uploaded_from: instant.optional(),
    uploaded_to: instant.optional(),
    retention: z.enum(RETENTION_POLICIES).optional(),
    expires_from: instant.optional(),
    expires_to: instant.optional(),
    status: list(z.enum(FILE_STATUSES), FILE_STATUSES.length).optional(),
    se: text.optional(),
    facets: z.enum(['true', 'false']).default('false'),
  })
  .superRefine((v, ctx) => {
    const ranges: [string, number | undefined, number | undefined][] = [
      ['size_max', v.size_min, v.size_max],
      ['uploaded_to', v.uploaded_from?.getTime(), v.uploaded_to?.getTime()],
      ['expires_to', v.expires_from?.getTime(), v.expires_to?.getTime()],
    ];
    for (const [field, from, to] of ranges) {
      if (from !== undefined && to !== undefined && from > to)
        ctx.addIssue({ code: 'custom', path: [field], message: 'must not be before the start of its range' });
    }
    if (v.sort === 'relevance' && v.order === 'asc')
      ctx.addIssue({ code: 'custom', path: ['order'], message: 'relevance sorts best first only' });
  });

function hitView(hit: SearchHit): Record<string, unknown> {
  return { ...documentView(hit.file), rank: hit.rank, snippet: hit.snippet };
}

function facetsView(facets: SearchFacets): Record<string, unknown> {
  return { content_type: facets.contentType, retention: facets.retention };
}

export function registerSearchRoutes(router: Router, reads: ReadDocuments): void {
  router.get('/api/v1/search', async (ctx) => {
    const query = parseQuery(ctx, searchQuery);
    const result = await reads.search((ctx.state as RequestState).principal, {
      text: query.q,
      sort: query.sort,
      order: query.order,
      limit: query.limit,
      cursor: query.cursor ?? null,
      facets: query.facets === 'true',
      filters: {
        collections: query.collection,
        contentTypes: query.content_type,
        tagsAll: query.tags_mode === 'all' ? query.tags : undefined,
        tagsAny: query.tags_mode === 'any' ? query.tags : undefined,
        uploader: query.uploader,
        sizeMin: query.size_min,
        sizeMax: query.size_max,
        uploadedFrom: query.uploaded_from,
        uploadedTo: query.uploaded_to,
        retention: query.retention,
        expiresFrom: query.expires_from,
        expiresTo: query.expires_to,
        statuses: query.status,
        seId: query.se,
      },
    });
    ctx.body = {
      items: result.items.map(hitView),
      next_cursor: result.nextCursor,
      relevance_window: result.relevanceWindow
        ? {
            size: result.relevanceWindow.size,
            uploaded_from: result.relevanceWindow.uploadedFrom.toISOString(),
          }
        : null,
      facets: result.facets ? facetsView(result.facets) : null,
    };
  });
}
