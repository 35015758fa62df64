/**
 * The process-level last resort for the hosts that run the service (the web host, Electron's
 * main process). Validation at every edge is the real defence; this is for the case it missed:
 * an exception nobody caught, or a rejection nobody handled, is reported in one line on stderr
 * and as a trace 'error' the page shows, and the process keeps serving instead of exiting with
 * every connection and the user's whole session.
 */
import type { InspectorService } from './inspector-service.ts';

export interface LastResortOptions {
  /** What the stderr line starts with ("web host", "main"). */
  label: string;
  write?: (line: string) => void;
  /** Where the handlers go (a test passes its own emitter). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** Installs the handlers; returns a function that removes them. */
export function installLastResort(service: InspectorService, options: LastResortOptions): () => void {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const target = options.target ?? process;
  const report = (what: string) => (error: unknown) => {
    const message = oneLine(error);
    try {
      write(`${options.label}: ${what}, kept running: ${message}\n`);
      service.reportInternalError(`internal error (${what}): ${message}`);
    } catch {
      // Reporting must not throw again from here: that would end the process after all.
    }
  };
  const onException = report('uncaught exception');
  const onRejection = report('unhandled rejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}

/** The error's name and message on one line, without a stack. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 500);
}
