/**
 * The Learn area (issue 15, guided lessons): the ten lessons of src/core/lessons, each step done
 * on live traffic against the embedded server and checked off from the trace this page receives,
 * then explained with the learner's own bytes. Summaries, tasks and explanations are paraphrases
 * (plain text); the RFC's words appear only in quotation marks with their section.
 */
import { useEffect, useRef, useState } from 'react';
import type { Lesson, LessonStep, TryIt } from '../../../core/lessons/lesson.ts';
import { LESSONS, withUrl } from '../../../core/lessons/lessons.ts';
import { api } from '../bridge.ts';
import { lessonById, useLearn, type StepOutcome } from '../store/learn.ts';
import { useInspector } from '../store/store.ts';
import './learn.css';
import { RfcQuoteBlock } from './RfcQuote.tsx';

export function CopyLine({ label, text, testId }: { label: string; text: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  // "Copied" for 1.5 s after the latest copy: a second copy starts the time again (the first
  // copy's reset would otherwise take the word away just after it), and leaving ends it.
  const reset = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(reset.current), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      clearTimeout(reset.current);
      reset.current = setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false); // no clipboard access (an insecure page): the line is there to select by hand
    }
  };
  return (
    <div className="try-line">
      <span className="try-label">{label}</span>
      <code data-testid={testId}>{text}</code>
      <button className="button small" onClick={() => void copy()} aria-label={`Copy: ${label}`}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  );
}

function TryItLines({ tryIt, url }: { tryIt: TryIt; url: string | null }) {
  const serverUrl = url ?? '';
  return (
    <div className="try-it" data-testid="try-it">
      {url === null && <p className="hint">Start the embedded server (top bar) to fill in its address.</p>}
      {tryIt.console && <CopyLine label="Paste into your browser's console (on any http:// page, e.g. about:blank)" text={withUrl(tryIt.console, serverUrl)} testId="try-console" />}
      {tryIt.cli && <CopyLine label="Or run in a terminal" text={withUrl(tryIt.cli, serverUrl)} testId="try-cli" />}
      {tryIt.app && <AppLine text={tryIt.app} url={url} />}
    </div>
  );
}

/** A step the app itself can do: the words, and a button for the app's own client. */
function AppLine({ text, url }: { text: string; url: string | null }) {
  const setNotice = useInspector((s) => s.setNotice);
  const connect = async () => {
    if (!url) return;
    const result = await api.connectClient({ url });
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };
  return (
    <div className="try-line">
      <span className="try-label">Or in this app</span>
      <span data-testid="try-app">{text} The app&apos;s client appears under Clients in the left sidebar; the composer is on the right.</span>
      <button className="button small" disabled={!url} onClick={() => void connect()} data-testid="try-app-connect">Connect the app&apos;s client</button>
    </div>
  );
}

/** Selects what a step was about in the main views: the frame in Frames, else the handshake. */
function showEvidence(outcome: Extract<StepOutcome, { kind: 'detected' }>): void {
  const store = useInspector.getState();
  store.selectConnection(outcome.evidence.connectionId);
  if (outcome.frameKey) {
    store.setView('frames');
    store.selectFrame(outcome.frameKey);
  } else {
    store.setView('handshake');
  }
}

/** The connection's conversation as the Ladder view draws it (closing handshake included). */
function showLadder(outcome: Extract<StepOutcome, { kind: 'detected' }>): void {
  const store = useInspector.getState();
  store.selectConnection(outcome.evidence.connectionId);
  store.setView('ladder');
}

function StepBlock({ step, index, outcome, current, url, lessonShowsLadder }: { step: LessonStep; index: number; outcome: StepOutcome | undefined; current: boolean; url: string | null; lessonShowsLadder: boolean }) {
  const skip = useLearn((s) => s.skip);
  const state = outcome ? outcome.kind : current ? 'current' : 'later';
  return (
    <li className={`lesson-step step-${state}`} data-testid={`step-${step.id}`} data-state={state}>
      <div className="step-head">
        <span className="step-mark">{outcome?.kind === 'detected' ? '✓' : outcome?.kind === 'skipped' ? '↷' : outcome?.kind === 'earlier' ? '✓' : index + 1}</span>
        <span className="step-task">{step.task}</span>
        {outcome?.kind === 'skipped' && <span className="tag">skipped</span>}
        {outcome?.kind === 'earlier' && <span className="tag">done earlier</span>}
      </div>
      {current && (
        <>
          <TryItLines tryIt={step.tryIt} url={url} />
          <p className="hint waiting" data-testid="step-waiting">Waiting for it on the live trace… <button className="link" onClick={skip} data-testid="skip-step">Skip this step</button></p>
        </>
      )}
      {outcome?.kind === 'detected' && (
        <div className="step-evidence" data-testid="step-evidence">
          <p className="hint">What happened, with your bytes (our explanation):</p>
          <ul>
            {outcome.evidence.explanation.map((line, i) => <li key={i}><code>{line}</code></li>)}
          </ul>
          <button className="link" onClick={() => showEvidence(outcome)} data-testid="show-evidence">
            {outcome.frameKey ? 'Show this frame in Frames' : 'Show this connection\'s handshake'} ({outcome.evidence.connectionId})
          </button>
          {lessonShowsLadder && (
            <button className="link" onClick={() => showLadder(outcome)} data-testid="show-ladder">Show the closing handshake as a ladder diagram</button>
          )}
        </div>
      )}
    </li>
  );
}

