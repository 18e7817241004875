import { ApplicationError, APPLICATION_ERROR_CODES } from '../../../src/application/errors';
import { DomainError, DOMAIN_ERROR_CODES } from '../../../src/domain/errors';
import { InvalidCursor } from '../../../src/adapters/memory/cursor';
import {
  ERROR_STATUS,
  HTTP_ERROR_CODES,
  HttpError,
  toProblem,
  type ErrorCode,
} from '../../../src/adapters/http/problem';

const ALL_CODES: readonly ErrorCode[] = [
  ...DOMAIN_ERROR_CODES,
  ...APPLICATION_ERROR_CODES,
  ...HTTP_ERROR_CODES,
];

describe('ERROR_STATUS', () => {
  it.each(ALL_CODES)('maps %s to a 4xx/5xx status with a title', (code) => {
    const entry = ERROR_STATUS[code];
    expect(entry).toBeDefined();
    expect(entry.status).toBeGreaterThanOrEqual(400);
    expect(entry.status).toBeLessThan(600);
    expect(entry.title.length).toBeGreaterThan(0);
  });

  it('has no entry for a code outside the three lists, and codes are unique', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ALL_CODES].sort());
    expect(new Set(ALL_CODES).size).toBe(ALL_CODES.length);
  });

  it('blames the server only for internal, dependency, storage, integrity, signing-key availability and capacity problems', () => {
    const serverSide = ALL_CODES.filter((code) => ERROR_STATUS[code].status >= 500).sort();
    expect(serverSide).toEqual(
      [
        'dependency_unavailable',
        'file_corrupt',
        'insufficient_capacity',
        'internal_error',
        'no_writable_storage',
        'signing_key_unavailable',
        'storage_full',
        'storage_unavailable',
        'write_outcome_unknown',
      ].sort(),
    );
    const nonCapacity = serverSide.filter((code) => ERROR_STATUS[code].status !== 507);
    expect(nonCapacity.sort()).toEqual([
      'dependency_unavailable',
      'file_corrupt',
      'internal_error',
      'signing_key_unavailable',
      'storage_unavailable',
      'write_outcome_unknown',
    ]);
  });

  it.each<[ErrorCode, number]>([
    ['file_not_found', 404],
    ['forbidden', 403],
    ['range_not_satisfiable', 416],
    ['mode_forbids_operation', 409],
    ['content_too_large', 413],
    ['file_too_large', 413],
    ['decompression_bomb', 413],
    ['metadata_too_large', 413],
    ['content_type_not_allowed', 415],
    ['unsupported_content_encoding', 415],
    ['invalid_file_name', 400],
    ['file_name_too_long', 400],
    ['description_too_long', 400],
    ['too_many_tags', 400],
    ['tag_too_long', 400],
    ['invalid_tag', 400],
    ['too_many_metadata_entries', 400],
    ['metadata_key_invalid', 400],
    ['metadata_value_too_long', 400],
    ['unsupported_media_type', 415],
    ['internal_error', 500],
    ['storage_full', 507],
  ])('%s → %d', (code, status) => {
    expect(ERROR_STATUS[code].status).toBe(status);
  });
});

describe('toProblem', () => {
  it.each(DOMAIN_ERROR_CODES)('keeps the code, message and details of DomainError %s', (code) => {
    const error = new DomainError(code, `domain says ${code}`, { field: 'x' });
    expect(toProblem(error)).toEqual({ code, detail: `domain says ${code}`, details: { field: 'x' } });
  });

  it.each(APPLICATION_ERROR_CODES)('keeps the code, message and details of ApplicationError %s', (code) => {
    const error = new ApplicationError(code, `use case says ${code}`, { id: 1 });
    expect(toProblem(error)).toEqual({ code, detail: `use case says ${code}`, details: { id: 1 } });
  });

  it.each(HTTP_ERROR_CODES)('keeps the code, message and details of HttpError %s', (code) => {
    expect(toProblem(new HttpError(code, 'edge', {}))).toEqual({ code, detail: 'edge', details: {} });
  });

  it('maps InvalidCursor to invalid_cursor on the cursor field', () => {
    expect(toProblem(new InvalidCursor('bad cursor'))).toEqual({
      code: 'invalid_cursor',
      detail: 'bad cursor',
      details: { field: 'cursor' },
    });
  });

  it.each<[string, unknown]>([
    [
      'ECONNREFUSED',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })],
    ['SQLSTATE 08006', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['SQLSTATE 08001', Object.assign(new Error('cannot connect'), { code: '08001' })],
    ['SQLSTATE 57P01', Object.assign(new Error('admin shutdown'), { code: '57P01' })],
    ['a pg "Connection terminated"', new Error('Connection terminated unexpectedly')],
    ['a MikroORM ConnectionException', Object.assign(new Error('x'), { name: 'ConnectionException' })],
    // Issue 7, dependency outages: the client-side timeouts and ioredis's own failures.
    ['a pg query_timeout', new Error('Query read timeout')],
    ['a pg connectionTimeoutMillis', new Error('timeout expired')],
    ['an ioredis commandTimeout', new Error('Command timed out')],
    ['an ioredis closed connection', new Error('Connection is closed.')],
    [
      'an ioredis offline refusal',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    ],
    ['ioredis retries spent', Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' })],
    ['a paused publisher', Object.assign(new Error('x'), { name: 'DependencyUnavailable' })],
  ])('maps %s to dependency_unavailable', (_label, error) => {
    expect(toProblem(error)).toMatchObject({ code: 'dependency_unavailable', details: {} });
  });

  it.each<[string, string]>([
    ['ENOSPC', 'storage_full'],
    ['EDQUOT', 'storage_full'],
    ['EIO', 'storage_unavailable'],
    ['EROFS', 'storage_unavailable'],
    ['EACCES', 'storage_unavailable'],
    ['EMFILE', 'storage_unavailable'],
  ])('maps a disk error %s that no use case named to %s, naming the errno', (errno, code) => {
    const error = Object.assign(new Error(`${errno}: write '/se/wal/wal-1.log'`), { code: errno });
    const problem = toProblem(error);
    expect(problem).toMatchObject({ code, details: {} });
    expect(ERROR_STATUS[problem.code].status).toBe(code === 'storage_full' ? 507 : 503);
    if (code === 'storage_unavailable') expect(problem.detail).toContain(errno);
  });

  it.each<[string, unknown]>([
    ['an arbitrary Error', new Error('Cannot read properties of undefined')],
    ['a TypeError', new TypeError('x is not a function')],
    ['a SQL syntax error (42601)', Object.assign(new Error('syntax'), { code: '42601' })],
    ['a unique violation (23505)', Object.assign(new Error('dup'), { code: '23505' })],
    ['ENOENT', Object.assign(new Error('no such file'), { code: 'ENOENT' })],
    ['a numeric code', Object.assign(new Error('x'), { code: 8006 })],
    ['a thrown string', 'boom'],
    ['null', null],
    ['undefined', undefined],
  ])('maps %s to internal_error without leaking its message', (_label, error) => {
    const problem = toProblem(error);
    expect(problem.code).toBe('internal_error');
    expect(problem.details).toEqual({});
    expect(problem.detail).toBe('an unexpected error occurred; it has been logged');
  });
});
