/** Shared by the battery tests against our own engine: every case passes strictly, Autobahn's "echo first" ones included. */
import type { ConformanceReport } from '../../../src/core/conformance/index.ts';

/**
 * Autobahn's cases that send a valid message, an invalid frame and a ping together. Our engine
 * delivers the message parsed ahead of the bad frame in the same read before it fails the
 * connection, so its echo goes out before our Close (protocol.ts, failClose) and Autobahn's strict
 * grade is met. (Until issue 17 the Close went first and these were NON-STRICT.)
 */
export const echoFirstIds = ['3.2', '3.3', '3.4', '4.1.3', '4.1.4', '4.1.5', '4.2.3', '4.2.4', '4.2.5', '5.15'];

/** Every case that did not pass strictly. */
export function problems(report: ConformanceReport): string[] {
  return report.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id} ${c.outcome}: ${c.reason}`);
}

/** The "echo first" cases the report ran, each with its outcome (all must be pass). */
export function echoFirstOutcomes(report: ConformanceReport): Record<string, string> {
  return Object.fromEntries(report.cases.filter((c) => echoFirstIds.includes(c.id)).map((c) => [c.id, c.outcome]));
}
