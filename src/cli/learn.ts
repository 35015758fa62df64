/**
 * `wsinspect learn [LESSON]`: the guided lessons in a terminal. Starts a lesson server, prints each
 * step with ways to do it (browser console, CLI), watches the trace until the learner has done it,
 * explains what happened with their bytes, then asks the check question. Progress is kept in the
 * config directory. While a lesson runs, a line "s" skips the current step and "q" quits.
 */

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { echoComponent } from '../core/apps/index.ts';
import { Defaults } from '../core/constants.ts';
import { hostProblem } from '../core/net/listen-address.ts';
import { ListenError, WebSocketServer } from '../core/net/server.ts';
import { Tracer } from '../core/trace.ts';
import type { Lesson } from '../core/lessons/lesson.ts';
import { LessonRun } from '../core/lessons/lesson-run.ts';
import { findLesson, LESSONS, withUrl } from '../core/lessons/lessons.ts';
import { loadProgress, progressPath, saveProgress, type Progress } from '../core/lessons/progress.ts';

export const learnUsage = `wsinspect learn — guided lessons on live traffic (RFC 6455)

Usage:
  wsinspect learn                    list the lessons and your progress
  wsinspect learn LESSON             take a lesson (its number or id): a lesson server starts, each step says
                                     what to do and is checked off when the trace shows it happened
      --host HOST --port PORT        where the lesson server listens (default ${Defaults.host}, port 0: a free one)
      --from STEP                    start at this step (1 = the first)
  wsinspect learn --reset            forget your progress
While a lesson runs, type  s  and Enter to skip a step,  q  and Enter to quit.`;

const out = (line = '') => process.stdout.write(line + '\n');

