export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A time-ordered unique id (UUID v7). */
  fileId(): string;
  /** A short random token (transaction ids, request ids). */
  token(): string;
}
