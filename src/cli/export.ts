/**
 * `wsinspect export FILE --format pcapng|har|json -o OUT`: a recording (session file, JSON export,
 * HAR, or anything src/cli/open.ts's recordingLoaders read) written as pcapng (Wireshark, tshark),
 * HAR 1.2 with Chrome's _webSocketMessages, or our JSON document (byte for byte).
 */

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { recordingToHar } from '../core/capture/export-har.ts';
import { recordingToJson } from '../core/capture/export-json.ts';
import { recordingToPcapng } from '../core/capture/export-pcapng.ts';
import { loadRecording, OpenError, selectConnections } from './open.ts';

const FORMATS = ['pcapng', 'har', 'json'] as const;

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { format: { type: 'string' }, output: { type: 'string', short: 'o' }, connection: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write('wsinspect export FILE --format pcapng|har|json -o OUT [--connection ID]...\n  --connection: only these connections (the ids wsinspect open shows)\n');
    return 0;
  }
  if (positionals.length !== 1) throw new OpenError('export needs exactly one FILE, e.g. wsinspect export session.wsi --format pcapng -o session.pcapng');
  const format = values.format;
  if (!format || !(FORMATS as readonly string[]).includes(format)) throw new OpenError(`--format must be pcapng, har or json${format ? ` (got "${format.slice(0, 40)}")` : ''}`);
  if (!values.output) throw new OpenError('-o OUT: where to write the export');
  const path = positionals[0]!;
  const loaded = loadRecording(path);
  loaded.recording = selectConnections(loaded.recording, values.connection);
  if (loaded.error && loaded.recording.connections.length === 0) throw new OpenError(`${path}: ${loaded.error}; nothing to export`, 1);
  const data = format === 'pcapng' ? recordingToPcapng(loaded.recording)
    : format === 'har' ? JSON.stringify(recordingToHar(loaded.recording), null, 2) + '\n'
      : recordingToJson(loaded.recording);
  try {
    writeFileSync(values.output, data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OpenError(`cannot write ${JSON.stringify(values.output.slice(0, 200))}: ${code === 'ENOENT' ? 'its folder does not exist' : code === 'EISDIR' ? 'it is a folder' : code ?? (error as Error).message}`, 1);
  }
  const n = loaded.recording.connections.length;
  process.stderr.write(`wrote ${values.output}: ${n} connection${n === 1 ? '' : 's'} as ${format}${loaded.recording.connections.some((c) => c.reconstructed) ? ' (reconstructed from a HAR file, not captured)' : ''}\n`);
  if (loaded.error) {
    process.stderr.write(`wsinspect: ${path}: ${loaded.error}; what was read before it was exported\n`);
    return 1;
  }
  return 0;
}
