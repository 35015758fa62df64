import { describe, expect, it } from 'vitest';
import { formatSteps, mergeSavedWork, parseSavedWork, parseSteps, SAVED_WORK_FORMAT, SavedWorkLimits, type SavedWork } from '../../src/shared/saved-work.ts';

describe('saved work: the document and the step editor', () => {
  it('a step a line, and back', () => {
    const steps = parseSteps('text {"op":"subscribe"}\nwait 250\n# a comment\nbinary 01 02 ff\nping are you there\npong\nclose 1000 bye now');
    expect(steps).toEqual([
      { kind: 'text', text: '{"op":"subscribe"}' }, { kind: 'wait', ms: 250 }, { kind: 'binary', hex: '01 02 ff' },
      { kind: 'ping', text: 'are you there' }, { kind: 'pong', text: '' }, { kind: 'close', code: 1000, reason: 'bye now' },
    ]);
    expect(parseSteps(formatSteps(steps as never))).toEqual(steps);
    expect(parseSteps('text a\nbinary 0g')).toBe('Line 2 is not a step: "binary 0g" (text …, binary HEX, ping …, pong …, close CODE REASON, wait MS).');
    expect(parseSteps(`wait ${SavedWorkLimits.waitMs + 1}`)).toMatch(/^Line 1 is not a step/);
    expect(parseSteps('\n  \n')).toMatch(/^No steps/);
  });

  it('a hostile file: wrong format refused; bad entries skipped and counted; names cleaned; limits kept', () => {
    expect(parseSavedWork({ connections: [] })).toMatch(/not a saved-work file/);
    expect(parseSavedWork('x')).toMatch(/not a saved-work file/);
    const parsed = parseSavedWork({
      format: SAVED_WORK_FORMAT,
      connections: [
        { name: 'local\u0007 echo', url: 'ws://127.0.0.1:9001/', subprotocols: ['chat'], headers: ['Origin: http://a.test'] },
        { name: 'not ws', url: 'http://example.test/' },
        { name: 'x', url: 'ws://a/', headers: 'not a list' },
        { name: '', url: 'ws://a/' },
        JSON.parse('{"__proto__": {"polluted": true}, "name": "p", "url": "ws://p/"}'),
      ],
      sequences: [{ name: 'hello', steps: [{ kind: 'text', text: 'hi' }] }, { name: 'empty', steps: [] }, { name: 'bad', steps: [{ kind: 'exec', text: 'rm' }] }],
    });
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.work.connections.map((c) => c.name)).toEqual(['local echo', 'p']);
    expect(parsed.work.connections[0]).toEqual({ name: 'local echo', url: 'ws://127.0.0.1:9001/', subprotocols: ['chat'], headers: ['Origin: http://a.test'], ca: [], insecure: false });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(parsed.work.sequences.map((s) => s.name)).toEqual(['hello']);
    expect(parsed.skipped).toBe(5);
    const many = parseSavedWork({ format: SAVED_WORK_FORMAT, connections: Array.from({ length: SavedWorkLimits.connections + 3 }, (_, i) => ({ name: `c${i}`, url: 'ws://a/' })) });
    if (typeof many === 'string') throw new Error(many);
    expect(many.work.connections).toHaveLength(SavedWorkLimits.connections);
    expect(many.skipped).toBe(3);
  });

  it('import merges by name: the imported entry replaces one of the same name', () => {
    const a: SavedWork = { format: SAVED_WORK_FORMAT, version: 1, connections: [{ name: 'x', url: 'ws://old/', subprotocols: [], headers: [], ca: [], insecure: false }], sequences: [] };
    const b = { ...a, connections: [{ ...a.connections[0]!, url: 'ws://new/' }, { ...a.connections[0]!, name: 'y' }] };
    expect(mergeSavedWork(a, b).connections.map((c) => `${c.name} ${c.url}`)).toEqual(['x ws://new/', 'y ws://old/']);
  });
});
