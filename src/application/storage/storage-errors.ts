import { ApplicationError } from '../errors';
import { BlobBackendUnavailable } from '../ports/blob-store';

/** The medium is out of space or quota: the ingester can take the write elsewhere (507). */
const FULL = new Set(['ENOSPC', 'EDQUOT']);

/**
 * The medium refused or failed the call (an I/O error, a read-only or unmounted file system,
 * permissions changed under us, no descriptors left): a dependency failure, not a bug of ours.
 * ENOENT is not here: a missing file means something different at every call site.
 */
const FAILED = new Set([
  'EIO',
  'EROFS',
  'EACCES',
  'EPERM',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'ENODEV',
  'ENXIO',
  'ESTALE',
]);

/** A node errno error of the disk as the named problem it is, or null when it is something else. */
export function diskFailure(error: unknown): ApplicationError | null {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  if (typeof code !== 'string') return null;
  if (FULL.has(code))
    return new ApplicationError('storage_full', 'the storage medium is full', {}, { cause: error });
  if (FAILED.has(code))
    return new ApplicationError(
      'storage_unavailable',
      `the storage medium failed the operation (${code})`,
      {},
      { cause: error },
    );
  return null;
}

/** What a storage element's operation failed with, named for its caller (unknown errors pass as they are). */
export function storageError(error: unknown): unknown {
  if (error instanceof ApplicationError) return error;
  if (error instanceof BlobBackendUnavailable)
    return new ApplicationError('storage_unavailable', error.message, {}, { cause: error });
  return diskFailure(error) ?? error;
}

/** A put's failure: also the upload's own stream ending early (the client went away). */
export function putError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED') {
    return new ApplicationError(
      'upload_interrupted',
      'the upload ended before all content arrived',
      {},
      { cause: error },
    );
  }
  return storageError(error);
}

/**
 * A write that failed and whose undo could not be made durable: the next start's replay may still
 * complete it, so a definite failure would be a lie (the answer must be true).
 */
export function outcomeUnknown(
  operation: 'put' | 'update' | 'delete',
  fileId: string,
  cause: unknown,
): ApplicationError {
  const named = storageError(cause);
  const why = named instanceof Error ? named.message : String(named);
  return new ApplicationError(
    'write_outcome_unknown',
    `the ${operation} of file ${fileId} failed (${why}) and could not be undone durably: the storage element may still complete it when it restarts; repeat the ${operation} once it is back`,
    { file_id: fileId },
    { cause },
  );
}