export async function learn(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { host: { type: 'string' }, port: { type: 'string' }, from: { type: 'string' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out(learnUsage);
    return 0;
  }
  if (values.reset) {
    const saved = saveProgress({});
    out(saved ? `progress forgotten (${progressPath()})` : `could not write ${progressPath()}`);
    return saved ? 0 : 1;
  }
  if (positionals.length > 1) return fail('learn takes one lesson (list them with: wsinspect learn)');
  const progress = loadProgress();
  if (positionals.length === 0) {
    out(lessonList(progress));
    return 0;
  }
  const lesson = findLesson(positionals[0]!);
  if (!lesson) return fail(`no lesson "${positionals[0]!.slice(0, 60)}" (list them with: wsinspect learn)`);
  const host = values.host ?? Defaults.host;
  const badHost = hostProblem(host);
  if (badHost) return fail(`--host: ${badHost}`);
  const port = wholeNumber(values.port, 0, 0, 65535);
  if (port === null) return fail(`--port must be a whole number from 0 to 65535 (got "${values.port}")`);
  const from = wholeNumber(values.from, 1, 1, lesson.steps.length);
  if (from === null) return fail(`--from must be a step from 1 to ${lesson.steps.length} (got "${values.from}")`);
  return takeLesson(lesson, host, port, from - 1, progress);
}

function fail(message: string): number {
  process.stderr.write(`wsinspect: ${message}\n`);
  return 2;
}

function wholeNumber(text: string | undefined, fallback: number, min: number, max: number): number | null {
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

export function lessonList(progress: Progress): string {
  const lines = ['Lessons (take one with: wsinspect learn N)', ''];
  LESSONS.forEach((lesson, i) => {
    const p = progress[lesson.id];
    const state = !p ? '' : p.stepsDone >= lesson.steps.length && p.checkPassed ? '  ✓ done' : `  ${p.stepsDone}/${lesson.steps.length} steps${p.checkPassed ? ', check passed' : ''}`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${lesson.title.padEnd(48)} ${lesson.sections.join(' ')}${state}`);
  });
  return lines.join('\n');
}

async function takeLesson(lesson: Lesson, host: string, port: number, startAt: number, progress: Progress): Promise<number> {
  const tracer = new Tracer();
  const run = new LessonRun(lesson, startAt);
  const server = new WebSocketServer({
    host, port, component: echoComponent, tracer,
    ...(lesson.server?.maxMessageSize ? { maxMessageSize: lesson.server.maxMessageSize } : {}),
    ...(lesson.server?.deflate === false ? { deflate: false as const } : {}),
  });
  let url: string;
  try {
    ({ url } = await server.listen());
  } catch (error) {
    if (error instanceof ListenError) {
      process.stderr.write(`wsinspect: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  out(`${lesson.title}  (${lesson.sections.join(', ')})`);
  out('');
  out(`In short: ${lesson.summary}`);
  out('');
  for (const quote of lesson.quotes) out(`  RFC 6455 ${quote.section}: “${quote.text}”`);
  out('');
  out(`Lesson server: ${url}${lesson.server?.maxMessageSize ? ` (largest message: ${lesson.server.maxMessageSize} bytes)` : ''}${lesson.server?.deflate === false ? ' (no compression, so the bytes are as you sent them)' : ''}`);

  const record = () => {
    progress[lesson.id] = { stepsDone: Math.max(run.stepIndex, progress[lesson.id]?.stepsDone ?? 0), checkPassed: progress[lesson.id]?.checkPassed ?? false };
    saveProgress(progress);
  };
  const printStep = () => {
    if (run.finished) return;
    const step = lesson.steps[run.stepIndex]!;
    out('');
    out(`Step ${run.stepIndex + 1} of ${lesson.steps.length}: ${step.task}`);
    if (step.tryIt.console) out(`  in a browser console:  ${withUrl(step.tryIt.console, url)}`);
    if (step.tryIt.cli) out(`  in another terminal:   ${withUrl(step.tryIt.cli, url)}`);
    if (step.tryIt.app) out(`  in the app:            ${step.tryIt.app}`);
    out('  (waiting for it on the wire; s + Enter skips, q + Enter quits)');
  };

  const lines = createInterface({ input: process.stdin, terminal: false });
  const input = lineReader(lines);
  const finished = new Promise<'done' | 'quit'>((resolve) => {
    tracer.subscribe((event) => {
      for (const happened of run.feed(event)) {
        if (happened.type === 'step-done') {
          out(`✓ Step ${happened.stepIndex + 1} done (connection ${happened.evidence.connectionId}):`);
          for (const line of happened.evidence.explanation) out(`    ${line}`);
          record();
          printStep();
        } else {
          resolve('done');
        }
      }
    });
    void (async () => {
      for (;;) {
        const line = await input.next();
        if (line === undefined) return; // the lesson is over: the check question reads the next line
        if (line === null) return; // stdin closed: keep watching the wire
        const command = line.trim().toLowerCase();
        if (command === 'q') return resolve('quit');
        if (command === 's' && !run.finished) {
          out(`(step ${run.stepIndex + 1} skipped)`);
          if (run.skip().length) return resolve('done');
          record();
          printStep();
        }
      }
    })();
  });
  printStep();
  if (run.finished) out('(every step is already done)');
  const how = run.finished ? 'done' : await finished;
  input.cancelPending();
  await server.close();
  if (how === 'quit') {
    lines.close();
    out('stopped; your progress is saved.');
    return 0;
  }
  record();
  const passed = await askCheck(lesson, input);
  lines.close();
  if (passed) {
    progress[lesson.id] = { stepsDone: lesson.steps.length, checkPassed: true };
    saveProgress(progress);
  }
  const next = LESSONS[LESSONS.indexOf(lesson) + 1];
  out(next ? `Next: wsinspect learn ${next.id}  (${next.title})` : 'That was the last lesson.');
  return 0;
}

/** The check question; reads the answer's number from stdin. With no answer (stdin closed), shows it. */
async function askCheck(lesson: Lesson, input: LineReader): Promise<boolean> {
  const { check } = lesson;
  out('');
  out(`Check: ${check.question}`);
  check.choices.forEach((choice, i) => out(`  ${i + 1}. ${choice}`));
  out('Your answer (1-' + check.choices.length + '):');
  for (;;) {
    const line = await input.next();
    if (line === null || line === undefined) {
      out(`The answer: ${check.answer + 1}. ${check.choices[check.answer]}. ${check.why}`);
      return false;
    }
    const n = Number(line.trim());
    if (!Number.isInteger(n) || n < 1 || n > check.choices.length) {
      out(`Type a number from 1 to ${check.choices.length}.`);
      continue;
    }
    const right = n - 1 === check.answer;
    out(right ? `Right. ${check.why}` : `Not quite: it is ${check.answer + 1}. ${check.choices[check.answer]}. ${check.why}`);
    return right;
  }
}

interface LineReader {
  /** The next line of stdin; null once it has ended; undefined when cancelled. */
  next(): Promise<string | null | undefined>;
  /** Hands undefined to whoever is waiting, so the line after goes to the next reader. */
  cancelPending(): void;
}

/** Lines of stdin one at a time. */
function lineReader(lines: ReturnType<typeof createInterface>): LineReader {
  const queued: string[] = [];
  const waiting: ((line: string | null | undefined) => void)[] = [];
  let ended = false;
  lines.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else if (queued.length < 100) queued.push(line.slice(0, 1000));
  });
  lines.on('close', () => {
    ended = true;
    for (const waiter of waiting.splice(0)) waiter(null);
  });
  return {
    next: () => {
      if (queued.length) return Promise.resolve(queued.shift()!);
      if (ended) return Promise.resolve(null);
      return new Promise((resolve) => waiting.push(resolve));
    },
    cancelPending: () => {
      for (const waiter of waiting.splice(0)) waiter(undefined);
    },
  };
}
