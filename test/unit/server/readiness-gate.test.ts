import { describe, expect, it } from 'vitest';

import { Readiness } from '../../../src/server/health-service.js';
import { ReadinessGate } from '../../../src/server/readiness-gate.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';

function gate() {
  const lines: Record<string, any>[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const readiness = new Readiness();
  return { g: new ReadinessGate(readiness, logger), readiness, lines };
}

describe('ReadinessGate', () => {
  it('is ready only while every condition holds, and says why not once listeners are bound', () => {
    const { g, readiness, lines } = gate();
    g.set('policy', 'no policy set active yet');
    g.set('keys https://i', 'no usable key set');
    // Nothing is logged before open(): start-up is still under way.
    expect(lines).toEqual([]);
    g.open(() => ({ grpcPort: 9191 }));
    expect(readiness.status).toBe('NOT_SERVING');
    expect(lines.at(-1)).toMatchObject({
      msg: 'authzd listening; not ready yet',
      grpcPort: 9191,
      problems: ['no policy set active yet', 'no usable key set'],
    });
    g.set('policy', undefined);
    expect(readiness.status).toBe('NOT_SERVING');
    expect(lines.at(-1)).toMatchObject({ msg: 'authzd not ready', problems: ['no usable key set'] });
    // The same condition failing for another reason changes nothing worth a line.
    const logged = lines.length;
    g.set('keys https://i', 'no usable key set (again)');
    expect(lines).toHaveLength(logged);
    g.set('keys https://i', undefined);
    expect(readiness.status).toBe('SERVING');
    expect(lines.at(-1)).toMatchObject({ msg: 'authzd ready', grpcPort: 9191 });
    expect(g.problems()).toEqual([]);
  });

  it('stays not ready once stopped, whatever the conditions do', () => {
    const { g, readiness } = gate();
    g.open(() => ({}));
    expect(readiness.status).toBe('SERVING');
    g.stop();
    expect(readiness.status).toBe('NOT_SERVING');
    g.set('policy', undefined);
    expect(readiness.status).toBe('NOT_SERVING');
  });
});