function CheckQuestion({ lesson }: { lesson: Lesson }) {
  const answer = useLearn((s) => s.answer);
  const choose = useLearn((s) => s.choose);
  const passed = useLearn((s) => s.progress[lesson.id]?.checkPassed ?? false);
  const right = answer === lesson.check.answer;
  return (
    <fieldset className="check-question" data-testid="check-question">
      <legend>Check: {lesson.check.question}</legend>
      {lesson.check.choices.map((choice, i) => (
        <label key={i} className="check-choice">
          <input type="radio" name={`check-${lesson.id}`} checked={answer === i} onChange={() => choose(i)} /> {choice}
        </label>
      ))}
      {answer !== null && (
        <p className={right ? 'check-right' : 'check-wrong'} data-testid="check-feedback" role="status">
          {right ? `Right. ${lesson.check.why}` : 'Not that one: think about it once more and pick another.'}
        </p>
      )}
      {answer === null && passed && <p className="hint">You answered this one correctly before.</p>}
    </fieldset>
  );
}

/** What the lesson wants of the server, and a way to get it with the app's server. */
function LessonServerNeeds({ lesson }: { lesson: Lesson }) {
  const server = useInspector((s) => s.status?.server);
  const setNotice = useInspector((s) => s.setNotice);
  const [busy, setBusy] = useState(false);
  const wants = lesson.server;
  if (!wants) return null;
  const deflate = wants.deflate ?? true;
  const restart = async () => {
    setBusy(true);
    const limit = wants.maxMessageSize;
    const result = await api.startServer({
      ...(server ? { host: server.host, port: server.port, app: server.app } : {}),
      deflate,
      ...(limit !== undefined ? { maxMessageSize: limit } : {}),
    });
    setBusy(false);
    setNotice(result.ok
      ? { kind: 'info', text: `The embedded server runs at ${result.url} with permessage-deflate ${deflate ? 'on' : 'off'}${limit !== undefined ? ` and a ${limit.toLocaleString('en')}-byte message limit` : ''}.` }
      : { kind: 'error', text: result.error });
  };
  return (
    <div className="lesson-server" data-testid="lesson-server">
      <p>
        This lesson wants a server with permessage-deflate <b>{deflate ? 'on' : 'off'}</b>
        {deflate ? ' (so the browser\'s offer is accepted and messages travel compressed).' : ' (so every payload is on the wire as you sent it, byte for byte).'}
        {wants.maxMessageSize !== undefined && <> It also wants messages limited to <b>{wants.maxMessageSize.toLocaleString('en')} bytes</b> (the usual limit is 64 MiB), so that a longer one is refused with 1009.</>}
        {' '}The server bar does not show these settings; (re)start the server with them to be sure. The restart closes open connections, and a later start from the server bar goes back to the usual settings.
      </p>
      <button className="button small" disabled={busy} onClick={() => void restart()} data-testid="lesson-server-restart">
        Restart the embedded server with permessage-deflate {deflate ? 'on' : 'off'}{wants.maxMessageSize !== undefined ? ` and a ${wants.maxMessageSize.toLocaleString('en')}-byte limit` : ''}
      </button>
    </div>
  );
}

function LessonView({ lesson }: { lesson: Lesson }) {
  const stepIndex = useLearn((s) => s.stepIndex);
  const outcomes = useLearn((s) => s.outcomes);
  const restart = useLearn((s) => s.restart);
  const url = useInspector((s) => (s.status?.server.running ? s.status.server.url : null));
  const finished = stepIndex >= lesson.steps.length;
  return (
    <article className="lesson" data-testid={`lesson-${lesson.id}`}>
      <header className="lesson-head">
        <h2>{lesson.title} <span className="rfc">{lesson.sections.join(' ')}</span></h2>
        <button className="link" onClick={restart} data-testid="restart-lesson">Start again</button>
      </header>
      <p className="lesson-summary" data-testid="lesson-summary">{lesson.summary}</p>
      {lesson.quotes.map((q, i) => <RfcQuoteBlock key={i} quote={q} />)}
      <LessonServerNeeds lesson={lesson} />
      <ol className="lesson-steps">
        {lesson.steps.map((step, i) => (
          <StepBlock key={step.id} step={step} index={i} outcome={outcomes[i]} current={i === stepIndex} url={url} lessonShowsLadder={lesson.id === 'closing'} />
        ))}
      </ol>
      {finished ? <CheckQuestion lesson={lesson} /> : <p className="hint">The check question comes after the last step.</p>}
    </article>
  );
}

export function Learn() {
  const lessonId = useLearn((s) => s.lessonId);
  const progress = useLearn((s) => s.progress);
  const open = useLearn((s) => s.open);
  const lesson = lessonById(lessonId);
  useEffect(() => {
    if (lessonId === null && LESSONS[0]) open(LESSONS.find((l) => !progress[l.id]?.checkPassed)?.id ?? LESSONS[0].id);
  }, []);
  return (
    <div className="learn" data-testid="learn">
      <nav className="lesson-list" aria-label="Lessons">
        <h3>Lessons</h3>
        <ol>
          {LESSONS.map((l) => {
            const p = progress[l.id];
            const done = p !== undefined && p.stepsDone >= l.steps.length && p.checkPassed;
            return (
              <li key={l.id}>
                <button className={`lesson-link ${l.id === lessonId ? 'active' : ''}`} onClick={() => open(l.id)} data-testid={`open-lesson-${l.id}`} aria-current={l.id === lessonId}>
                  <span className="lesson-done" data-testid={`lesson-progress-${l.id}`}>{done ? '✓' : `${p?.stepsDone ?? 0}/${l.steps.length}`}</span> {l.title}
                </button>
              </li>
            );
          })}
        </ol>
        <p className="hint">Progress is kept in this browser. Steps are detected from the live trace while a lesson is open, whichever view you are in.</p>
      </nav>
      {lesson ? <LessonView key={lesson.id} lesson={lesson} /> : <p className="hint">Pick a lesson.</p>}
    </div>
  );
}
