import { JsonSidecarCodec, SCHEMA_VERSION } from '../../../src/adapters/sidecar/json-sidecar-codec';
import { canonicalJson, sidecarChecksum } from '../../../src/adapters/sidecar/sidecar-checksum';
import { SidecarInvalid } from '../../../src/application/ports/sidecar-codec';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import { decideRetention } from '../../../src/domain/retention/retention';
import { aDocument, T0 } from '../../support/builders';

const codec = new JsonSidecarCodec();

const temporary = (): DocumentAttributes =>
  aDocument(Buffer.from('temporary content'), {
    name: 'Отчёт 2024.pdf',
    description: 'квартальный отчёт',
    tags: ['a', 'б'],
    metadata: { owner: 'alice', 'key with spaces': 'v' },
    retention: decideRetention({ policy: 'temporary', ttlDays: 7 }, T0),
  });

const permanent = (retainUntil: Date | null, legalHold = false): DocumentAttributes => ({
  ...aDocument(Buffer.from('permanent content'), { collection: 'legal' }),
  retention: { policy: 'permanent', retainUntil, legalHold },
  status: 'deleted',
  attrVersion: 4,
  updatedAt: new Date(T0.getTime() + 1234),
});

function decodeError(content: Buffer): SidecarInvalid {
  try {
    codec.decode(content);
  } catch (error) {
    expect(error).toBeInstanceOf(SidecarInvalid);
    return error as SidecarInvalid;
  }
  throw new Error('expected SidecarInvalid, the sidecar decoded');
}

function mutated(change: (doc: Record<string, unknown>) => void): Buffer {
  const doc = JSON.parse(codec.encode(temporary()).toString('utf8')) as Record<string, unknown>;
  change(doc);
  return Buffer.from(JSON.stringify(doc));
}

describe('JsonSidecarCodec', () => {
  it.each<[string, () => DocumentAttributes]>([
    ['a temporary document', temporary],
    ['a permanent document with retain_until and legal hold', () => permanent(new Date('2040-01-01Z'), true)],
    ['a permanent document without retain_until', () => permanent(null)],
    ['an empty document', () => aDocument(Buffer.alloc(0))],
    [
      'a document with its original name and sniffed type',
      () =>
        aDocument(Buffer.from('%PDF-1.7'), {
          name: 'passwd',
          originalName: '../../etc/passwd',
          contentType: 'text/plain',
          sniffedContentType: 'application/pdf',
        }),
    ],
  ])('round-trips %s unchanged', (_label, make) => {
    const file = make();
    expect(codec.decode(codec.encode(file))).toEqual(file);
  });

  it('writes pretty UTF-8 JSON with schema_version 2, snake_case fields and a checksum last', () => {
    const file = temporary();
    const text = codec.encode(file).toString('utf8');
    expect(SCHEMA_VERSION).toBe(2);
    const document = codec.toDocument(file);
    expect(text).toBe(`${JSON.stringify({ ...document, checksum: sidecarChecksum(document) }, null, 2)}\n`);
    expect(text.split('\n')[1]).toBe('  "schema_version": 2,');
    expect(text).toMatch(/\n {2}"checksum": "sha256:[0-9a-f]{64}"\n\}\n$/u);
    expect(text).toContain('"name": "Отчёт 2024.pdf"');
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      'schema_version',
      'file_id',
      'name',
      'original_name',
      'content_type',
      'sniffed_content_type',
      'size',
      'sha256',
      'collection',
      'uploader',
      'uploaded_at',
      'updated_at',
      'description',
      'tags',
      'metadata',
      'retention',
      'status',
      'attr_version',
      'stored',
      'checksum',
    ]);
    expect(doc.retention).toEqual({
      policy: 'temporary',
      ttl_days: 7,
      expires_at: file.retention.policy === 'temporary' ? file.retention.expiresAt.toISOString() : null,
    });
  });

  it('reads a sidecar written before original_name and sniffed_content_type existed', () => {
    const file = temporary();
    const doc = codec.toDocument(file);
    delete doc.original_name;
    delete doc.sniffed_content_type;
    expect(codec.fromDocument(doc)).toEqual(file);
    expect(file).toMatchObject({ originalName: null, sniffedContentType: null });
  });

  it.each([0.1, 0.25, 0.5, 0.75, 0.9, 0.99])('refuses a sidecar torn at %d of its length', (fraction) => {
    const whole = codec.encode(temporary());
    const torn = whole.subarray(0, Math.floor(whole.length * fraction));
    expect(decodeError(torn).message).toMatch(/^not JSON/u);
  });

  it('refuses an empty sidecar and one of NUL bytes (a torn write on some file systems)', () => {
    expect(decodeError(Buffer.alloc(0))).toBeInstanceOf(SidecarInvalid);
    expect(decodeError(Buffer.alloc(64))).toBeInstanceOf(SidecarInvalid);
  });

  it.each<[string, (doc: Record<string, unknown>) => void, string]>([
    ['schema_version 3', (d) => void (d.schema_version = 3), 'schema_version'],
    ['no schema_version', (d) => void delete d.schema_version, 'schema_version'],
    ['no file_id', (d) => void delete d.file_id, 'file_id'],
    ['no sha256', (d) => void delete d.sha256, 'sha256'],
    ['no retention', (d) => void delete d.retention, 'retention'],
    ['no stored description', (d) => void delete d.stored, 'stored'],
    ['an upper-case sha256', (d) => void (d.sha256 = 'A'.repeat(64)), 'sha256'],
    ['a short sha256', (d) => void (d.sha256 = 'abc'), 'sha256'],
    [
      'a bad stored sha256',
      (d) => void ((d.stored as Record<string, unknown>).sha256 = 'x'.repeat(64)),
      'stored.sha256',
    ],
    ['a negative size', (d) => void (d.size = -1), 'size'],
    ['an unknown status', (d) => void (d.status = 'gone'), 'status'],
    [
      'an unknown encoding',
      (d) => void ((d.stored as Record<string, unknown>).encoding = 'zstd'),
      'stored.encoding',
    ],
    ['a date without offset', (d) => void (d.uploaded_at = '2026-03-01T10:00:00'), 'uploaded_at'],
    ['a non-string metadata value', (d) => void (d.metadata = { n: 1 }), 'metadata.n'],
    ['an unknown retention policy', (d) => void (d.retention = { policy: 'forever' }), 'retention'],
    ['attr_version 0', (d) => void (d.attr_version = 0), 'attr_version'],
  ])('refuses %s', (_label, change, path) => {
    expect(decodeError(mutated(change)).message).toContain(path);
  });

  it.each([['[]'], ['null'], ['"text"'], ['42']])('refuses the JSON value %s', (json) => {
    expect(decodeError(Buffer.from(json))).toBeInstanceOf(SidecarInvalid);
  });
});

