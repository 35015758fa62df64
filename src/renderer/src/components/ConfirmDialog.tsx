/**
 * The confirmation the web host asks for before a dangerous action (running a command, binding
 * an address other machines can reach). It is shown by the inspector's own page, never by the
 * page that asked: only a person's click here repeats the request with the prompt's token
 * (src/service/confirmation.ts; in Electron a main-process dialog asks instead).
 */
import { useEffect, useRef } from 'react';
import { create } from 'zustand';
import type { ConfirmationPrompt } from '../../../shared/inspector-api.ts';
import { visibleText } from '../../../shared/visible-text.ts';

interface Pending {
  prompt: ConfirmationPrompt;
  resolve: (yes: boolean) => void;
}

const useConfirmation = create<{ pending: Pending | null }>(() => ({ pending: null }));

/** Shows the prompt; resolves true only when the person clicks the action's button. */
export function askPerson(prompt: ConfirmationPrompt): Promise<boolean> {
  return new Promise((resolve) => {
    useConfirmation.getState().pending?.resolve(false); // one question at a time
    useConfirmation.setState({ pending: { prompt, resolve } });
  });
}

function answer(yes: boolean): void {
  const pending = useConfirmation.getState().pending;
  useConfirmation.setState({ pending: null });
  pending?.resolve(yes);
}

export function ConfirmDialog() {
  const pending = useConfirmation((s) => s.pending);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!pending) return;
    cancel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && answer(false);
    window.addEventListener('keydown', onKey);
    // The token dies after its time; so does the question.
    const expire = setTimeout(() => answer(false), Math.max(0, pending.prompt.expiresAt - Date.now()));
    return () => {
      window.removeEventListener('keydown', onKey);
      clearTimeout(expire);
    };
  }, [pending]);
  if (!pending) return null;
  const { action, prompt } = pending.prompt;
  const launch = action.kind === 'launch-command';
  const [question] = prompt.split('\n');
  return (
    <div className="modal-backdrop">
      <div className="modal" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-body" data-testid="confirm-dialog">
        <h2 id="confirm-title">{launch ? 'Run a command on this computer?' : 'Open the server to your network?'}</h2>
        <div id="confirm-body">
          <p>{question}</p>
          {/* Control characters and bidi overrides shown as escapes: what you see is what runs. */}
          <pre className="modal-command">{launch ? visibleText(action.command) : `${visibleText(action.host)}:${action.port}`}</pre>
          <p className="muted">
            {launch
              ? 'The conformance battery starts this command once per case, with {url} replaced by the test server\'s address. Run only commands you wrote or trust.'
              : 'Anyone who can reach this address can connect, send frames and see what the app sends back.'}
          </p>
        </div>
        <div className="modal-buttons">
          <button ref={cancel} className="button" onClick={() => answer(false)}>Cancel</button>
          <button className="button confirm-danger" onClick={() => answer(true)} data-testid="confirm-yes">{launch ? 'Run it' : 'Bind'}</button>
        </div>
      </div>
    </div>
  );
}
