// Generated policy sets for differential tests: a schema over two or three namespaces (action groups that
// cross namespaces, a same-named action in a namespace sorting after the routes' one, entity-typed
// attributes chained 1-3 hops deep, records and sets of entities, tags), or no schema with the action groups
// taken from entities; a store of users, roles, teams and documents referring to each other (and to
// entities that do not exist); policies built from `in`, `has`, `==`, `is`, `like`, `contains`,
// `containsAny`, `isEmpty`, `if`, tags, entity literals and attribute chains; and requests against them.
// With a schema the policies are written to pass strict validation (optional attributes tested first);
// without one, guards are dropped now and then so that evaluation errors are exercised too.
import fc from 'fast-check';

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4'];
const GHOST_USER = 'ghost';
const ROLES = ['r0', 'r1', 'r2', 'r3'];
const TEAMS = ['t0', 't1', 't2', 't3'];
const DOCS = ['d0', 'd1', 'd2', 'd3'];
const GHOST_DOC = 'd9';
const TAGS = ['k0', 'k1'];
const DEPTS = ['eng', 'ops', 'e*x', 'o\\ps'];
const SCOPES = ['s1', 's2'];

export interface RequestPlan {
  readonly claims: { sub: string; roles: string[]; level?: number; dept?: string; scope: string };
  readonly method: 'GET' | 'POST';
  readonly doc: string;
}

export interface Universe {
  readonly withSchema: boolean;
  readonly onError: 'deny' | 'ignore';
  readonly files: Map<string, string>;
  readonly requests: readonly RequestPlan[];
}

interface Shape {
  readonly withSchema: boolean;
  /** Groups `App::Action::"read"` is in (entity keys written as Cedar uids). */
  readonly readGroups: readonly string[];
  readonly writeGroups: readonly string[];
  /** `namespace Zed { action read; }`: an action of the same name, sorting after App, with no groups. */
  readonly zedRead: boolean;
}

const uid = (type: string, id: string) => `${type}::${JSON.stringify(id)}`;
const ref = (type: string, id: string) => ({ __entity: { type, id } });
const GROUPS = [uid('Org::Action', 'reads'), uid('App::Action', 'all')];

function schemaText(shape: Shape): string {
  const groups = (g: readonly string[]) => (g.length > 0 ? ` in [${g.join(', ')}]` : '');
  return `namespace Org {
  entity Team in [Team] = { name: String, lead?: App::User };
  action reads;
}
${shape.zedRead ? 'namespace Zed {\n  action read;\n}\n' : ''}namespace App {
  type RequestFacts = { method: String, path: String, host: String, scheme: String, routeId: String, time: Long, sourceIp?: ipaddr };
  type TokenFacts = { iss: String, sub: String, exp: Long, scope: Set<String>, amr: Set<String>, acr?: String, authTime?: Long, iat?: Long, tenant?: String, clientId?: String };
  type HttpContext = { request: RequestFacts, token?: TokenFacts };
  entity Role in [Role];
  entity User in [Role, Org::Team] = { level: Long, dept?: String, manager?: User, team?: Org::Team };
  entity Doc in [Org::Team] = { owner: User, info: { owner: User, label: String }, readers: Set<User>, team?: Org::Team, closedAt?: Long } tags String;
  action all;
  action read${groups(shape.readGroups)} appliesTo { principal: User, resource: Doc, context: HttpContext };
  action write${groups(shape.writeGroups)} appliesTo { principal: User, resource: Doc, context: HttpContext };
}
`;
}

const ROUTES = `namespace: App
principal:
  type: User
  idClaim: sub
  rolesClaim: roles
  roleType: Role
  attributes:
    level: level
    dept: dept
riskClasses:
  low:
    cacheTtlSeconds: 30
routes:
  - id: read-doc
    method: GET
    path: /docs/{id}
    action: read
    resource: { type: Doc, id: "{id}" }
    risk: low
  - id: write-doc
    method: POST
    path: /docs/{id}
    action: write
    resource: { type: Doc, id: "{id}" }
    risk: low
`;

// ---- the store