describe('JsonSidecarCodec, compressed content', () => {
  const compressed = (): DocumentAttributes => {
    const file = aDocument(Buffer.alloc(2_500_000, 'a'));
    return {
      ...file,
      stored: {
        key: file.stored.key,
        encoding: 'br',
        size: 600,
        sha256: 'c'.repeat(64),
        frames: { frameSize: 1_048_576, storedSizes: [250, 250, 100] },
        chunks: null,
      },
    };
  };
  const storedOf = (content: Buffer): Record<string, unknown> =>
    (JSON.parse(content.toString('utf8')) as { stored: Record<string, unknown> }).stored;

  it('round-trips the frame index, written snake_case with the frame list on one line', () => {
    const file = compressed();
    const text = codec.encode(file).toString('utf8');
    expect(codec.decode(Buffer.from(text))).toEqual(file);
    expect(storedOf(Buffer.from(text)).frames).toEqual({
      frame_size: 1_048_576,
      stored_sizes: [250, 250, 100],
    });
    expect(text).toContain('"stored_sizes": [250,250,100]');
  });

  it('reads a sidecar without frames (written before compression) as identity', () => {
    const doc = JSON.parse(codec.encode(temporary()).toString('utf8')) as { stored: Record<string, unknown> };
    expect(doc.stored.frames).toBeUndefined();
    expect(codec.fromDocument(doc).stored.frames).toBeNull();
  });

  it.each<[string, (stored: Record<string, unknown>) => void, RegExp]>([
    ['compressed content without frames', (s) => void delete s.frames, /needs a frame index/u],
    [
      'identity content with frames',
      (s) => void (s.encoding = 'identity'),
      /identity content has no frames/u,
    ],
    ['frames that do not add up to the stored size', (s) => void (s.size = 601), /add up to 600/u],
    [
      'too few frames for the original size',
      (s) => void ((s.frames as Record<string, unknown>).stored_sizes = [300, 300]),
      /3 needed/u,
    ],
    ['a zero frame size', (s) => void ((s.frames as Record<string, unknown>).frame_size = 0), /frame_size/u],
  ])('refuses %s', (_label, change, message) => {
    const doc = JSON.parse(codec.encode(compressed()).toString('utf8')) as {
      stored: Record<string, unknown>;
    };
    change(doc.stored);
    expect(decodeError(Buffer.from(JSON.stringify(doc))).message).toMatch(message);
  });
});

