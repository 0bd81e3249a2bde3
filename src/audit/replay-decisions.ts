import { decideAuthorization } from '../decide/decide-authorization.js';
import { stepUpFor } from '../decide/step-up.js';
import type { DecisionEngine, PreparedSet } from '../engine/decision-engine.js';
import { type DecisionEvent, parseDecisionEvent } from './decision-event.js';

/** One line of a log, with where it came from (for messages about malformed lines). */
export interface LogLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

export type ChangeKind = 'allow_to_deny' | 'deny_to_allow' | 'reason_changed';

export interface ReplayOutcomes {
  unchanged: number;
  allow_to_deny: number;
  deny_to_allow: number;
  reason_changed: number;
}

export interface DecisionSummary {
  readonly decision: string;
  readonly reason: string;
  readonly policies: readonly string[];
}

export interface ChangeGroup {
  readonly kind: ChangeKind;
  readonly route: string;
  /** The events' identifiers were hashed: the new answer may differ only because entity lookups failed. */
  readonly approximate: boolean;
  readonly before: DecisionSummary;
  readonly after: DecisionSummary;
  count: number;
  /** The first few decision ids, to find the events in the log. */
  readonly examples: string[];
}

export interface ReplayReport {
  /** Version of the policy set replayed against. */
  readonly policyVersion: string;
  /** Decision events read (after --limit). */
  events: number;
  /** Replayed events with plain identifiers: the exact answer of the new set. */
  readonly exact: ReplayOutcomes;
  /** Replayed events whose identifiers were hashed (audit.hashIdentifiers): approximate, counted apart. */
  readonly approximate: ReplayOutcomes;
  readonly notReplayable: {
    /** Engine decisions logged without `input` (audit.includeInputs off, or an older sidecar). */
    noInput: number;
    /**
     * Decided without evaluating policies: malformed requests, token failures, unknown routes, rate limits,
     * a remote tier that was down and failed closed. Policies played no part, so a replay has nothing to redo.
     */
    outsideEngine: number;
    /** Answered with a gRPC error: there is no decision to compare. */
    errors: number;
    /** The replay itself failed for the event (the engine threw). */
    failed: number;
  };
  readonly lines: { read: number; notDecision: number; malformed: number };
  /** Where the first malformed lines are and what is wrong with them. */
  readonly malformedExamples: string[];
  /** Changes grouped by kind, route, identifier fidelity, before and after; most frequent first. */
  readonly changes: ChangeGroup[];
  /** Reading stopped at --limit. */
  limited: boolean;
}

export interface ReplayOptions {
  readonly engine: DecisionEngine;
  readonly set: PreparedSet;
  /** Stop after this many decision events. */
  readonly limit?: number;
  /** Decision ids kept per change group. */
  readonly examplesPerGroup?: number;
}

/** Sources whose answer is a policy evaluation: by the engine, reused from the cache, or by the remote tier's engine. */
const ENGINE_SOURCES = new Set(['engine', 'cache', 'remote', 'fallback']);
/** Answers from those sources that are not an evaluation (the remote tier was down and failed closed). */
const NOT_EVALUATED = new Set(['remote_unavailable']);
const KIND_ORDER: readonly ChangeKind[] = ['allow_to_deny', 'deny_to_allow', 'reason_changed'];
const MAX_MALFORMED_EXAMPLES = 5;

/**
 * Re-evaluates logged decisions against another policy set and reports what would change (docs/audit.md).
 * Every event with an `input` is decided as POST /v1/authorize decides: the replayed set's entity store is
 * the truth about the principal (its stored attributes win, its stored parents join the logged ones), and
 * the slice comes from that store. Lines that are not decision events are counted and skipped; so are
 * events policies did not decide (request, token, route and rate-limit denies): there is nothing to redo.
 */
