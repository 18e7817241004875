/** A test's model of RFC 9110 §14 byte ranges, independent of the server's code. */
export type RangeSpec =
  | { readonly kind: 'closed'; readonly first: number; readonly last: number }
  | { readonly kind: 'open'; readonly first: number }
  | { readonly kind: 'suffix'; readonly length: number };

export interface Span {
  readonly start: number;
  readonly end: number;
}

export function rangeHeader(specs: readonly RangeSpec[]): string {
  const text = (s: RangeSpec): string =>
    s.kind === 'closed' ? `${s.first}-${s.last}` : s.kind === 'open' ? `${s.first}-` : `-${s.length}`;
  return `bytes=${specs.map(text).join(',')}`;
}

/** What a spec selects from `size` bytes, or null when it selects nothing (unsatisfiable). */
export function resolveSpec(spec: RangeSpec, size: number): Span | null {
  if (spec.kind === 'suffix')
    return spec.length === 0 || size === 0 ? null : { start: Math.max(0, size - spec.length), end: size - 1 };
  if (spec.first >= size) return null;
  return { start: spec.first, end: spec.kind === 'open' ? size - 1 : Math.min(spec.last, size - 1) };
}

/** Overlapping and adjacent spans merged, kept in the order of their first request (§14.2 allows it). */
export function coalesce(spans: readonly Span[]): Span[] {
  const sorted = spans.map((s, order) => ({ ...s, order })).sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number; order: number }[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.start <= last.end + 1) {
      last.end = Math.max(last.end, span.end);
      last.order = Math.min(last.order, span.order);
    } else merged.push({ ...span });
  }
  return merged.sort((a, b) => a.order - b.order).map(({ start, end }) => ({ start, end }));
}

export interface Part {
  readonly contentType: string;
  readonly span: Span;
  readonly size: number;
  readonly body: Buffer;
}

/**
 * Parses a `multipart/byteranges` body strictly by the lengths its Content-Range headers state
 * (no searching for the boundary inside binary data); throws on any deviation.
 */
export function parseByteranges(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=([^;\s]+)/u.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in '${contentType}'`);
  const parts: Part[] = [];
  let at = 0;
  const expect = (text: string): void => {
    if (body.toString('latin1', at, at + text.length) !== text)
      throw new Error(
        `expected ${JSON.stringify(text)} at ${at}, found ${JSON.stringify(body.toString('latin1', at, at + text.length))}`,
      );
    at += text.length;
  };
  for (;;) {
    if (body.toString('latin1', at, at + boundary.length + 4) === `--${boundary}--`) {
      expect(`--${boundary}--\r\n`);
      if (at !== body.length) throw new Error(`${body.length - at} bytes after the closing delimiter`);
      return parts;
    }
    expect(`--${boundary}\r\n`);
    const headEnd = body.indexOf('\r\n\r\n', at, 'latin1');
    const headers = new Map(
      body
        .toString('latin1', at, headEnd)
        .split('\r\n')
        .map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
        }),
    );
    at = headEnd + 4;
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/u.exec(headers.get('content-range') ?? '');
    if (!range) throw new Error(`part without a valid Content-Range: ${JSON.stringify([...headers])}`);
    const span = { start: Number(range[1]), end: Number(range[2]) };
    const length = span.end - span.start + 1;
    parts.push({
      contentType: headers.get('content-type') ?? '',
      span,
      size: Number(range[3]),
      body: body.subarray(at, at + length),
    });
    at += length;
    expect('\r\n');
  }
}
