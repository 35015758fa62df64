/**
 * wsinspect over TLS, spawned as a user runs it: serve --tls (the generated certificate in the
 * config directory, or --cert/--key), connect wss:// with --ca or --insecure, the TLS summary in
 * the pretty trace and the event in jsonl, and every bad file or flag as one line with exit 2.
 */
import { statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCertificate, type CertificatePair } from '../../src/core/net/certificates.ts';
import { killRunning, runCli, waitFor, type Run } from '../support/cli.ts';

let dir: string;
let env: Record<string, string>;
let pair: CertificatePair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-tls-'));
  env = { XDG_CONFIG_HOME: join(dir, 'config') };
  pair = await createCertificate({ commonName: 'localhost', names: ['localhost', '127.0.0.1'] });
  writeFileSync(join(dir, 'cert.pem'), pair.cert);
  writeFileSync(join(dir, 'key.pem'), pair.key);
});
afterAll(() => {
  killRunning();
  rmSync(dir, { recursive: true, force: true });
});

async function serveTls(extra: string[] = []): Promise<{ run: Run; url: string }> {
  const run = runCli(['serve', '--port', '0', ...extra], env);
  const url = await waitFor(() => /listening on (wss:\/\/\S+)/.exec(run.stdout())?.[1] ?? /"url":"(wss:\/\/[^"]+)"/.exec(run.stdout())?.[1], `the listening line (stdout: ${run.stdout()} stderr: ${run.stderr()})`);
  return { run, url };
}

async function lines(run: Run): Promise<{ code: number; stdout: string; stderr: string[] }> {
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr().trim().split('\n').filter(Boolean) };
}