const subset = <T>(items: readonly T[]) => fc.subarray([...items]);
const userRef = fc.constantFrom(...USERS, GHOST_USER).map((id) => ref('App::User', id));
const teamRef = fc.constantFrom(...TEAMS).map((id) => ref('Org::Team', id));
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const storeArb = fc
  .record({
    roleParents: fc.tuple(...ROLES.map((_, i) => subset(ROLES.slice(0, i)))),
    teamParents: fc.tuple(...TEAMS.map((_, i) => subset(TEAMS.slice(0, i)))),
    teamLeads: fc.tuple(...TEAMS.map(() => optional(userRef))),
    users: fc.tuple(
      ...USERS.map(() =>
        fc.record({
          level: fc.integer({ min: 0, max: 5 }),
          dept: optional(fc.constantFrom(...DEPTS)),
          manager: optional(userRef),
          team: optional(teamRef),
          roles: subset(ROLES),
          teams: subset(TEAMS),
        }),
      ),
    ),
    docs: fc.tuple(
      ...DOCS.map(() =>
        fc.record({
          owner: userRef,
          infoOwner: userRef,
          label: fc.constantFrom('plain', 'secret', 'se*t'),
          readers: fc
            .uniqueArray(fc.constantFrom(...USERS, GHOST_USER), { maxLength: 3 })
            .map((ids) => ids.map((id) => ref('App::User', id))),
          team: optional(teamRef),
          closedAt: optional(fc.integer({ min: 0, max: 10 })),
          teams: subset(TEAMS),
          tags: fc.record({ k0: optional(fc.constantFrom('v', 'w')), k1: optional(fc.constantFrom('v', 'w')) }),
        }),
      ),
    ),
  })
  .map((s) => {
    const entities: unknown[] = [];
    ROLES.forEach((id, i) =>
      entities.push({
        uid: { type: 'App::Role', id },
        attrs: {},
        parents: s.roleParents[i].map((p) => ({ type: 'App::Role', id: p })),
      }),
    );
    TEAMS.forEach((id, i) => {
      const lead = s.teamLeads[i];
      entities.push({
        uid: { type: 'Org::Team', id },
        attrs: { name: id, ...(lead !== undefined ? { lead } : {}) },
        parents: s.teamParents[i].map((p) => ({ type: 'Org::Team', id: p })),
      });
    });
    USERS.forEach((id, i) => {
      const u = s.users[i];
      const attrs: Record<string, unknown> = { level: u.level };
      if (u.dept !== undefined) attrs.dept = u.dept;
      if (u.manager !== undefined) attrs.manager = u.manager;
      if (u.team !== undefined) attrs.team = u.team;
      entities.push({
        uid: { type: 'App::User', id },
        attrs,
        parents: [
          ...u.roles.map((r) => ({ type: 'App::Role', id: r })),
          ...u.teams.map((t) => ({ type: 'Org::Team', id: t })),
        ],
      });
    });
    DOCS.forEach((id, i) => {
      const d = s.docs[i];
      const attrs: Record<string, unknown> = {
        owner: d.owner,
        info: { owner: d.infoOwner, label: d.label },
        readers: d.readers,
      };
      if (d.team !== undefined) attrs.team = d.team;
      if (d.closedAt !== undefined) attrs.closedAt = d.closedAt;
      const tags = Object.fromEntries(Object.entries(d.tags).filter(([, v]) => v !== undefined));
      entities.push({
        uid: { type: 'App::Doc', id },
        attrs,
        parents: d.teams.map((t) => ({ type: 'Org::Team', id: t })),
        tags,
      });
    });
    return entities;
  });

// ---- policies: expressions carry the `has` tests that make them safe under strict validation

interface Expr {
  readonly text: string;
  /** Presence tests that must hold before `text` may be evaluated without an error, shallowest first. */
  readonly guards: readonly string[];
}

const plain = (text: string): Expr => ({ text, guards: [] });
const chain = (base: Expr, attr: string, optionalAttr: boolean): Expr => ({
  text: `${base.text}.${attr}`,
  guards: optionalAttr ? [...base.guards, `${base.text} has ${attr}`] : base.guards,
});

const { user, team } = fc.letrec<{ user: Expr; team: Expr }>((tie) => ({
  user: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: fc.constant(plain('principal')) },
    { weight: 2, arbitrary: fc.constantFrom(plain('resource.owner'), plain('resource.info.owner')) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...USERS, GHOST_USER).map((id) => plain(`App::User::${JSON.stringify(id)}`)),
    },
    { weight: 2, arbitrary: (tie('user') as fc.Arbitrary<Expr>).map((u) => chain(u, 'manager', true)) },
    { weight: 1, arbitrary: (tie('team') as fc.Arbitrary<Expr>).map((t) => chain(t, 'lead', true)) },
  ),
  team: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 2, arbitrary: fc.constantFrom(...TEAMS).map((id) => plain(`Org::Team::${JSON.stringify(id)}`)) },
    { weight: 2, arbitrary: fc.constant(chain(plain('resource'), 'team', true)) },
    { weight: 2, arbitrary: (tie('user') as fc.Arbitrary<Expr>).map((u) => chain(u, 'team', true)) },
  ),
}));

