// The load section of docs/BENCHMARKS.md, rendered from one run's results (bench/results/<timestamp>.json).

const MiB = 2 ** 20;
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (v) => (!Number.isFinite(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const pct = (r) => (Number.isFinite(r) ? `${(r * 100).toFixed(0)}%` : 'n/a');
const dec = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const cell = (text) => String(text).replace(/\|/g, '\\|');

/** Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` (markers included) with `section`. */
export function replaceSection(doc, name, section) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < 0 || j < i) throw new Error(`markers ${begin} ... ${end} not found in order`);
  if (doc.indexOf(begin, i + 1) >= 0 || doc.indexOf(end, j + 1) >= 0)
    throw new Error(`markers ${begin} ... ${end} appear more than once`);
  return doc.slice(0, i) + section + doc.slice(j + end.length);
}

const verdict = (t) => (t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**');

function countersCell(run) {
  if (run === undefined || run.skipped !== undefined) return 'n/a';
  if (run.crossCheck?.peer) return 'n/a (peer)';
  const problems = [...(run.crossCheck?.problems ?? []), ...(run.mix?.problems ?? [])];
  return problems.length === 0 ? 'agree' : '**mismatch**';
}

function decisionsCell(byKey, pick) {
  const parts = Object.entries(byKey ?? {})
    .filter(([k]) => pick(k))
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k.split('|')[1]} ${int(n)}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function cachesCell(caches, kind) {
  if (kind === 'null') return 'n/a';
  if (caches === undefined || Object.keys(caches).length === 0) return 'n/a (no cache metrics)';
  const one = (name) => (caches[name] === undefined ? 'n/a' : pct(caches[name].ratio));
  return `${one('token')} / ${one('decision')}`;
}

export function renderLoadSection(results) {
  const { machine, tools, options, pinning, scenarios, activationStall, targets, problems, commands } = results;
  const order = Object.keys(scenarios);
  const nullSat = scenarios.null?.saturation;
  const nullH2 = scenarios.null?.h2load;
  const out = ['<!-- load:begin -->'];
  const when = results.startedAt.replace('T', ' ').slice(0, 16);
  out.push(
    `Measured ${when} UTC with \`${options.command}\` (${options.durationS} s per measured run after a ${options.warmupS} s warm-up; the whole run took ${dec(results.elapsedMinutes, 1)} min) ` +
      `on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}; ` +
      `ghz ${tools.ghz}, h2load ${tools.h2load ?? 'not available'}${tools.opaEnvoy ? `, ${tools.opaEnvoy} built from source` : ''}. ` +
      `Servers pinned to CPU ${pinning.server || 'any'}, load generators to CPU ${pinning.client || 'any'}, all on loopback. ` +
      `Load average when the run started: ${machine.loadAverage.join(' / ')} (1/5/15 min; this machine is shared, so absolute numbers are noisy and the ratios to the null server are the figures to compare). ` +
      `authzd build ${results.build?.fingerprint ?? 'unknown'} (sha256 of dist/*.js, copied at the start so the whole run measures one build); \`--workers\`: ${results.workers.supported ? 'supported' : 'not supported by this build'}.`,
  );

  out.push('', '#### Targets', '', '| target | measured | result |', '| --- | --- | --- |');
  for (const t of targets) out.push(`| ${cell(t.target)} | ${cell(t.measured)} | ${verdict(t)} |`);

  out.push(
    '',
    '#### Throughput and latency (ghz)',
    '',
    `Saturation: ghz with ${options.concurrency} concurrent calls over ${options.connections} connections, as fast as the server answers. ` +
      'Half: a second run on the same server at a constant 50% of that rate (`ghz -r`), where the latency targets apply. ' +
      'Server CPU is user + system time of the server process (and any children) from /proc over the run; peak RSS is VmHWM at the end of the scenario. ' +
      '"Counters" compares ghz\'s count of successful calls and the request mix sent with the server\'s own `authzd_decisions_total` (by decision and reason). ' +
      '"ghz cores" is the load generator\'s own CPU use and "load avg" the machine\'s 1-minute load average when the scenario started: a server using well under its CPUs at saturation was held back by the client or by other work on the machine (flagged below).',
    '',
    '| scenario | calls/s | vs null | p50 ms | p95 ms | p99 ms | p99.9 ms | server cores | server CPU µs/call | ghz cores | peak RSS MiB | half: calls/s | half: p50 ms | half: p99 ms | counters | load avg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const name of order) {
    const s = scenarios[name];
    if (s.error !== undefined || s.skipped !== undefined) {
      const why = s.error !== undefined ? `failed: ${s.error.split('\n')[0]}` : s.skipped;
      out.push(`| ${cell(s.title)} | ${cell(why)} |  |  |  |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const sat = s.saturation;
    const half = s.half;
    const counters = [countersCell(sat), countersCell(half)].includes('**mismatch**')
      ? '**mismatch**'
      : countersCell(sat);
    out.push(
      `| ${cell(s.title)} | ${int(sat.rps)} | ${nullSat ? pct(sat.rps / nullSat.rps) : 'n/a'} | ${ms(sat.latencyMs.p50)} | ${ms(sat.latencyMs.p95)} | ${ms(sat.latencyMs.p99)} | ${ms(sat.latencyMs.p999)} | ` +
        `${dec(sat.server.cores, 2)} | ${int(sat.server.cpuUsPerCall)} | ${dec(sat.clientCores, 2)} | ${int(s.server.peakRssBytes / MiB)} | ${int(half?.rps)} | ${ms(half?.latencyMs.p50)} | ${ms(half?.latencyMs.p99)} | ${counters} | ${dec(s.loadAverage, 1)} |`,
    );
  }

  out.push(
    '',
    '#### Cross-check with h2load',
    '',
    `h2load (${options.h2loadClients} connections x ${options.h2loadStreams} streams, ${options.durationS} s) posts one fixed gRPC-framed CheckRequest per scenario (it cannot vary the body), ` +
      "so it measures one representative call of each mix. It judges calls by HTTP status only (a failed gRPC call inside HTTP 200 counts as success), which is why every h2load run is checked against the server's counter.",
    '',
    '| scenario | request sent | h2load calls/s | vs null (h2load) | ghz calls/s | p50 ms | p99 ms | server CPU µs/call | server answered / h2load succeeded | counters |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const name of order) {
    const s = scenarios[name];
    if (s.saturation === undefined) continue;
    const h = s.h2load;
    if (h === undefined || h.skipped !== undefined) {
      out.push(`| ${cell(s.title)} | ${cell(h?.skipped ?? 'not run')} |  |  |  |  |  |  |  |  |`);
      continue;
    }
    out.push(
      `| ${cell(s.title)} | ${cell(h.request)} | ${int(h.rps)} | ${nullH2 && nullH2.skipped === undefined ? pct(h.rps / nullH2.rps) : 'n/a'} | ${int(s.saturation.rps)} | ${ms(h.latencyMs.p50)} | ${ms(h.latencyMs.p99)} | ${int(h.server.cpuUsPerCall)} | ` +
        `${h.crossCheck.peer ? 'n/a' : `${int(h.crossCheck.serverAnswered)} / ${int(h.crossCheck.clientOk)}`} | ${countersCell(h)} |`,
    );
  }

  out.push(
    '',
    '#### Decisions the server counted (saturation run)',
    '',
    '| scenario | allow | deny (by reason) | gRPC errors | cache hits: token / decision | answers in isolation (preflight) |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const name of order) {
    const s = scenarios[name];
    if (s.saturation === undefined) continue;
    const byKey = s.saturation.server.byKey;
    const pre = s.preflight;
    if (s.server.kind === 'opa') {
      out.push(
        `| ${cell(s.title)} | n/a: the peer counts no decisions; ghz's calls are its calls |  |  |  | ${pre === undefined ? 'n/a' : `${int(pre.messages)} messages, ${pre.designMismatches > 0 ? `**${int(pre.designMismatches)} answered unlike authzd**` : "each allowed or denied as authzd's design says"}`} |`,
      );
      continue;
    }
    const preText =
      pre === undefined
        ? 'n/a'
        : `${int(pre.messages)} messages${pre.designMismatches > 0 ? `, **${int(pre.designMismatches)} differ from the design**` : ', all as designed'}`;
    out.push(
      `| ${cell(s.title)} | ${decisionsCell(byKey, (k) => k.startsWith('allow|'))} | ${decisionsCell(byKey, (k) => k.startsWith('deny|'))} | ${decisionsCell(byKey, (k) => k.startsWith('error|'))} | ${cachesCell(s.saturation.server.caches, s.server.kind)} | ${preText} |`,
    );
  }

  out.push(
    '',
    '#### Server start-up',
    '',
    '| scenario | policies | entities | activation at start (log `ms`) | ready after |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const name of order) {
    const s = scenarios[name];
    if (s.saturation === undefined || s.server.kind !== 'authzd') continue;
    out.push(
      `| ${cell(s.title)} | ${int(s.server.policies)} | ${int(s.server.entities)} | ${ms(s.server.activationMs)} ms | ${dec(s.server.startupMs / 1000, 1)} s |`,
    );
  }

  out.push('', '#### Policy activation under load');
  if (activationStall === undefined) out.push('', 'Not run.');
  else if (activationStall.error !== undefined) out.push('', `Failed: ${activationStall.error}`);
  else {
    const st = activationStall.steady;
    out.push(
      '',
      `authzd on a generated set of ${int(activationStall.policies)} policies and ${int(activationStall.entities)} entities under a constant ${int(activationStall.rate)} calls/s (ghz -r); ` +
        `${activationStall.activations.length} times a policy file was changed and authzd got SIGHUP (it re-reads the directory and activates the new version), each followed by ${activationStall.steadyS} s of undisturbed load. ` +
        'Client stall: the slowest call overlapping the activation minus the steady-state median; server: the largest `nodejs_eventloop_lag_max_seconds` scraped every 250 ms across the activation; log: the `ms` of the "policy set activated" line (compile and swap time, a stall only while it runs on the event loop).',
      '',
      '| activation | log `ms` | event-loop lag max (server) | slowest call during it | client stall | stall |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    activationStall.activations.forEach((a, i) => {
      out.push(
        `| ${i + 1} | ${ms(a.logMs)} ms | ${ms(a.serverLagMaxMs)} ms | ${ms(a.clientMaxMs)} ms | ${ms(a.clientStallMs)} ms | ${ms(a.stallMs)} ms |`,
      );
    });
    out.push(
      '',
      `Steady state between activations: p50 ${ms(st.latencyMs.p50)} ms, p99 ${ms(st.latencyMs.p99)} ms, max ${ms(st.latencyMs.max)} ms over ${int(st.calls)} calls; event-loop lag max ${ms(st.lagMaxMs)} ms. ` +
        `Counters: ${activationStall.crossCheck === undefined ? 'n/a' : activationStall.crossCheck.ok ? `agree (${int(activationStall.crossCheck.serverAnswered)} answered / ${int(activationStall.crossCheck.clientOk)} ghz calls)` : '**mismatch** (below)'}. ` +
        `**Worst stall: ${ms(activationStall.worstStallMs)} ms** (target < 20 ms).`,
    );
  }

  out.push('', '#### Problems and warnings', '');
  if (problems.length === 0)
    out.push(
      "None: every ghz and h2load run agreed with the server's own counters and the request mix, and every server was saturated.",
    );
  else for (const p of problems) out.push(`- ${p}`);

  out.push(
    '',
    '#### Commands',
    '',
    "As run for the warm scenario (`$WORK` is the run's temporary directory, ports are picked per server):",
    '',
    '```sh',
  );
  for (const c of commands) out.push(c);
  out.push('```', '<!-- load:end -->');
  return out.join('\n');
}
