/**
 * The main process's trust decisions (src/main/trust.ts), as pure functions: which frame may
 * call the IPC API, which URL the page may navigate to, which link may open in the browser, and
 * which dev server URL is honoured.
 */
import { describe, expect, it } from 'vitest';
import {
  EXTERNAL_URL_ALLOW_LIST, allowedExternalUrl, devRendererUrl, isAllowedExternalUrl, isTrustedIpcSender, isTrustedSenderUrl,
} from '../../src/main/trust.ts';

const FILE = 'file:///opt/wsi/resources/app.asar/out/renderer/index.html';
const DEV = 'http://localhost:5173';

describe('isTrustedSenderUrl', () => {
  it.each([
    [DEV, DEV],
    [`${DEV}/`, DEV],
    [`${DEV}/some/route?x=1#y`, DEV],
    ['http://LOCALHOST:5173/', DEV],
    ['http://localhost:5173/', `${DEV}/`],
    [FILE, FILE],
    [`${FILE}?x`, FILE],
    [`${FILE}#/frames`, FILE],
    [`${FILE}?a=1#b`, `${FILE}?stale=1`],
    ['file:///opt/wsi/resources/app.asar/out/renderer/../renderer/index.html', FILE],
    ['file:///c:/Program%20Files/wsi/index.html', 'file:///C:/Program%20Files/wsi/index.html'],
  ])('trusts %s for %s', (sender, renderer) => {
    expect(isTrustedSenderUrl(sender, renderer)).toBe(true);
  });

  it.each([
    ['http://localhost:51730', DEV, 'a longer port (the old prefix check admitted it)'],
    ['http://localhost:51730/', `${DEV}/`, 'a longer port with a path'],
    ['http://localhost:5173.evil.example/', DEV, 'a host that starts with ours'],
    ['http://localhost:5173@evil.example/', DEV, 'credentials that spell our origin'],
    ['https://localhost:5173/', DEV, 'another scheme'],
    ['http://127.0.0.1:5173/', DEV, 'another host for the same machine'],
    ['http://localhost:5174/', DEV, 'another port'],
    ['file:///opt/wsi/resources/app.asar/out/renderer/other.html', FILE, 'another file beside ours'],
    ['file:///opt/wsi/resources/app.asar/out/renderer/index.html.evil', FILE, 'a file whose name starts with ours'],
    ['file:///opt/wsi/resources/app.asar/out/renderer/index.html/x', FILE, 'a path below ours'],
    ['file:///tmp/index.html', FILE, 'a file elsewhere'],
    ['file://evil-share/opt/wsi/resources/app.asar/out/renderer/index.html', FILE, 'the same path on another host'],
    [`http://localhost:5173/`, FILE, 'the dev origin when we loaded a file'],
    [FILE, DEV, 'a file when we loaded the dev server'],
    ['data:text/html,<script>1</script>', FILE, 'data:'],
    ['about:blank', FILE, 'about:blank'],
    ['javascript:alert(1)', DEV, 'javascript:'],
    ['', FILE, 'no URL'],
    ['not a url', DEV, 'garbage'],
    ['about:blank', 'about:blank', 'a renderer URL of an untrusted scheme'],
  ])('refuses %s for %s (%s)', (sender, renderer) => {
    expect(isTrustedSenderUrl(sender, renderer)).toBe(false);
  });
});

describe('isTrustedIpcSender', () => {
  const top = { url: FILE, parent: null };
  const expected = { webContentsId: 7, rendererUrl: FILE };

  it('trusts the main frame of our window showing our page', () => {
    expect(isTrustedIpcSender({ frame: top, webContentsId: 7 }, expected)).toBe(true);
  });

  it.each([
    ['a subframe with our exact URL', { frame: { url: FILE, parent: top }, webContentsId: 7 }, expected],
    ['another webContents', { frame: top, webContentsId: 8 }, expected],
    ['no window (closed)', { frame: top, webContentsId: 7 }, { ...expected, webContentsId: null }],
    ['a frame already gone', { frame: null, webContentsId: 7 }, expected],
    ['an undefined frame', { frame: undefined, webContentsId: 7 }, expected],
    ['our main frame on another page', { frame: { url: 'file:///tmp/evil.html', parent: null }, webContentsId: 7 }, expected],
    ['a frame whose parent is unknown (undefined is not null)', { frame: { url: FILE, parent: undefined }, webContentsId: 7 }, expected],
  ])('refuses %s', (_name, sender, expectation) => {
    expect(isTrustedIpcSender(sender, expectation)).toBe(false);
  });
});