// Attribute chains deeper than three hops say nothing new and make strict validation slow.
const depth = (e: Expr) => e.text.split('.').length - 1;
const userShallow = user.filter((u) => depth(u) <= 3);
const teamShallow = team.filter((t) => depth(t) <= 3);
const roleLiteral = fc.constantFrom(...ROLES).map((id) => `App::Role::${JSON.stringify(id)}`);
const teamLiteral = fc.constantFrom(...TEAMS).map((id) => `Org::Team::${JSON.stringify(id)}`);
const pattern = fc.constantFrom('e*', '*s', 'o\\\\ps', 'e\\*x', '*', 'se\\*t', 'plain');

const atom: fc.Arbitrary<Expr> = fc.oneof(
  fc
    .tuple(
      userShallow,
      fc.oneof(
        roleLiteral,
        teamLiteral,
        fc.tuple(roleLiteral, teamLiteral).map(([r, t]) => `[${r}, ${t}]`),
      ),
    )
    .map(([u, g]) => ({ text: `${u.text} in ${g}`, guards: u.guards })),
  fc
    .tuple(userShallow, teamShallow)
    .map(([u, t]) => ({ text: `${u.text} in ${t.text}`, guards: [...u.guards, ...t.guards] })),
  fc.tuple(teamShallow, teamLiteral).map(([t, g]) => ({ text: `${t.text} in ${g}`, guards: t.guards })),
  fc
    .tuple(userShallow, userShallow)
    .map(([a, b]) => ({ text: `${a.text} == ${b.text}`, guards: [...a.guards, ...b.guards] })),
  fc
    .tuple(userShallow, fc.constantFrom('dept', 'manager', 'team'))
    .map(([u, a]) => ({ text: `${u.text} has ${a}`, guards: u.guards })),
  fc.constantFrom(plain('resource has closedAt'), plain('resource has team')),
  fc
    .tuple(userShallow, pattern)
    .map(([u, p]) => ({ text: `${u.text}.dept like "${p}"`, guards: [...u.guards, `${u.text} has dept`] })),
  fc.tuple(teamShallow, pattern).map(([t, p]) => ({ text: `${t.text}.name like "${p}"`, guards: t.guards })),
  pattern.map((p) => plain(`resource.info.label like "${p}"`)),
  fc
    .tuple(userShallow, fc.integer({ min: 0, max: 5 }), fc.constantFrom('>', '<=', '=='))
    .map(([u, n, op]) => ({ text: `${u.text}.level ${op} ${n}`, guards: u.guards })),
  fc.integer({ min: 0, max: 10 }).map((n) => ({ text: `resource.closedAt < ${n}`, guards: ['resource has closedAt'] })),
  userShallow.map((u) => ({ text: `resource.readers.contains(${u.text})`, guards: u.guards })),
  fc.tuple(userShallow, userShallow).map(([a, b]) => ({
    text: `resource.readers.containsAny([${a.text}, ${b.text}])`,
    guards: [...a.guards, ...b.guards],
  })),
  fc.constant(plain('resource.readers.isEmpty()')),
  userShallow.map((u) => ({ text: `${u.text} is App::User`, guards: u.guards })),
  fc.constantFrom(...TAGS).map((k) => plain(`resource.hasTag("${k}")`)),
  fc
    .tuple(fc.constantFrom(...TAGS), fc.constantFrom('v', 'w'))
    .map(([k, v]) => ({ text: `resource.getTag("${k}") == "${v}"`, guards: [`resource.hasTag("${k}")`] })),
  fc
    .constantFrom(...SCOPES)
    .map((s) => ({ text: `context.token.scope.contains("${s}")`, guards: ['context has token'] })),
);

/** `keepGuards` false: some guards go missing, and evaluation may error (only without a schema). */
const closed = (e: Expr, keepGuards: readonly boolean[]): string => {
  const guards = e.guards.filter((_, i) => keepGuards[i % keepGuards.length] !== false);
  return guards.length === 0 ? e.text : `(${[...guards, e.text].join(' && ')})`;
};

const condition = (withSchema: boolean): fc.Arbitrary<string> => {
  const guarded = fc
    .tuple(atom, withSchema ? fc.constant([true]) : fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }))
    .map(([e, keep]) => closed(e, keep));
  return fc.letrec<{ bool: string }>((tie) => ({
    bool: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 6, arbitrary: guarded },
      { weight: 1, arbitrary: (tie('bool') as fc.Arbitrary<string>).map((b) => `!(${b})`) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(tie('bool') as fc.Arbitrary<string>, tie('bool') as fc.Arbitrary<string>)
          .map(([a, b]) => `(${a} && ${b})`),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(tie('bool') as fc.Arbitrary<string>, tie('bool') as fc.Arbitrary<string>)
          .map(([a, b]) => `(${a} || ${b})`),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            tie('bool') as fc.Arbitrary<string>,
            tie('bool') as fc.Arbitrary<string>,
            tie('bool') as fc.Arbitrary<string>,
          )
          .map(([a, b, c]) => `(if ${a} then ${b} else ${c})`),
      },
    ),
  })).bool;
};

