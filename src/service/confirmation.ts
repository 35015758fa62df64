/**
 * Actions a request alone must not be able to trigger: running a command on this machine
 * (conformance against a launched client) and binding the embedded server to an address other
 * machines can reach. Each needs a person's yes, given where a web page cannot give it:
 *   - in Electron, a dialog shown by the main process (a Confirmer passed to the service);
 *   - in the web host, a prompt the app's own page shows, answered by echoing a single-use,
 *     short-lived token that only the response to the first request carries. A cross-origin page
 *     cannot read that response (and cannot call the bridge at all without the session token),
 *     so a forged request never gets past the first step. SECURITY.md explains the design.
 * No electron import.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

import type { ConfirmationPrompt, DangerousAction } from '../shared/inspector-api.ts';
import { visibleText } from '../shared/visible-text.ts';

export type { ConfirmationPrompt, DangerousAction };

/** Asks a person (Electron: a main-process dialog). Resolves true only on an explicit yes. */
export type Confirmer = (action: DangerousAction, prompt: string) => Promise<boolean>;

export function describeAction(action: DangerousAction): string {
  if (action.kind === 'launch-command') {
    return `Run this command on this computer, once per conformance case, as your user?\n\n${visibleText(action.command)}`;
  }
  const what = action.service === 'proxy' ? 'the reverse proxy' : 'the embedded WebSocket server';
  return `Bind ${what} to ${visibleText(action.host)}:${action.port}? Other machines on your network will be able to connect to it.`;
}

function sameAction(a: DangerousAction, b: DangerousAction): boolean {
  if (a.kind === 'launch-command' && b.kind === 'launch-command') return a.command === b.command;
  if (a.kind === 'bind-address' && b.kind === 'bind-address') return a.host === b.host && a.port === b.port && a.service === b.service;
  return false;
}

/** Single-use tokens, each bound to one exact action, valid for `ttlMs`. */
export class ConfirmationTokens {
  private readonly pending = new Map<string, { action: DangerousAction; expiresAt: number }>();

  constructor(private readonly ttlMs = 60_000, private readonly now: () => number = Date.now) {}

  issue(action: DangerousAction): ConfirmationPrompt {
    this.sweep();
    // At most a handful outstanding: a page cannot grow this table.
    while (this.pending.size >= 16) this.pending.delete(this.pending.keys().next().value!);
    const token = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.pending.set(token, { action, expiresAt });
    return { token, action, prompt: describeAction(action), expiresAt };
  }

  /** True once for a live token issued for exactly this action; the token is spent either way. */
  redeem(token: string, action: DangerousAction): boolean {
    this.sweep();
    for (const [candidate, entry] of this.pending) {
      const a = Buffer.from(candidate);
      const b = Buffer.from(token);
      if (a.length === b.length && timingSafeEqual(a, b)) {
        this.pending.delete(candidate);
        return sameAction(entry.action, action);
      }
    }
    return false;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(token);
  }
}
