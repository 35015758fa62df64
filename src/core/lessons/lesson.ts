/**
 * A guided lesson: a few steps the learner does on live traffic, each detected from the trace and
 * explained with the bytes the learner produced, then a check question. Pure data and pure
 * functions over TraceEvents, so the app (Learn area), the CLI (`wsinspect learn`) and the tests
 * drive the same lessons.
 *
 * Text rules (issue 15, "Truthful teaching"): `quotes` are RFC 6455's words verbatim, each with the
 * section it sits in (test/core/lessons/lesson-quotes.test.ts checks every one against the RFC's
 * text); everything else (`summary`, `task`, explanations) is our paraphrase and is never shown in
 * quotation marks.
 */

import type { Role, TraceEvent } from '../trace.ts';

/** A sentence or paragraph of RFC 6455, verbatim (whitespace aside), and the section it is in. */
export interface RfcQuote {
  /** e.g. "§5.3": the quote must lie in that section (or one of its subsections). */
  section: string;
  text: string;
}

/** How the learner can make a step happen; `{url}` stands for the server's ws:// URL. */
export interface TryIt {
  /** JavaScript to paste into a browser's console (or the app's console box). */
  console?: string;
  /** A command line (wsinspect or curl). */
  cli?: string;
  /** Something to do in the app, in words. */
  app?: string;
}

/**
 * What the detector keeps about one connection: the last events it needs to judge a step.
 * Bounded: only a handful of fields, never the frames' payloads beyond what is being explained.
 */
export interface ConnectionMemory {
  /** Our side of the connection (from its connection-opened event); null before it is seen. */
  role: Role | null;
  /** Frames seen on this connection so far, by sender. */
  framesFromClient: number;
  framesFromServer: number;
  /** The masking keys of the last client frames (hex), newest last; at most 8. */
  recentMaskKeys: string[];
  /** A Close was sent by the client / by the server. */
  closeFromClient: boolean;
  closeFromServer: boolean;
  /** The payload of the last Ping (hex) and who sent it, to compare the Pong with. */
  lastPing: { payload: string; fromClient: boolean } | null;
}

/** What a detector found: the step happened; explained with the learner's own bytes. */
export interface StepEvidence {
  /** The connection it happened on. */
  connectionId: string;
  /** Plain-words lines that explain what happened (paraphrase, with the bytes in hex). */
  explanation: string[];
  /** The trace events it is about, by sequence number, so a view can select them. */
  seqs: number[];
}

export interface LessonStep {
  id: string;
  /** What to do, in plain words. */
  task: string;
  tryIt: TryIt;
  /** Looks at one more trace event (with that connection's memory); evidence when the step happened. */
  detect(event: TraceEvent, memory: ConnectionMemory): StepEvidence | null;
}

export interface CheckQuestion {
  question: string;
  choices: string[];
  /** Index into choices. */
  answer: number;
  /** Why that answer, in plain words, with its section. */
  why: string;
}

/** The server a lesson wants: some lessons need a limit or an app to show their point. */
export interface LessonServer {
  /** Largest message the server takes (a lesson about §10.4 limits sets a small one). */
  maxMessageSize?: number;
  /** Offer permessage-deflate (default true). */
  deflate?: boolean;
}

export interface Lesson {
  id: string;
  title: string;
  /** The sections the lesson is about, e.g. ["§4.1", "§4.2.2"]. */
  sections: string[];
  /** What the lesson teaches, in plain words (a paraphrase). */
  summary: string;
  quotes: RfcQuote[];
  steps: LessonStep[];
  check: CheckQuestion;
  server?: LessonServer;
}
