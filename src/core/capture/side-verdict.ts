/**
 * Each side's behaviour on one connection, judged from its trace: the handshake checks that failed,
 * the violations each side committed (by rule, with the RFC section), how many frames and messages
 * each sent, and how the connection ended. For the end of an opened capture: a tshark that teaches.
 */

import type { Direction, TraceEvent } from '../trace.ts';

interface SideTally {
  frames: number;
  messages: number;
  bytes: number;
  violations: Map<string, { section: string; count: number; message: string }>;
}

export class SideVerdict {
  /** Observed connections read from the client's side: out = client → server. */
  private readonly sides: Record<Direction, SideTally> = { out: tally(), in: tally() };
  private handshake: string[] = [];
  private ending: string | null = null;

  add(event: TraceEvent): void {
    switch (event.type) {
      case 'frame':
        this.sides[event.direction].frames++;
        this.sides[event.direction].bytes += event.frame.raw.length;
        return;
      case 'message':
        this.sides[event.direction].messages++;
        return;
      case 'violation': {
        const v = event.violation;
        const map = this.sides[event.direction].violations;
        const known = map.get(v.code);
        if (known) known.count++;
        else map.set(v.code, { section: v.rfcSection, count: 1, message: v.message });
        return;
      }
      case 'handshake':
        if (!event.ok) this.handshake.push(`${event.side === 'server' ? 'the request fails the server\'s checks' : 'the response fails the client\'s checks'}: ${event.error?.message ?? 'see the checks above'}${event.error ? ` (${event.error.rfcSection})` : ''}`);
        else for (const check of event.checks) if (!check.ok && !check.informational) this.handshake.push(`${check.label}: ${check.detail} (${check.rfcSection})`);
        return;
      case 'connection-closed':
        this.ending = event.detail;
        return;
      default:
    }
  }

  /** Lines of the verdict, plain text. */
  lines(): string[] {
    const out: string[] = [];
    for (const [direction, who] of [['out', 'client'], ['in', 'server']] as const) {
      const s = this.sides[direction];
      const sent = `${s.frames} frame${s.frames === 1 ? '' : 's'}, ${s.messages} message${s.messages === 1 ? '' : 's'}`;
      if (s.violations.size === 0) {
        out.push(`${who}: ${sent}; no rule broken${s.frames === 0 ? ' (nothing to judge)' : ''}`);
        continue;
      }
      const total = [...s.violations.values()].reduce((n, v) => n + v.count, 0);
      out.push(`${who}: ${sent}; ${total} violation${total === 1 ? '' : 's'}:`);
      for (const [code, v] of s.violations) out.push(`  ${v.count} × ${code} (${v.section}): ${v.message}`);
    }
    for (const h of this.handshake) out.push(`handshake: ${h}`);
    if (this.ending) out.push(`end: ${this.ending}`);
    return out;
  }
}

function tally(): SideTally {
  return { frames: 0, messages: 0, bytes: 0, violations: new Map() };
}
