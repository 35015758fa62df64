/**
 * Peers of the embedded server that are this app's own conformance battery: its requests carry
 * this User-Agent (RFC 9110 §10.1.5), so the service lists them apart from the person's peers
 * and a run of a hundred cases never pushes the person's connections out of the list.
 */
import type { TracedHead } from '../core/trace.ts';

export const BATTERY_USER_AGENT = 'wsinspect-conformance (the app\'s battery)';

export function isBatteryRequest(head: TracedHead): boolean {
  if (head.kind !== 'request') return false;
  return head.headers.some((h) => h.name.toLowerCase() === 'user-agent' && h.value === BATTERY_USER_AGENT);
}
