/**
 * Every lesson, walked through on live traffic the way its instructions say: each step's browser
 * console line runs in Debian's Chromium, or, for steps a page cannot do (pings, fragments, raw
 * bytes), its command line runs in a shell with `wsinspect` on the PATH. The lesson's detector must
 * check the step off from our server's trace, and its explanation must say what happened.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { LessonRun } from '../../../src/core/lessons/lesson-run.ts';
import type { Lesson } from '../../../src/core/lessons/lesson.ts';
import { LESSONS, withUrl } from '../../../src/core/lessons/lessons.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer } from '../../../src/core/trace.ts';
import { launchChromium } from '../../support/chromium.ts';
import { bin, killRunning, runCli, waitFor } from '../../support/cli.ts';

/** What each step's explanation must say once the learner did what it asked. */
const expected: Record<string, RegExp> = {
  'handshake/request': /Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==/,
  'handshake/response': /HTTP\/1\.1 101 Switching Protocols/,
  'accept/computed': /258EAFA5-E914-47DA-95CA-C5AB0DC85B11/,
  'accept/sample-key': /s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=: the same/,
  'frame-lengths/short': /7-bit field holds the length itself/,
  'frame-lengths/medium': /16-bit length in network byte order: 200 bytes/,
  'frame-lengths/long': /64-bit length in network byte order: 70000 bytes/,
  'masking/masked': /XOR key\[0\] 0x[0-9a-f]{2} = 0x48 \('H'\)/,
  'masking/fresh-key': /different, as §5\.3 asks/,
  'masking/server-unmasked': /MASK=0/,
  'fragmentation/fragmented': /in 3 frames/,
  'fragmentation/echo-coalesced': /the echo went out in 1 frame:/,
  'ping-pong/ping': /opcode=0x9 \(ping\)/,
  'ping-pong/pong': /identical to the ping's/,
  'closing/close-sent': /code 1000/,
  'closing/close-answered': /Close carrying 1000/,
  'closing/tcp-closed': /closed cleanly/,
  'utf8/split-character': /came in 2 frames/,
  'utf8/invalid': /1007/,
  'extensions/negotiated': /agreed: permessage-deflate/,
  'extensions/compressed': /300 bytes of text travelled as \d+ bytes/,
  'security/origin': /Origin: /,
  'security/limit': /1009/,
};

let browser: Browser;
let shim: string;

beforeAll(async () => {
  browser = await launchChromium();
  // `wsinspect` on the PATH, as a user who installed it has it.
  shim = mkdtempSync(join(tmpdir(), 'wsinspect-learn-'));
  writeFileSync(join(shim, 'wsinspect'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  chmodSync(join(shim, 'wsinspect'), 0o755);
});
afterAll(async () => {
  await browser?.close();
  if (shim) rmSync(shim, { recursive: true, force: true });
});
afterEach(killRunning);

async function lessonServer(lesson: Lesson) {
  const tracer = new Tracer();
  const run = new LessonRun(lesson);
  tracer.subscribe((event) => run.feed(event));
  const server = new WebSocketServer({
    host: '127.0.0.1', port: 0, component: echoComponent, tracer,
    ...(lesson.server?.maxMessageSize ? { maxMessageSize: lesson.server.maxMessageSize } : {}),
    ...(lesson.server?.deflate === false ? { deflate: false as const } : {}),
  });
  const { url } = await server.listen();
  return { run, server, url };
}

/** Runs a step's command line in a shell, in a scratch directory, with wsinspect on the PATH. */
async function runCommandLine(line: string): Promise<void> {
  const cli = runCli(['-c', `cd "${shim}" && ${line}`], { PATH: `${shim}:${process.env['PATH'] ?? ''}` }, '/bin/sh', []);
  await cli.exit;
}

describe('every lesson, done as its instructions say', () => {
  it('has 8 to 10 lessons, each with steps, a check question and an expectation here for every step', () => {
    expect(LESSONS.length).toBeGreaterThanOrEqual(8);
    expect(LESSONS.length).toBeLessThanOrEqual(10);
    for (const lesson of LESSONS) {
      expect(lesson.steps.length).toBeGreaterThan(0);
      expect(lesson.check.answer).toBeLessThan(lesson.check.choices.length);
      for (const step of lesson.steps) expect(expected[`${lesson.id}/${step.id}`], `${lesson.id}/${step.id}`).toBeDefined();
    }
  });

  it.each(LESSONS.map((l) => [l.id, l] as const))('%s', async (_id, lesson) => {
    const { run, server, url } = await lessonServer(lesson);
    let page: Page | undefined;
    try {
      for (const [index, step] of lesson.steps.entries()) {
        if (step.tryIt.console) {
          page ??= await browser.newPage();
          await page.evaluate(withUrl(step.tryIt.console, url));
        } else {
          expect(step.tryIt.cli, `${lesson.id}/${step.id} has neither a console line nor a command line`).toBeDefined();
          await runCommandLine(withUrl(step.tryIt.cli!, url));
        }
        await waitFor(() => run.stepIndex > index, `${lesson.id} step ${index + 1} (${step.id}) to be detected`, 10_000);
        const explanation = run.evidence[index]!.explanation.join('\n');
        expect(explanation, `${lesson.id}/${step.id}`).toMatch(expected[`${lesson.id}/${step.id}`]!);
      }
      expect(run.finished).toBe(true);
    } finally {
      await page?.close();
      await server.close();
    }
  });
});
