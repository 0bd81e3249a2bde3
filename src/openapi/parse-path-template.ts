// An OpenAPI path template read the way authzd's router reads routes.yaml paths: literal segments and
// parameters that fill a whole segment (docs/policy-model.md, Matching). Whatever the router cannot
// express is refused here with the reason in words; checkRouteTemplate then confirms each accepted
// template with the router and the path normaliser themselves.

export type TemplateSegment = { readonly literal: string } | { readonly param: string; readonly original: string };

export type TemplateResult =
  | {
      readonly ok: true;
      readonly segments: readonly TemplateSegment[];
      /** The template as routes.yaml writes it. */
      readonly path: string;
      /** Parameter names as the document writes them -> as routes.yaml writes them (they differ when the
       *  document's name is not an identifier: `{pet-id}` becomes `{pet_id}`). */
      readonly renames: ReadonlyMap<string, string>;
    }
  | { readonly ok: false; readonly reason: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 6570 operators and the explode modifier: `{+path}` or `{path*}` would span several segments.
const EXPANSION = /^[+#./;?&=,!@|]|\*$/;
// Characters the normaliser refuses in a decoded segment (controls, DEL, C1, backslash).
const NEVER_IN_A_SEGMENT = /[\u0000-\u001f\u007f-\u009f\\]/;

export function parsePathTemplate(path: string): TemplateResult {
  if (!path.startsWith('/')) return { ok: false, reason: 'the path does not begin with "/"' };
  if (/[?#]/.test(path))
    return { ok: false, reason: 'the path has a query or fragment; authzd matches the path without them' };
  const raw = path.slice(1).split('/');
  const segments: TemplateSegment[] = [];
  const renames = new Map<string, string>();
  const used = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i]!;
    if (segment.includes('{') || segment.includes('}')) {
      const m = /^\{([^{}]*)\}$/.exec(segment);
      if (m === null)
        return {
          ok: false,
          reason: `segment "${segment}" mixes a parameter with other text; authzd's parameters fill a whole segment`,
        };
      const original = m[1]!;
      if (original === '') return { ok: false, reason: 'a parameter has no name ("{}")' };
      if (EXPANSION.test(original))
        return {
          ok: false,
          reason: `parameter {${original}} is an RFC 6570 expansion that spans segments; authzd's parameters match one segment`,
        };
      if (renames.has(original)) return { ok: false, reason: `parameter {${original}} appears twice` };
      const name = uniqueName(IDENTIFIER.test(original) ? original : toIdentifier(original), used);
      used.add(name);
      renames.set(original, name);
      segments.push({ param: name, original });
      continue;
    }
    if (segment === '' && i !== raw.length - 1)
      return {
        ok: false,
        reason: 'the path has an empty segment ("//"); authzd refuses such requests as path_invalid',
      };
    let literal = segment;
    if (segment.includes('%')) {
      try {
        literal = decodeURIComponent(segment);
      } catch {
        return { ok: false, reason: `segment "${segment}" has an invalid percent-encoding` };
      }
      if (literal.includes('/'))
        return {
          ok: false,
          reason: `segment "${segment}" encodes a slash; authzd refuses encoded slashes as path_invalid`,
        };
      if (literal.includes('{') || literal.includes('}'))
        return {
          ok: false,
          reason: `segment "${segment}" encodes a brace, which routes.yaml cannot write as a literal`,
        };
    }
    if (literal === '.' || literal === '..')
      return {
        ok: false,
        reason: `the path has a dot segment ("${segment}"); authzd refuses such requests as path_invalid`,
      };
    if (NEVER_IN_A_SEGMENT.test(literal))
      return {
        ok: false,
        reason: `segment ${JSON.stringify(segment)} has a control character or backslash; authzd refuses such requests as path_invalid`,
      };
    segments.push({ literal });
  }
  return { ok: true, segments, path: templatePath(segments), renames };
}

export function templatePath(segments: readonly TemplateSegment[]): string {
  return `/${segments.map((s) => ('literal' in s ? s.literal : `{${s.param}}`)).join('/')}`;
}

function toIdentifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function uniqueName(name: string, used: ReadonlySet<string>): string {
  if (!used.has(name)) return name;
  for (let n = 2; ; n++) if (!used.has(`${name}_${n}`)) return `${name}_${n}`;
}