const principalScope = fc.oneof(
  { weight: 4, arbitrary: fc.constant('principal') },
  { weight: 1, arbitrary: fc.constantFrom(...USERS).map((id) => `principal == App::User::${JSON.stringify(id)}`) },
  { weight: 2, arbitrary: roleLiteral.map((r) => `principal in ${r}`) },
  { weight: 1, arbitrary: teamLiteral.map((t) => `principal in ${t}`) },
  { weight: 1, arbitrary: fc.constant('principal is App::User') },
  { weight: 1, arbitrary: roleLiteral.map((r) => `principal is App::User in ${r}`) },
);
const actionScope = (shape: Shape) =>
  fc.constantFrom(
    'action',
    'action == App::Action::"read"',
    'action == App::Action::"write"',
    'action in [App::Action::"read", App::Action::"write"]',
    'action in Org::Action::"reads"',
    'action in App::Action::"all"',
    'action in [Org::Action::"reads", App::Action::"all"]',
    ...(shape.zedRead || !shape.withSchema ? ['action == Zed::Action::"read"', 'action in [Zed::Action::"read"]'] : []),
  );
const resourceScope = fc.oneof(
  { weight: 4, arbitrary: fc.constant('resource') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...DOCS, GHOST_DOC).map((id) => `resource == App::Doc::${JSON.stringify(id)}`),
  },
  { weight: 1, arbitrary: teamLiteral.map((t) => `resource in ${t}`) },
  { weight: 1, arbitrary: fc.constant('resource is App::Doc') },
  { weight: 1, arbitrary: teamLiteral.map((t) => `resource is App::Doc in ${t}`) },
);

const policies = (shape: Shape) =>
  fc
    .array(
      fc.record({
        effect: fc.constantFrom('permit', 'permit', 'permit', 'forbid'),
        principal: principalScope,
        action: actionScope(shape),
        resource: resourceScope,
        clauses: fc.array(fc.tuple(fc.constantFrom('when', 'when', 'unless'), condition(shape.withSchema)), {
          minLength: 0,
          maxLength: 2,
        }),
      }),
      { minLength: 1, maxLength: 8 },
    )
    .map((list) =>
      list
        .map(
          (p, i) =>
            `@id("p${i}")\n${p.effect} (${p.principal}, ${p.action}, ${p.resource})${p.clauses.map(([k, c]) => `\n${k} { ${c} }`).join('')};\n`,
        )
        .join('\n'),
    );

// ---- requests

const request: fc.Arbitrary<RequestPlan> = fc.record({
  claims: fc.record({
    sub: fc.constantFrom(...USERS, GHOST_USER),
    roles: subset(ROLES),
    level: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 5 }),
    dept: optional(fc.constantFrom(...DEPTS)),
    scope: subset(SCOPES).map((s) => s.join(' ')),
  }),
  method: fc.constantFrom('GET', 'POST'),
  doc: fc.constantFrom(...DOCS, ...DOCS, GHOST_DOC),
});

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  withSchema: fc.boolean(),
  readGroups: subset(GROUPS),
  writeGroups: subset([uid('App::Action', 'all')]),
  zedRead: fc.boolean(),
});

export const universeArb: fc.Arbitrary<Universe> = shapeArb.chain((shape) =>
  fc
    .record({
      store: storeArb,
      policies: policies(shape),
      requests: fc.array(request, { minLength: 1, maxLength: 6 }),
      onError: fc.constantFrom<'deny' | 'ignore'>('deny', 'ignore'),
    })
    .map(({ store, policies: text, requests, onError }) => {
      const files = new Map<string, string>([
        ['routes.yaml', ROUTES],
        ['policies.cedar', text],
      ]);
      let entities = store;
      if (shape.withSchema) files.set('schema.cedarschema', schemaText(shape));
      else {
        // Without a schema Cedar takes actions and their groups from the data.
        const action = (type: string, id: string, parents: readonly string[]) => ({
          uid: { type, id },
          attrs: {},
          parents: parents.map((p) => {
            const [, t, i] = /^(.*)::("(?:[^"\\]|\\.)*")$/.exec(p)!;
            return { type: t, id: JSON.parse(i) as string };
          }),
        });
        entities = [
          ...store,
          action('App::Action', 'read', shape.readGroups),
          action('App::Action', 'write', shape.writeGroups),
          action('App::Action', 'all', []),
          action('Org::Action', 'reads', []),
          ...(shape.zedRead ? [action('Zed::Action', 'read', [])] : []),
        ];
      }
      files.set('entities.json', JSON.stringify(entities, null, 1));
      return { withSchema: shape.withSchema, onError, files, requests };
    }),
);