describe('JsonSidecarCodec, chunk digests', () => {
  // 600 stored bytes in chunks of 256: three digests of 16 bytes.
  const withChunks = (): DocumentAttributes => {
    const file = aDocument(Buffer.alloc(600, 'a'));
    const digests = Buffer.alloc(48, 7).toString('base64');
    return {
      ...file,
      stored: { ...file.stored, chunks: { chunkSize: 256, algorithm: 'sha256-128', digests } },
    };
  };
  const docOf = (file: DocumentAttributes): { stored: Record<string, unknown> } =>
    JSON.parse(codec.encode(file).toString('utf8')) as { stored: Record<string, unknown> };

  it('round-trips the chunk digests, written snake_case as one base64 string', () => {
    const file = withChunks();
    expect(codec.decode(codec.encode(file))).toEqual(file);
    expect(docOf(file).stored.chunks).toEqual({
      chunk_size: 256,
      algorithm: 'sha256-128',
      digests: Buffer.alloc(48, 7).toString('base64'),
    });
  });

  it('reads a sidecar without chunk digests (written before them) as having none', () => {
    const doc = docOf(temporary());
    expect(doc.stored.chunks).toBeUndefined();
    expect(codec.fromDocument(doc).stored.chunks).toBeNull();
  });

  it.each<[string, (chunks: Record<string, unknown>) => void, RegExp]>([
    ['too few digests', (c) => void (c.digests = Buffer.alloc(32).toString('base64')), /48 needed/u],
    ['too many digests', (c) => void (c.digests = Buffer.alloc(64).toString('base64')), /48 needed/u],
    ['digests that are not base64', (c) => void (c.digests = 'not base64!'), /digests/u],
    ['an unknown algorithm', (c) => void (c.algorithm = 'md5'), /algorithm/u],
    ['a zero chunk size', (c) => void (c.chunk_size = 0), /chunk_size/u],
  ])('refuses %s', (_label, change, message) => {
    const doc = docOf(withChunks());
    change(doc.stored.chunks as Record<string, unknown>);
    expect(decodeError(Buffer.from(JSON.stringify(doc))).message).toMatch(message);
  });
});

describe('JsonSidecarCodec, the checksum (schema version 2)', () => {
  const withEverything = (): DocumentAttributes => {
    const file = aDocument(Buffer.alloc(600, 'a'), {
      name: 'Отчёт 2026.pdf',
      description: 'квартальный отчёт',
      tags: ['finance', 'q1'],
      metadata: { owner: 'alice', '1': 'an integer-like key' },
    });
    return {
      ...file,
      stored: {
        ...file.stored,
        encoding: 'gzip',
        size: 300,
        frames: { frameSize: 1_048_576, storedSizes: [300] },
        chunks: { chunkSize: 256, algorithm: 'sha256-128', digests: Buffer.alloc(32, 7).toString('base64') },
      },
    };
  };

  it('refuses every single flipped bit of a sidecar, whatever byte it hits', () => {
    const encoded = codec.encode(withEverything());
    const accepted: string[] = [];
    for (let at = 0; at < encoded.length; at += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const flipped = Buffer.from(encoded);
        flipped[at]! ^= 1 << bit;
        try {
          codec.decode(flipped);
          accepted.push(`byte ${at} bit ${bit}`);
        } catch (error) {
          expect(error).toBeInstanceOf(SidecarInvalid);
        }
      }
    }
    expect(encoded.length).toBeGreaterThan(900);
    expect(accepted).toEqual([]);
  });

  it('names the checksum when the content was changed and the sidecar is otherwise valid', () => {
    const doc = JSON.parse(codec.encode(temporary()).toString('utf8')) as Record<string, unknown>;
    doc.description = 'changed behind the codec';
    expect(decodeError(Buffer.from(JSON.stringify(doc))).message).toBe(
      "checksum: differs from the sidecar's content",
    );
  });

  it('refuses a version 2 sidecar without its checksum (it cannot pass for version 1)', () => {
    const doc = JSON.parse(codec.encode(temporary()).toString('utf8')) as Record<string, unknown>;
    delete doc.checksum;
    expect(decodeError(Buffer.from(JSON.stringify(doc))).message).toBe('checksum: missing');
  });

  it('still reads a version 1 sidecar, which has no checksum', () => {
    const file = temporary();
    const legacy = { ...codec.toDocument(file), schema_version: 1 };
    expect(legacy).not.toHaveProperty('checksum');
    expect(codec.decode(Buffer.from(`${JSON.stringify(legacy, null, 2)}\n`))).toEqual(file);
  });

  it('checks the content, not its layout: a re-indented sidecar with members reordered reads the same', () => {
    const file = withEverything();
    const doc = JSON.parse(codec.encode(file).toString('utf8')) as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    expect(codec.decode(Buffer.from(JSON.stringify(reordered, null, '\t')))).toEqual(file);
  });
});

describe('canonicalJson (RFC 8785 for sidecar values)', () => {
  it.each<[string, unknown, string]>([
    [
      'members sorted by name at every depth',
      { b: 1, a: { d: [true, null], c: 'x' } },
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    ],
    ['integer-like names sorted as strings', { b: 1, '10': 2, '9': 3 }, '{"10":2,"9":3,"b":1}'],
    ['names sorted by UTF-16 code units', { é: 1, z: 2, '😀': 3, ｚ: 4 }, '{"z":2,"é":1,"😀":3,"ｚ":4}'],
    ['strings escaped as JSON.stringify does', { s: 'a"\\\n\u0001é' }, '{"s":"a\\"\\\\\\n\\u0001é"}'],
    ['undefined members left out', { a: undefined, b: null }, '{"b":null}'],
  ])('writes %s', (_label, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });
});
