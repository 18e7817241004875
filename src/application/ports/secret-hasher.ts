/** Slow, salted one-way hashing of client secrets and passwords (§6). */
export interface SecretHasher {
  hash(secret: string): Promise<string>;
  /** Constant-time with respect to the secret; false for any encoding it does not understand. */
  verify(secret: string, encoded: string): Promise<boolean>;
  /**
   * Spends the same time as a verify against nothing, so an unknown client or user cannot be told
   * apart from a wrong secret by timing.
   */
  burn(secret: string): Promise<void>;
}
