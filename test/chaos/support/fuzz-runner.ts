import fc from 'fast-check';
import type { FuzzClient, FuzzRequest, Outcome } from './fuzz-client';
import type { Endpoint } from './fuzz-endpoints';
import { judge } from './fuzz-oracle';

export interface EndpointReport {
  readonly name: string;
  readonly seed: number;
  readonly cases: number;
  readonly statuses: Record<string, number>;
  readonly codes: Record<string, number>;
  readonly violations: Record<string, number>;
  /** The first few offending cases, with their index in the seed's sequence. */
  readonly examples: { index: number; rule: string; detail: string; request: FuzzRequest }[];
  readonly ms: number;
}

/** Answers that changed something: what the side-effect check expects to find afterwards. */
export interface Effects {
  readonly created: Set<string>;
  readonly deleted: Set<string>;
  readonly internalCreated: Set<string>;
  patches: number;
  /** The highest `attr_version` a 2xx PATCH answered (a patch the document already shows keeps it). */
  patchedTo: number;
  holds: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/iu;

function record(effects: Effects, endpoint: Endpoint, request: FuzzRequest, outcome: Outcome): void {
  if (outcome.kind !== 'response' || outcome.status < 200 || outcome.status >= 300) return;
  const fileIdHeader = outcome.headers['artstore-file-id'];
  const bodyId = (): string | undefined => {
    try {
      return (JSON.parse(outcome.body.toString('utf8')) as { file_id?: string }).file_id;
    } catch {
      return undefined;
    }
  };
  switch (endpoint.effect) {
    case 'creates': {
      const id =
        typeof fileIdHeader === 'string'
          ? fileIdHeader
          : endpoint.method === 'POST' && outcome.status === 201
            ? bodyId()
            : undefined;
      if (id) effects.created.add(id.toLowerCase());
      return;
    }
    case 'internal_creates': {
      const id = bodyId();
      if (id) effects.internalCreated.add(id.toLowerCase());
      return;
    }
    case 'deletes': {
      const id = UUID.exec(request.path)?.[0];
      if (id) effects.deleted.add(id.toLowerCase());
      return;
    }
    case 'patches': {
      effects.patches++;
      try {
        const version = (JSON.parse(outcome.body.toString('utf8')) as { attr_version?: number }).attr_version;
        if (typeof version === 'number') effects.patchedTo = Math.max(effects.patchedTo, version);
      } catch {
        // Not JSON: the drift check then shows it.
      }
      return;
    }
    case 'holds':
      effects.holds++;
      return;
    default:
  }
}

/**
 * Generates `cases` requests for an endpoint from `seed` (fast-check: the same seed gives the same
 * sequence, so a reported index reproduces) and sends them `parallel` at a time.
 */
export async function fuzzEndpoint(
  client: FuzzClient,
  endpoint: Endpoint,
  seed: number,
  cases: number,
  parallel: number,
  effects: Effects,
): Promise<EndpointReport> {
  const started = Date.now();
  const requests = fc.sample(endpoint.arbitrary, { seed, numRuns: cases });
  const report: EndpointReport = {
    name: endpoint.name,
    seed,
    cases,
    statuses: {},
    codes: {},
    violations: {},
    examples: [],
    ms: 0,
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      const request = requests[index];
      if (request === undefined) return;
      const outcome = await client.send(request);
      const status = outcome.kind === 'response' ? String(outcome.status) : outcome.kind;
      report.statuses[status] = (report.statuses[status] ?? 0) + 1;
      const verdict = judge(outcome, endpoint.oauth === true, request.method);
      if (verdict.code) report.codes[verdict.code] = (report.codes[verdict.code] ?? 0) + 1;
      if (verdict.violation) {
        const { rule, detail } = verdict.violation;
        report.violations[rule] = (report.violations[rule] ?? 0) + 1;
        if (report.examples.length < 5)
          report.examples.push({ index, rule, detail, request: abbreviated(request) });
      }
      record(effects, endpoint, request, outcome);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { ...report, ms: Date.now() - started };
}

function abbreviated(request: FuzzRequest): FuzzRequest {
  const cut = (s: string): string => (s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s);
  const body = request.body === undefined ? undefined : cut(Buffer.from(request.body).toString('latin1'));
  return {
    ...request,
    path: cut(request.path),
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [
        k,
        k === 'authorization' ? cut(v).slice(0, 40) : cut(v),
      ]),
    ),
    body,
  };
}
