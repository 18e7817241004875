import type { Principal } from '../../domain/access/principal';
import { collectionPatterns } from '../../domain/access/principal';
import { rankCopies } from '../../domain/placement/read-preference';
import { DomainError } from '../../domain/errors';
import { ApplicationError } from '../errors';
import type { ByteRange } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  FileCopy,
  SearchFacets,
  SearchFilters,
  SearchPage,
  SearchSort,
  SortOrder,
} from '../ports/file-catalog';
import type { FixityCheck, FixityLog } from '../ports/fixity-log';
import type { OpenedContent, StorageElementDirectory } from '../ports/storage-element-client';
import { requireFileAccess, requireScope } from '../shared/authorize';
import type { ArchiveReads } from './archive-reads';
import type { RegistryView } from '../shared/registry-view';
import { failoverStream } from './failover-stream';
import { ReadLoad } from './read-load';

export interface SearchCommand {
  readonly text: string;
  readonly filters?: SearchFilters | undefined;
  readonly sort?: SearchSort | undefined;
  readonly order?: SortOrder | undefined;
  readonly limit: number;
  readonly cursor: string | null;
  /** Also count the matches by content type and retention. */
  readonly facets?: boolean | undefined;
}

export interface SearchResult extends SearchPage {
  readonly facets: SearchFacets | null;
}

export interface ReadSettings {
  /** This process's data centre: copies there are read first. */
  readonly dc: string | null;
  /** An SE not heard from for longer than this is tried after the healthy ones. */
  readonly staleAfterMs: number;
}

/** The query role's reads (§2): metadata, content with ranges, search. */
export class ReadDocuments {
  constructor(
    private readonly catalog: FileCatalog,
    private readonly directory: StorageElementDirectory,
    private readonly registry: RegistryView,
    private readonly fixity: FixityLog,
    private readonly archive: ArchiveReads,
    private readonly settings: ReadSettings = { dc: null, staleAfterMs: 15_000 },
    private readonly clock: Clock = { now: () => new Date() },
    private readonly load: ReadLoad = new ReadLoad(),
  ) {}

  /** The fixity history of a file the caller may read: every check of every copy, newest first. */
  async fixityHistory(principal: Principal, fileId: string, limit: number): Promise<FixityCheck[]> {
    await this.describe(principal, fileId);
    return this.fixity.history(fileId, { limit });
  }

  /** The catalog entry of an active file the caller may read; anything else is "not found". */
  async describe(principal: Principal, fileId: string): Promise<CatalogEntry> {
    const entry = await this.catalog.get(fileId);
    if (!entry || entry.file.status !== 'active') {
      requireScope(principal, 'files:read');
      throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    }
    requireFileAccess(principal, 'files:read', entry.file.collection, fileId);
    return entry;
  }

  /** Refuses as `open` would when only archived copies are left, without opening one (HEAD). */
  async assertReadable(entry: CatalogEntry): Promise<void> {
    const known = new Map((await this.registry.list()).map((se) => [se.id, se]));
    await this.archive.copiesToRead(entry, (seId) => known.get(seId)?.mode);
  }

  /**
   * Opens the content (or `range` of it) as one stream that survives its copies (§3.4): copies are
   * tried in `rankCopies` order; one that fails before sending bytes is skipped, one that fails
   * mid-stream is replaced by the next at the byte where it stopped (`failoverStream`). The
   * caller sees an error before the first byte only when no copy can serve.
   */
  async open(entry: CatalogEntry, range?: ByteRange): Promise<OpenedContent> {
    const { file } = entry;
    const openNext = this.copyOpener(entry, await this.rankedCopies(entry));
    const first = await openNext(range, null);
    if (file.size === 0) return first;
    const span = range ?? { start: 0, end: file.size - 1 };
    const whole = span.start === 0 && span.end === file.size - 1;
    const stream = failoverStream({
      span,
      first: first.stream,
      next: async (rest, cause) => (await openNext(rest, cause)).stream,
      sha256: whole ? file.sha256 : null,
      fileId: file.fileId,
    });
    return { ...first, stream };
  }

