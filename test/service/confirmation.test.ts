/**
 * Dangerous actions need a person's yes: a launch command and a non-loopback bind. The token
 * flow (web host) and the Confirmer flow (Electron's dialog) both go through the real service.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmationTokens } from '../../src/service/confirmation.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import type { DangerousAction } from '../../src/shared/inspector-api.ts';

const services: InspectorService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.dispose();
});
function makeService(options: ConstructorParameters<typeof InspectorService>[0] = {}): InspectorService {
  const s = new InspectorService({ batchIntervalMs: 5, ...options });
  services.push(s);
  return s;
}

describe('ConfirmationTokens', () => {
  const launch: DangerousAction = { kind: 'launch-command', command: 'echo {url}' };
  it('redeems a token once, for exactly the action it was issued for', () => {
    const tokens = new ConfirmationTokens();
    const a = tokens.issue(launch);
    expect(a.token.length).toBeGreaterThanOrEqual(32);
    expect(a.prompt).toContain('echo {url}');
    expect(tokens.redeem(a.token, launch)).toBe(true);
    expect(tokens.redeem(a.token, launch)).toBe(false); // single use
    const b = tokens.issue(launch);
    expect(tokens.redeem(b.token, { kind: 'launch-command', command: 'rm -rf ~ {url}' })).toBe(false); // other action
    expect(tokens.redeem(b.token, launch)).toBe(false); // spent by the failed try
  });
  it('refuses an expired token and a made-up one', () => {
    let now = 1_000;
    const tokens = new ConfirmationTokens(60_000, () => now);
    const a = tokens.issue(launch);
    now += 60_001;
    expect(tokens.redeem(a.token, launch)).toBe(false);
    expect(tokens.redeem('x'.repeat(32), launch)).toBe(false);
    expect(tokens.redeem('', launch)).toBe(false);
  });
  it('shows a command\'s control characters and bidi overrides as escapes in the prompt', () => {
    const prompt = new ConfirmationTokens().issue({ kind: 'launch-command', command: 'echo ok {url}\n\n\n\nrm -rf ~ \u202e' }).prompt;
    expect(prompt).toContain('echo ok {url}\\n\\n\\n\\nrm -rf ~ \\u{202e}');
    expect(prompt.split('\n').at(-1)).toContain('rm -rf');
  });
  it('keeps at most 16 outstanding tokens (a page cannot grow the table)', () => {
    const tokens = new ConfirmationTokens();
    const issued = Array.from({ length: 40 }, () => tokens.issue(launch));
    expect(tokens.redeem(issued[0]!.token, launch)).toBe(false);
    expect(tokens.redeem(issued[39]!.token, launch)).toBe(true);
  });
});

describe('the service asks before a launch command (web host flow)', () => {
  it('answers the first request with a prompt and runs nothing; the echoed token runs it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-confirm-'));
    const marker = join(dir, 'ran');
    try {
      const service = makeService();
      const launch = `node -e "require('fs').writeFileSync(process.argv[1], 'x')" ${JSON.stringify(marker)} {url}`;
      const first = await service.runConformance({ mode: 'client', launch, cases: ['1.1.1'] });
      expect(first.ok).toBe(false);
      if (first.ok) return;
      expect(first.confirm?.action).toEqual({ kind: 'launch-command', command: launch });
      expect(service.getStatus()).toBeDefined();
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(marker)).toBe(false);
      // A guessed token does nothing either.
      const guessed = await service.runConformance({ mode: 'client', launch, cases: ['1.1.1'], confirmToken: 'guess' });
      expect(guessed.ok).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(marker)).toBe(false);
      // A token for another command does not run this one.
      const other = await service.runConformance({ mode: 'client', launch: 'true {url}', cases: ['1.1.1'] });
      const swapped = await service.runConformance({ mode: 'client', launch, cases: ['1.1.1'], confirmToken: !other.ok ? other.confirm!.token : '' });
      expect(swapped.ok).toBe(false);
      // The person's yes: the page echoes the token of the prompt it showed.
      const again = await service.runConformance({ mode: 'client', launch, cases: ['1.1.1'] });
      const confirmed = await service.runConformance({ mode: 'client', launch, cases: ['1.1.1'], confirmToken: !again.ok ? again.confirm!.token : '' });
      expect(confirmed.ok).toBe(true);
      for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(marker)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the service asks before binding a non-loopback address', () => {
  it('does not bind 0.0.0.0 on a request alone, and keeps the loopback server running', async () => {
    const service = makeService();
    expect((await service.startServer({ host: '127.0.0.1', port: 0 })).ok).toBe(true);
    const before = service.getStatus().server;
    const result = await service.startServer({ host: '0.0.0.0', port: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.confirm?.action).toEqual({ kind: 'bind-address', host: '0.0.0.0', port: 0 });
    const after = service.getStatus().server;
    expect(after.running).toBe(true);
    expect(after.url).toBe(before.url);
    expect(after.host).toBe('127.0.0.1');
  });
  it('binds once the prompt is confirmed, with a warning shown', async () => {
    const service = makeService();
    const first = await service.startServer({ host: '0.0.0.0', port: 0 });
    const token = !first.ok ? first.confirm?.token : undefined;
    expect(token).toBeTruthy();
    const second = await service.startServer({ host: '0.0.0.0', port: 0, confirmToken: token! });
    expect(second.ok).toBe(true);
    expect(service.getStatus().server.warning).toMatch(/other machines/i);
  });
  it('needs no confirmation for loopback addresses', async () => {
    const service = makeService();
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      const r = await service.startServer({ host, port: 0 });
      expect(r.ok, `${host}: ${!r.ok ? r.error : ''}`).toBe(true);
    }
  });
});

describe('the service asks through a Confirmer when it has one (Electron dialog)', () => {
  it('runs nothing when the person says no, and binds when they say yes', async () => {
    const asked: string[] = [];
    let answer = false;
    const service = makeService({ confirm: async (action, prompt) => { asked.push(`${action.kind}: ${prompt}`); return answer; } });
    const no = await service.runConformance({ mode: 'client', launch: 'true {url}', cases: ['1.1.1'] });
    expect(no.ok).toBe(false);
    if (!no.ok) {
      expect(no.error).toMatch(/cancelled/i);
      expect(no.confirm).toBeUndefined(); // no token path when a dialog decides
    }
    expect(asked[0]).toMatch(/^launch-command: .*true \{url\}/s);
    // A token is worthless here: only the dialog can say yes.
    const withToken = await service.startServer({ host: '0.0.0.0', port: 0, confirmToken: 'anything' });
    expect(withToken.ok).toBe(false);
    answer = true;
    expect((await service.startServer({ host: '0.0.0.0', port: 0 })).ok).toBe(true);
    expect(asked.filter((a) => a.startsWith('bind-address')).length).toBe(2);
  });
  it('treats a Confirmer that throws as a no', async () => {
    const service = makeService({ confirm: async () => { throw new Error('dialog failed'); } });
    const r = await service.startServer({ host: '0.0.0.0', port: 0 });
    expect(r.ok).toBe(false);
  });
});