describe('allowedExternalUrl / isAllowedExternalUrl', () => {
  it.each([
    ['https://www.rfc-editor.org/rfc/rfc6455', 'https://www.rfc-editor.org/rfc/rfc6455'],
    ['https://www.rfc-editor.org/rfc/rfc6455#section-5.2', 'https://www.rfc-editor.org/rfc/rfc6455#section-5.2'],
    ['https://WWW.RFC-EDITOR.ORG/rfc/rfc6455.html', 'https://www.rfc-editor.org/rfc/rfc6455.html'],
    ['https://datatracker.ietf.org/doc/html/rfc6455', 'https://datatracker.ietf.org/doc/html/rfc6455'],
    ['https://www.iana.org/assignments/websocket/websocket.xhtml', 'https://www.iana.org/assignments/websocket/websocket.xhtml'],
  ])('allows %s (opened as %s)', (url, opened) => {
    expect(allowedExternalUrl(url)).toBe(opened);
    expect(isAllowedExternalUrl(url)).toBe(true);
  });

  it.each([
    ['http://www.rfc-editor.org/rfc/rfc6455', 'plain http'],
    ['javascript:alert(1)', 'javascript:'],
    ['file:///etc/passwd', 'file:'],
    ['file://www.rfc-editor.org/rfc/rfc6455', 'file: with an allowed host'],
    ['smb://www.rfc-editor.org/share', 'smb:'],
    ['ms-msdt:/id PCWDiagnostic', 'an OS protocol handler'],
    ['data:text/html,hi', 'data:'],
    ['https://www.rfc-editor.org.evil.example/rfc/rfc6455', 'a host that starts with ours'],
    ['https://evil.example/www.rfc-editor.org/', 'our host in the path'],
    ['https://www.rfc-editor.org@evil.example/', 'our host as credentials'],
    ['https://user:pw@www.rfc-editor.org/rfc/rfc6455', 'credentials'],
    ['https://www.rfc-editor.org:8443/rfc/rfc6455', 'another port'],
    ['https://rfc-editor.org/rfc/rfc6455', 'another host of the same site'],
    ['https://datatracker.ietf.org/accounts/login/', 'an allowed host outside its prefix'],
    ['https://www.iana.org/assignments/websocket/../../evil', 'dot segments out of the prefix'],
    ['https://www.iana.org/assignments/websocket', 'the prefix without its slash'],
    ['https://www.iana.org/', 'the host root'],
    ['https://example.com/', 'anything else'],
    ['', 'nothing'],
    ['www.rfc-editor.org/rfc/rfc6455', 'no scheme'],
  ])('refuses %s (%s)', (url) => {
    expect(allowedExternalUrl(url)).toBeNull();
    expect(isAllowedExternalUrl(url)).toBe(false);
  });

  it('keeps the allow-list to https hosts we cite, each with a path prefix', () => {
    expect(EXTERNAL_URL_ALLOW_LIST.map((e) => e.host).sort()).toEqual(['datatracker.ietf.org', 'www.iana.org', 'www.rfc-editor.org']);
    for (const entry of EXTERNAL_URL_ALLOW_LIST) expect(entry.pathPrefix).toMatch(/^\/(?:.*\/)?$/);
  });
});

describe('devRendererUrl', () => {
  it.each([
    ['http://localhost:5173', 'http://localhost:5173/'],
    ['http://127.0.0.1:5173/', 'http://127.0.0.1:5173/'],
    ['http://[::1]:5173/', 'http://[::1]:5173/'],
  ])('honours %s in an unpackaged app', (value, url) => {
    expect(devRendererUrl(value, false)).toBe(url);
  });

  it.each([
    ['http://localhost:5173', true, 'a packaged app ignores it'],
    [undefined, false, 'unset'],
    ['', false, 'empty'],
    ['http://evil.example:5173/', false, 'another machine'],
    ['http://localhost.evil.example:5173/', false, 'a name that starts with localhost'],
    ['http://127.0.0.1.evil.example/', false, 'a name that starts with 127.0.0.1'],
    ['http://10.0.0.2:5173/', false, 'a LAN address'],
    ['file:///tmp/evil.html', false, 'a file'],
    ['javascript:alert(1)', false, 'javascript:'],
    ['not a url', false, 'garbage'],
  ])('ignores %s (packaged: %s; %s)', (value, isPackaged, _why) => {
    expect(devRendererUrl(value, isPackaged)).toBeNull();
  });
});