export async function replayDecisions(lines: AsyncIterable<LogLine>, options: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = {
    policyVersion: options.set.model.version,
    events: 0,
    exact: outcomes(),
    approximate: outcomes(),
    notReplayable: { noInput: 0, outsideEngine: 0, errors: 0, failed: 0 },
    lines: { read: 0, notDecision: 0, malformed: 0 },
    malformedExamples: [],
    changes: [],
    limited: false,
  };
  const groups = new Map<string, ChangeGroup>();
  const examples = options.examplesPerGroup ?? 3;

  for await (const { file, line, text } of lines) {
    if (options.limit !== undefined && report.events >= options.limit) {
      report.limited = true;
      break;
    }
    report.lines.read++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Another log's text line, or a line cut short by a full disk.
      report.lines.notDecision++;
      continue;
    }
    const parsed = parseDecisionEvent(value);
    if (!parsed.ok) {
      if (!parsed.decision) {
        report.lines.notDecision++;
      } else {
        report.lines.malformed++;
        if (report.malformedExamples.length < MAX_MALFORMED_EXAMPLES)
          report.malformedExamples.push(`${file}:${line}: ${parsed.detail}`);
      }
      continue;
    }
    report.events++;
    const event = parsed.event;
    if (event.decision === 'error') {
      report.notReplayable.errors++;
      continue;
    }
    // Rate-limited events carry an input (the request was built) that was never evaluated.
    if (event.source === undefined || !ENGINE_SOURCES.has(event.source) || NOT_EVALUATED.has(event.reason)) {
      report.notReplayable.outsideEngine++;
      continue;
    }
    if (event.input === undefined) {
      report.notReplayable.noInput++;
      continue;
    }
    let after: DecisionSummary;
    try {
      const { answer } = decideAuthorization(options.engine, options.set, event.input, event.decision_id);
      // As the sidecar answers: a deny only step-up forbids determined asks for a stronger login instead.
      const stepUp = stepUpFor(
        { allowed: answer.decision === 'allow', reason: answer.reason, policies: answer.policies },
        options.set.model,
      );
      after = {
        decision: answer.decision,
        reason: stepUp !== undefined ? 'step_up_required' : answer.reason,
        policies: answer.policies,
      };
    } catch {
      report.notReplayable.failed++;
      continue;
    }
    const kind = changeKind(event, after);
    const tally = event.hashed ? report.approximate : report.exact;
    if (kind === undefined) {
      tally.unchanged++;
      continue;
    }
    tally[kind]++;
    const before: DecisionSummary = { decision: event.decision, reason: event.reason, policies: event.policies };
    const route = event.route ?? '';
    const key = JSON.stringify([
      kind,
      route,
      event.hashed,
      before.decision,
      before.reason,
      sorted(before.policies),
      after.decision,
      after.reason,
      sorted(after.policies),
    ]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { kind, route, approximate: event.hashed, before, after, count: 0, examples: [] };
      groups.set(key, group);
    }
    group.count++;
    if (group.examples.length < examples) group.examples.push(event.decision_id);
  }
  const order = (g: ChangeGroup) => JSON.stringify([g.route, g.before, g.after]);
  report.changes.push(
    ...[...groups.values()].sort(
      (a, b) =>
        Number(a.approximate) - Number(b.approximate) ||
        b.count - a.count ||
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
        order(a).localeCompare(order(b)),
    ),
  );
  return report;
}

/** Exact changes: what `--fail-on-change` gates on (approximate ones may be artefacts of hashing). */
export function exactChanges(report: ReplayReport): number {
  const e = report.exact;
  return e.allow_to_deny + e.deny_to_allow + e.reason_changed;
}

function changeKind(event: DecisionEvent, after: DecisionSummary): ChangeKind | undefined {
  if (event.decision !== after.decision) return event.decision === 'allow' ? 'allow_to_deny' : 'deny_to_allow';
  if (event.reason !== after.reason || sorted(event.policies).join('\n') !== sorted(after.policies).join('\n'))
    return 'reason_changed';
  return undefined;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

function outcomes(): ReplayOutcomes {
  return { unchanged: 0, allow_to_deny: 0, deny_to_allow: 0, reason_changed: 0 };
}
