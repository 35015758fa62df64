/**
 * The main process's confirmation before a dangerous action (running a launch command, binding
 * a non-loopback address): the dialog's options and the Confirmer built on it. No electron
 * import: index.ts passes `dialog.showMessageBox` in, and the tests pass a fake.
 */
import type { Confirmer, DangerousAction } from '../service/confirmation.ts';
import { visibleText } from '../shared/visible-text.ts';

export { visibleText };

/** Index of the one button that says yes; everything else (Cancel, Esc, closing) is no. */
export const CONFIRM_BUTTON = 1;

/** The subset of Electron's MessageBoxOptions the dialog uses. */
export interface ConfirmDialogOptions {
  type: 'warning';
  buttons: [cancel: string, confirm: string];
  defaultId: 0;
  cancelId: 0;
  noLink: true;
  title: string;
  message: string;
  detail: string;
}

/**
 * What the dialog says. The exact command or address comes from the action itself (not from
 * any text a caller composed), with control characters made visible.
 */
export function confirmationDialog(action: DangerousAction): ConfirmDialogOptions {
  const common = { type: 'warning', defaultId: 0, cancelId: 0, noLink: true, title: 'WebSocket Inspector' } as const;
  if (action.kind === 'launch-command') {
    return {
      ...common,
      buttons: ['Cancel', 'Run'],
      message: 'Run a command on this computer?',
      detail: `The conformance battery will run this command once per case, as your user:\n\n${visibleText(action.command)}\n\nChoose Run only if you typed this command yourself.`,
    };
  }
  const where = `${visibleText(action.host)}:${action.port}`;
  return {
    ...common,
    buttons: ['Cancel', 'Bind'],
    message: 'Let other machines connect to the embedded server?',
    detail: `The embedded WebSocket server will listen on ${where}, an address other machines on your network can reach, and will answer whatever connects.\n\nChoose Bind only if you meant to expose it.`,
  };
}

/**
 * A Confirmer that shows the dialog and says yes only for the explicit confirm button. A dialog
 * that fails to show counts as no.
 */
export function dialogConfirmer(show: (options: ConfirmDialogOptions) => Promise<{ response: number }>): Confirmer {
  return async (action) => {
    try {
      const { response } = await show(confirmationDialog(action));
      return response === CONFIRM_BUTTON;
    } catch {
      return false;
    }
  };
}