  /**
   * The stored bytes of a compressed file, as one stream that survives its copies like `open`:
   * only copies whose stored bytes are exactly those the catalog names (size and SHA-256) are
   * used, so a transfer continued on another copy at the byte where the first stopped splices
   * identical bytes; hashed end to end. Null when no copy has them (the caller decodes instead).
   */
  async openStored(entry: CatalogEntry): Promise<OpenedContent | null> {
    const { file } = entry;
    const copies = await this.rankedCopies(entry);
    let next = 0;
    let lastError: unknown = null;
    const openNext = async (range: ByteRange | undefined, cause: unknown): Promise<OpenedContent | null> => {
      if (cause !== null) lastError = cause;
      while (next < copies.length) {
        const copy = copies[next]!;
        next += 1;
        try {
          const opened = await this.directory.client(copy.seId).openStored(file.fileId, range);
          const sameBytes = opened.sha256 === file.stored.sha256 && opened.size === file.stored.size;
          const asked = !range || (opened.range?.start === range.start && opened.range.end === range.end);
          if (sameBytes && asked) return { ...opened, stream: this.load.track(copy.seId, opened.stream) };
          opened.stream.destroy();
        } catch (error) {
          lastError = error;
        }
      }
      return null;
    };
    const first = await openNext(undefined, null);
    if (!first) return null;
    const stream = failoverStream({
      span: { start: 0, end: file.stored.size - 1 },
      first: first.stream,
      next: async (rest, cause) => {
        const opened = await openNext(rest, cause);
        if (!opened) throw noCopyServes(file.fileId, lastError);
        return opened.stream;
      },
      sha256: file.stored.sha256,
      fileId: file.fileId,
    });
    return { ...first, stream };
  }

  /**
   * The copies of a file in the order to try them: those a read may use (a live restored copy of
   * an archived file; refused with `restore_required` when only archived ones are left), healthy
   * first, same data centre, least loaded.
   */
  private async rankedCopies(entry: CatalogEntry): Promise<FileCopy[]> {
    const elements = await this.registry.list();
    const known = new Map(elements.map((se) => [se.id, se]));
    const readable = await this.archive.copiesToRead(entry, (seId) => known.get(seId)?.mode);
    return rankCopies(readable, elements, {
      dc: this.settings.dc,
      now: this.clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
      load: (seId) => this.load.of(seId),
    });
  }

  /**
   * Opens the next untried copy that answers, each copy at most once; rejects with why none could
   * when the list runs out. A range no copy can satisfy is the caller's error, not a copy's.
   */
  private copyOpener(
    entry: CatalogEntry,
    copies: readonly FileCopy[],
  ): (range: ByteRange | undefined, cause: unknown) => Promise<OpenedContent> {
    let next = 0;
    let lastError: unknown = null;
    return async (range, cause) => {
      if (cause !== null) lastError = cause;
      while (next < copies.length) {
        const copy = copies[next]!;
        next += 1;
        try {
          const opened = await this.directory.client(copy.seId).open(entry.file.fileId, range);
          // Bytes from another offset than asked would be spliced in silently: such a copy is failed.
          if (range && (opened.range?.start !== range.start || opened.range.end !== range.end)) {
            opened.stream.destroy();
            throw new ApplicationError(
              'storage_unavailable',
              `storage element '${copy.seId}' did not serve the range ${range.start}-${range.end} it was asked for`,
            );
          }
          return { ...opened, stream: this.load.track(copy.seId, opened.stream) };
        } catch (error) {
          if (error instanceof ApplicationError && error.code === 'range_not_satisfiable') throw error;
          lastError = error;
        }
      }
      throw noCopyServes(entry.file.fileId, lastError);
    };
  }

  async search(principal: Principal, command: SearchCommand): Promise<SearchResult> {
    requireScope(principal, 'files:read');
    // Deleted and expired files are tombstones: `describe` hides them from every reader, and only
    // administrators may list them.
    if (command.filters?.statuses?.some((status) => status !== 'active'))
      requireScope(principal, 'admin:read');
    // Grants narrow the query itself, so pages are full and counts never include hidden files.
    const query: CatalogSearch = {
      text: command.text,
      filters: command.filters,
      sort: command.sort,
      order: command.order,
      limit: command.limit,
      cursor: command.cursor,
      collectionPatterns: collectionPatterns(principal, 'files:read'),
    };
    const [page, facets] = await Promise.all([
      this.catalog.search(query),
      command.facets ? this.catalog.facets(query) : null,
    ]);
    return { ...page, facets };
  }
}

/** Why a file cannot be read: the last copy's refusal when it says something, else an outage. */
function noCopyServes(fileId: string, lastError: unknown): Error {
  if (lastError === null)
    return new ApplicationError('storage_unavailable', `no copy of file ${fileId} is reachable`);
  if (
    (lastError instanceof ApplicationError &&
      (lastError.code === 'storage_unavailable' || lastError.code === 'file_corrupt')) ||
    // Every copy is on an SE whose mode withholds content (`ar` without a restore): a refusal, not an outage.
    (lastError instanceof DomainError && lastError.code === 'mode_forbids_operation')
  )
    return lastError;
  return new ApplicationError(
    'storage_unavailable',
    `no copy of file ${fileId} could be read`,
    {},
    { cause: lastError },
  );
}
