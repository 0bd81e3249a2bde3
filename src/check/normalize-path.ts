// Paths are normalised once, conservatively: anything two servers could read differently is refused
// with 400 instead of guessed at (see the path-confusion class of bypasses: encoded slashes, dot
// segments, backslashes, NUL, and path parameters: Tomcat and other Java servers drop `;...` from each
// segment before routing, so `/public/..;/admin` reaches /admin there while it matches /public/... here).

export interface NormalizedPath {
  /** Decoded segments, without the leading empty one. A trailing slash leaves a final empty segment. */
  readonly segments: readonly string[];
  /** The decoded segments joined with "/": what policies see as context.request.path. */
  readonly path: string;
}

export type PathResult =
  { readonly ok: true; readonly value: NormalizedPath } | { readonly ok: false; readonly detail: string };

const FORBIDDEN_ENCODED = /%(2f|5c|00)/i;
// Controls (C0, DEL, C1) and the backslash are never meaningful in a path segment.
const FORBIDDEN_DECODED = /[\u0000-\u001f\u007f-\u009f\\]/;

export interface PathOptions {
  readonly maxLength?: number;
  /**
   * Accept `;` inside segments (paths.allowSemicolons, for APIs that use matrix parameters); the `;` and
   * what follows stay part of the segment. Segments that are dot segments or empty once the parameters
   * are dropped (`..;x`, `.;`, `;x`) are refused either way.
   */
  readonly allowSemicolons?: boolean;
}

export function normalizePath(rawPath: string, options: PathOptions = {}): PathResult {
  const maxLength = options.maxLength ?? 8192;
  if (rawPath.length === 0) return { ok: false, detail: 'empty path' };
  if (rawPath.length > maxLength) return { ok: false, detail: 'path too long' };
  let end = rawPath.length;
  const q = rawPath.indexOf('?');
  if (q !== -1) end = q;
  const hash = rawPath.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  const raw = rawPath.slice(0, end);
  if (raw.charCodeAt(0) !== 0x2f) return { ok: false, detail: 'path is not absolute' };
  if (FORBIDDEN_ENCODED.test(raw)) return { ok: false, detail: 'encoded slash, backslash or NUL' };
  const rawSegments = raw.split('/');
  const segments: string[] = new Array(rawSegments.length - 1);
  for (let i = 1; i < rawSegments.length; i++) {
    const rawSegment = rawSegments[i]!;
    if (rawSegment.length === 0 && i !== rawSegments.length - 1) return { ok: false, detail: 'empty segment' };
    let segment = rawSegment;
    if (rawSegment.includes('%')) {
      try {
        segment = decodeURIComponent(rawSegment);
      } catch {
        return { ok: false, detail: 'invalid percent-encoding' };
      }
    }
    if (segment === '.' || segment === '..') return { ok: false, detail: 'dot segment' };
    if (FORBIDDEN_DECODED.test(segment)) return { ok: false, detail: 'control character or backslash' };
    const semicolon = segment.indexOf(';');
    if (semicolon !== -1) {
      const base = segment.slice(0, semicolon);
      if (base === '.' || base === '..') return { ok: false, detail: 'dot segment with a path parameter' };
      if (options.allowSemicolons !== true)
        return { ok: false, detail: 'semicolon in a segment (paths.allowSemicolons)' };
      if (base.length === 0) return { ok: false, detail: 'path parameter without a segment' };
    }
    segments[i - 1] = segment;
  }
  return { ok: true, value: { segments, path: '/' + segments.join('/') } };
}
