// DSN parsing and the DSN as it may be logged: every part understood, a password never shown.
import { describe, expect, it } from 'vitest';

import {
  describePostgres,
  parsePostgresDsn,
  pgClientConfig,
} from '../../../../../src/control-plane/store/postgres/postgres-settings.js';

describe('parsePostgresDsn', () => {
  it('reads user, password, host, port, database, sslmode and a socket directory', () => {
    expect(parsePostgresDsn('postgres://a%40b:p%2Fw@db.example:6432/my%20db?sslmode=require')).toEqual({
      ok: true,
      value: { user: 'a@b', password: 'p/w', host: 'db.example', port: 6432, database: 'my db', sslmode: 'require' },
    });
    expect(parsePostgresDsn('postgresql://cp@[::1]/authzd')).toEqual({
      ok: true,
      value: { user: 'cp', host: '::1', port: 5432, database: 'authzd' },
    });
    expect(parsePostgresDsn('postgres://cp@localhost/authzd?host=/run/postgresql')).toMatchObject({
      ok: true,
      value: { host: '/run/postgresql' },
    });
  });

  it('refuses what it does not understand, without quoting the DSN', () => {
    const cases: [string, RegExp][] = [
      ['db:5432', /not a URL|scheme/],
      ['http://u:secret-pw@h/d', /scheme http: is not postgres/],
      ['postgres://u:secret-pw@h/', /no database name/],
      ['postgres://:secret-pw@h/d', /no user name/],
      ['postgres://u:secret-pw@h/d?sslmode=prefer', /sslmode=prefer: expected disable, require or verify-full/],
      ['postgres://u:secret-pw@h/d?application_name=x', /parameter application_name: not supported/],
    ];
    for (const [dsn, problem] of cases) {
      const parsed = parsePostgresDsn(dsn);
      expect(parsed.ok, dsn).toBe(false);
      if (!parsed.ok) {
        expect(parsed.problem, dsn).toMatch(problem);
        expect(parsed.problem, dsn).not.toContain('secret-pw');
      }
    }
  });
});

describe('describePostgres and pgClientConfig', () => {
  const settings = {
    host: 'db',
    port: 5432,
    database: 'authzd',
    user: 'cp',
    password: 'secret-pw',
    poolSize: 4,
    tls: { mode: 'verify-full' as const, ca: 'CA' },
  };

  it('describes the database without its password', () => {
    expect(describePostgres(settings)).toBe('postgres://cp@db:5432/authzd');
    expect(describePostgres({ ...settings, host: '/run/postgresql' })).toBe(
      'postgres://cp@[/run/postgresql]:5432/authzd',
    );
  });

  it('verifies the server only with verify-full, and never waits forever to connect', () => {
    expect(pgClientConfig(settings, 'x')).toMatchObject({ ssl: { rejectUnauthorized: true, ca: 'CA' } });
    expect(pgClientConfig({ ...settings, tls: { mode: 'require' } }, 'x')).toMatchObject({
      ssl: { rejectUnauthorized: false },
    });
    expect(pgClientConfig({ ...settings, tls: { mode: 'disable' } }, 'x').ssl).toBe(false);
    expect(pgClientConfig(settings, 'x').connectionTimeoutMillis).toBeGreaterThan(0);
  });
});