describe('wsinspect serve --tls and connect wss://', () => {
  let serve: { run: Run; url: string };
  const certPath = () => join(dir, 'config', 'websocket-inspector', 'tls', 'localhost-cert.pem');

  beforeAll(async () => {
    serve = await serveTls(['--tls']);
  });
  afterAll(() => {
    serve.run.child.kill('SIGTERM');
  });

  it('generates the certificate on first use in $XDG_CONFIG_HOME/websocket-inspector/tls (0600), and says how to trust it', async () => {
    expect(serve.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    expect(statSync(certPath()).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config', 'websocket-inspector', 'tls', 'localhost-key.pem')).mode & 0o777).toBe(0o600);
    await waitFor(() => serve.run.stdout().includes('try it:'), 'the try-it line');
    const out = serve.run.stdout();
    expect(out).toMatch(/TLS certificate: CN=WebSocket Inspector \(localhost\) \(self-signed\), for DNS:localhost, IP:127\.0\.0\.1, IP:::1/);
    expect(out).toMatch(/SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(out).toMatch(/--ignore-certificate-errors-spki-list=[A-Za-z0-9+/]{43}=/);
    expect(out).toContain(`wsinspect: connect ${serve.url} --ca ${certPath()}`);
    expect(serve.run.stderr()).toContain('generated a self-signed certificate for localhost, 127.0.0.1 and ::1 (first use)');
  });

  it('connect --ca FILE: verified, the TLS summary in the pretty trace, the echo back, exit 0', async () => {
    const { code, stdout, stderr } = await lines(runCli(['connect', serve.url.replace('127.0.0.1', 'localhost'), '--ca', certPath(), '--send', 'hello over wss'], env));
    expect(stderr).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/✓ TLS TLSv1\.3, TLS_\w+, ALPN http\/1\.1, SNI localhost/);
    expect(stdout).toContain('✓ verified: the chain leads to a trusted certificate authority and the certificate covers "localhost"');
    expect(stdout).toMatch(/message text 14 bytes from|message text 14 bytes: "hello over wss"/);
  });

  it('connect without --ca: one line saying it is self-signed, what to do, exit 1', async () => {
    const { code, stderr } = await lines(runCli(['connect', serve.url, '--trace', 'none'], env));
    expect(code).toBe(1);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^wsinspect: TLS with wss:\/\/127\.0\.0\.1:\d+\/ failed: The server's certificate is self-signed/);
    expect(stderr[0]).toContain('--ca FILE');
    expect(stderr[0]).toContain('--insecure');
    expect(stderr[0]).toMatch(/\[DEPTH_ZERO_SELF_SIGNED_CERT\]$/);
  });

  it('connect --insecure: connects, and the trace says INSECURE in words (jsonl carries the tls event)', async () => {
    const pretty = await lines(runCli(['connect', serve.url, '--insecure', '--send', 'x'], env));
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toContain('⚠ INSECURE (--insecure): the server\'s certificate was NOT verified');
    const jsonl = await lines(runCli(['connect', serve.url, '--insecure', '--send', 'x', '--trace', 'jsonl'], env));
    expect(jsonl.code).toBe(0);
    const events = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const tls = events.find((e) => e['type'] === 'tls')!['tls'];
    expect(tls).toMatchObject({ role: 'client', ok: true, verified: false, insecure: true, alpn: 'http/1.1', failure: { kind: 'self-signed' } });
    expect(events.findIndex((e) => e['type'] === 'tls')).toBeLessThan(events.findIndex((e) => e['type'] === 'http-head'));
  });

  it('the server\'s own trace shows each client\'s TLS, and the refusal of the one that did not trust it', async () => {
    await waitFor(() => serve.run.stdout().includes('The client hung up during the TLS handshake'), 'the refusal in the server trace');
    expect(serve.run.stdout()).toMatch(/our cert {4}CN=WebSocket Inspector \(localhost\)/);
  });

  it('a second serve --tls reuses the certificate (same fingerprint)', async () => {
    const fingerprint = /SHA-256 fingerprint (\S+)/.exec(serve.run.stdout())![1];
    const again = await serveTls(['--tls']);
    await waitFor(() => again.run.stdout().includes('SHA-256 fingerprint'), 'the fingerprint');
    expect(/SHA-256 fingerprint (\S+)/.exec(again.run.stdout())![1]).toBe(fingerprint);
    expect(again.run.stderr()).not.toContain('generated');
    again.run.child.kill('SIGTERM');
  });
});

describe('wsinspect serve --cert FILE --key FILE', () => {
  it('serves with the given certificate; a ws client trusting it talks to it', async () => {
    const { run, url } = await serveTls(['--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), '--trace', 'jsonl']);
    try {
      const cli = await waitFor(() => run.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).find((e) => e['event'] === 'tls'), 'the tls line');
      expect(cli['certificate']).toMatchObject({ subject: 'CN=localhost', selfSigned: true });
      const ws = new WebSocket(url.replace('127.0.0.1', 'localhost'), { ca: pair.cert });
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hi'));
        ws.once('message', (data) => resolve(data.toString()));
        ws.once('error', reject);
      });
      expect(echoed).toBe('hi');
      ws.close();
    } finally {
      run.child.kill('SIGTERM');
    }
  });
});

describe('bad TLS input: one plain line, exit 2, never a stack', () => {
  it.each([
    ['--ca with a missing file', () => ['connect', 'wss://127.0.0.1:1/', '--ca', join(dir, 'missing.pem')], /^wsinspect: --ca: cannot read ".*missing\.pem": no such file\.$/],
    ['--ca with a private key', () => ['connect', 'wss://127.0.0.1:1/', '--ca', join(dir, 'key.pem')], /holds no certificate \(it holds a private key: give the certificate instead\)/],
    ['--ca with a folder', () => ['connect', 'wss://127.0.0.1:1/', '--ca', dir], /is a folder, not a file\.$/],
    ['--ca on a ws:// URL', () => ['connect', 'ws://127.0.0.1:1/', '--ca', join(dir, 'cert.pem')], /^wsinspect: --ca is for wss:\/\/ URLs; "ws:\/\/127\.0\.0\.1:1\/" is not one\.$/],
    ['--insecure on a ws:// URL', () => ['connect', 'ws://127.0.0.1:1/', '--insecure'], /--insecure is for wss:\/\/ URLs/],
    ['--cert without --key', () => ['serve', '--port', '0', '--cert', join(dir, 'cert.pem')], /^wsinspect: --cert needs --key FILE too: the certificate and its private key\.$/],
    ['--key without --cert', () => ['serve', '--port', '0', '--key', join(dir, 'key.pem')], /^wsinspect: --key needs --cert FILE too/],
    ['--cert and --key swapped', () => ['serve', '--port', '0', '--cert', join(dir, 'key.pem'), '--key', join(dir, 'cert.pem')], /holds no certificate/],
    ['a key of another certificate', () => {
      writeFileSync(join(dir, 'other-key.pem'), '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGhRANCAAR\n-----END PRIVATE KEY-----\n');
      return ['serve', '--port', '0', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'other-key.pem')];
    }, /--key ".*other-key\.pem" holds no private key we can read/],
  ])('%s', async (_label, args, message) => {
    const { code, stderr } = await lines(runCli(args(), env));
    expect(code).toBe(2);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(message);
  });

  it('a mismatched pair', async () => {
    const other = await createCertificate({ commonName: 'other' });
    writeFileSync(join(dir, 'mismatch-key.pem'), other.key);
    const { code, stderr } = await lines(runCli(['serve', '--port', '0', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'mismatch-key.pem')], env));
    expect(code).toBe(2);
    expect(stderr).toEqual([expect.stringMatching(/^wsinspect: --key ".*mismatch-key\.pem" does not belong to the certificate in --cert ".*cert\.pem" \(the key pair differs\)/)]);
  });

  it('--help lists --tls, --cert, --key, --ca and --insecure', async () => {
    const { code, stdout } = await lines(runCli(['--help']));
    expect(code).toBe(0);
    for (const flag of ['--tls', '--cert FILE --key FILE', '--ca FILE', '--insecure', 'wsinspect connect <ws://url | wss://url>']) expect(stdout).toContain(flag);
  });
});
