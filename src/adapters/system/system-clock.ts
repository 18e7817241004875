import { randomBytes } from 'node:crypto';
import { v7 } from 'uuid';
import type { Clock, IdGenerator } from '../../application/ports/clock';

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

export class UuidV7Ids implements IdGenerator {
  fileId(): string {
    return v7();
  }

  token(): string {
    return randomBytes(9).toString('base64url');
  }
}
