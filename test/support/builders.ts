import type { ThresholdsByMode } from '../../src/domain/storage-element/capacity-level';
import type { Clock, IdGenerator } from '../../src/application/ports/clock';
import type { DocumentAttributes, DocumentDraft } from '../../src/domain/document/document';
import { completeDocument } from '../../src/domain/document/document';
import { blobKeyFor } from '../../src/domain/document/blob-key';
import { decideRetention } from '../../src/domain/retention/retention';
import type { Principal } from '../../src/domain/access/principal';
import { SCOPES } from '../../src/domain/access/principal';
import type { StorageElementDescriptor } from '../../src/domain/storage-element/storage-element';
import { createHash, randomUUID } from 'node:crypto';
import { v7 } from 'uuid';

export const T0 = new Date('2026-03-01T10:00:00.000Z');

export class FixedClock implements Clock {
  constructor(private current: Date = T0) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export class SequenceIds implements IdGenerator {
  private n = 0;
  fileId(): string {
    return v7();
  }
  token(): string {
    this.n += 1;
    return `t${this.n}-${randomUUID().slice(0, 8)}`;
  }
}

export function aDraft(overrides: Partial<DocumentDraft> = {}): DocumentDraft {
  const uploadedAt = overrides.uploadedAt ?? T0;
  return {
    fileId: v7(),
    name: 'report.pdf',
    originalName: null,
    contentType: 'application/pdf',
    sniffedContentType: null,
    collection: 'default',
    uploader: 'tester',
    uploadedAt,
    description: null,
    tags: [],
    metadata: {},
    retention: decideRetention({ policy: 'temporary', ttlDays: 30 }, uploadedAt),
    ...overrides,
  };
}

export function aDocument(
  content: Buffer = Buffer.from('hello'),
  overrides: Partial<DocumentDraft> = {},
): DocumentAttributes {
  const draft = aDraft(overrides);
  const sha256 = createHash('sha256').update(content).digest('hex');
  return completeDocument(
    draft,
    { size: content.length, sha256, key: blobKeyFor(draft.fileId, draft.name, draft.uploadedAt) },
    draft.uploadedAt,
  );
}

export function aStorageElement(overrides: Partial<StorageElementDescriptor> = {}): StorageElementDescriptor {
  return {
    id: 'se-1',
    mode: 'rw',
    backend: 'local',
    dc: 'dc1',
    priority: 100,
    capacity: { totalBytes: 1_000_000, usedBytes: 0 },
    fileCount: 0,
    url: 'http://127.0.0.1:1',
    lastSeenAt: T0,
    ...overrides,
  };
}

export function aPrincipal(overrides: Partial<Principal> = {}): Principal {
  return { kind: 'service', subject: 'svc-test', scopes: new Set(SCOPES), collections: {}, ...overrides };
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Capacity floors for tests: warning at 50 %, critical at 20 % and full at `fullPercent` % free, in both writable modes. */
export function thresholdsFullAt(fullPercent: number): ThresholdsByMode {
  const levels = {
    warning: { percent: 50, bytes: 0 },
    critical: { percent: 20, bytes: 0 },
    full: { percent: fullPercent, bytes: 0 },
  };
  return { edit: levels, rw: levels };
}
