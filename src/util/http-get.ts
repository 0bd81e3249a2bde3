/** Why a fetch from the bundle (or revocation) server failed: a closed set, used as the metric reason. */
export type FetchFailure = 'network' | 'timeout' | 'http_status' | 'too_large' | 'malformed';

export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(
    readonly reason: FetchFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface PollOptions {
  /** Ask the server to hold the request this long for a change (long polling); 0: answer now. */
  readonly waitSeconds: number;
  readonly timeoutMs: number;
  readonly token: string | undefined;
  readonly maxBytes: number;
  readonly fetch?: typeof fetch;
  /** Aborts the request (shutdown: a long poll must not hold the process for its whole wait). */
  readonly signal?: AbortSignal;
}

/** GET with the timeout covering the server's hold time too. */
export async function get(target: URL, headers: Record<string, string>, options: PollOptions): Promise<Response> {
  const deadline = options.waitSeconds * 1000 + options.timeoutMs;
  try {
    const timeout = AbortSignal.timeout(deadline);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    return await (options.fetch ?? fetch)(target, { headers, redirect: 'error', signal });
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new FetchError('timeout', `GET ${target.origin}${target.pathname}: no answer within ${deadline} ms`);
    throw new FetchError(
      'network',
      `GET ${target.origin}${target.pathname}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
    );
  }
}

/** The body, refusing to buffer more than maxBytes whatever Content-Length claims. */
export async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError('too_large', `body of ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new FetchError('too_large', `body exceeds the ${maxBytes}-byte limit`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof FetchError) throw err;
    throw new FetchError('network', `reading the body failed: ${(err as Error).message}`);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
