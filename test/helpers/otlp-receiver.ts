import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

import { ROOT } from './spawn-cli.js';

/** One span as the OTLP/JSON encoding writes it (what the Collector's file exporter writes). */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly status: { code?: number; message?: string };
  readonly events: readonly { name: string }[];
  /** service.name and the other resource attributes of the export the span came in. */
  readonly resource: Readonly<Record<string, unknown>>;
}

export interface OtlpReceiver {
  /** http://HOST:PORT/v1/traces */
  readonly httpUrl: string;
  /** http://HOST:PORT (OTLP/gRPC) */
  readonly grpcUrl: string;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  /** Raw OTLP/JSON lines, one per export request. */
  readonly requests: string[];
  stop(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
};

function plain(v: AnyValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(plain);
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}
const attrs = (list: { key: string; value: AnyValue }[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));

/**
 * Builds (scripts/build-otlp-receiver.sh; instant when built already) and starts the OTLP receiver of
 * test/tools/otlp-receiver on ephemeral loopback ports. `stall`: it reads requests and never answers.
 */
export async function startOtlpReceiver(options: { stall?: boolean } = {}): Promise<OtlpReceiver> {
  const build = spawnSync('bash', [`${ROOT}/scripts/build-otlp-receiver.sh`], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the OTLP receiver failed: ${build.stderr}`);
  const binary = build.stdout.trim().split('\n').at(-1)!;
  const child: ChildProcess = spawn(binary, options.stall === true ? ['-stall'] : [], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const spans: ReceivedSpan[] = [];
  const requests: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<{ http: string; grpc: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the OTLP receiver exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const m = /^listening http=(\S+) grpc=(\S+)$/.exec(line);
      if (m !== null) return resolve({ http: m[1]!, grpc: m[2]! });
      requests.push(line);
      const body = JSON.parse(line) as {
        resourceSpans?: {
          resource?: { attributes?: { key: string; value: AnyValue }[] };
          scopeSpans?: { spans?: any[] }[];
        }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
              status: s.status ?? {},
              events: s.events ?? [],
              resource,
            });
      }
    });
  });
  const { http, grpc } = await listening;
  return {
    httpUrl: `http://${http}/v1/traces`,
    grpcUrl: `http://${grpc}`,
    spans,
    requests,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
