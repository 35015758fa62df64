/**
 * TLS in the app, end to end in Chromium (issue 11): the server bar's TLS switch restarts the
 * embedded server on wss:// with the generated certificate, shows its fingerprint and how to
 * trust it in a browser; the client form's CA field and "insecure (don't verify)" checkbox; the
 * red insecure tag on the connection; the TLS panel in the Handshake view (version, cipher, ALPN,
 * SNI, the chain, a sentence per field) for a verified, an insecure, a failed and a server-side
 * connection. Screenshots at 1440×900 and 1024×700 go to .test-output/screenshots/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
let configDir: string;
let wssUrl: string;

const sizes = [[1440, 900], [1024, 700]] as const;

/** Screenshots of the current view at both sizes (the page is left at the larger one). */
async function shots(name: string): Promise<void> {
  for (const [width, height] of sizes) {
    await page.setViewportSize({ width, height });
    await inspector.shot(`tls-${name}-${width}x${height}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

/** Opens a client from the form; returns its connection id. */
async function connectFromForm(url: string, options: { ca?: string; insecure?: boolean } = {}): Promise<string> {
  await page.getByLabel('Client URL').fill(url);
  await page.getByLabel('CA certificates').fill(options.ca ?? '');
  const insecure = page.getByLabel('insecure (don\'t verify)');
  if ((await insecure.isChecked()) !== (options.insecure ?? false)) await insecure.click();
  await page.getByRole('button', { name: 'Connect client' }).click();
  return inspector.newConnectionId('client');
}

async function openHandshake(id: string): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Handshake' }).click();
  await page.getByTestId('tls-view').waitFor();
}

function field(name: string) {
  return page.getByTestId('tls-fields').locator(`[data-tls-field=${name}] .tls-value`);
}

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'wsi-e2e-tls-'));
  inspector = await startInspector({ service: { configDir } });
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
});

afterAll(async () => {
  await inspector?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('TLS in the app', () => {
  it('the TLS switch restarts the server on wss:// with the generated certificate, its fingerprint and how to trust it', async () => {
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByTestId('server-status').getByText('stopped').waitFor();
    await page.getByTestId('tls-switch').check();
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText('wss://').waitFor();
    const status = inspector.host.service.getStatus().server;
    wssUrl = status.url!;
    expect(wssUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    expect(status.tls?.certPath).toBe(join(configDir, 'tls', 'localhost-cert.pem'));
    expect(await page.getByTestId('server-status').textContent()).toContain(wssUrl);
    expect(await page.getByTestId('server-fingerprint').textContent()).toBe(status.tls!.certificate.sha256);
    await page.getByTestId('trust-how-to').locator('summary').click();
    const howTo = (await page.getByTestId('trust-how-to').textContent())!;
    expect(await page.getByTestId('spki-flag').textContent()).toBe(`--ignore-certificate-errors-spki-list=${status.tls!.certificate.spkiSha256}`);
    expect(howTo).toContain(`open ${wssUrl.replace('wss:', 'https:')} once and accept the warning`);
    expect(howTo).toContain('Firefox');
    expect(howTo).toContain(`wsinspect connect ${wssUrl} --ca ${status.tls!.certPath}`);
    // The other "how to connect" hints tell terminal clients to trust it too.
    expect(await page.locator('.empty-state').textContent()).toContain(`npx wsinspect connect ${wssUrl} --ca ${status.tls!.certPath} --send Hello`);
    expect(await page.locator('.sidebar .how-to pre').nth(1).textContent()).toContain(`wscat -c ${wssUrl} --ca ${status.tls!.certPath}`);
    await shots('01-server-bar-how-to-trust');
    await page.getByTestId('trust-how-to').locator('summary').click();
  });

  it('an insecure client: a red tag on the connection, and the TLS panel says it was not verified and why', async () => {
    const id = await connectFromForm(wssUrl, { insecure: true });
    await page.getByTestId(`connection-${id}`).getByTestId('tls-tag').getByText('⚠ insecure').waitFor();
    expect(await page.getByTestId(`connection-${id}`).getAttribute('class')).toContain('insecure');
    await openHandshake(id);
    const verdict = page.getByTestId('tls-verdict');
    expect(await verdict.getAttribute('data-kind')).toBe('insecure');
    expect(await verdict.textContent()).toContain('The server\'s certificate is self-signed');
    expect(await field('protocol').textContent()).toBe('TLSv1.3');
    expect(await field('cipher').textContent()).toMatch(/^TLS_/);
    expect(await field('alpn').textContent()).toContain('http/1.1');
    expect(await field('sni').textContent()).toContain('not sent: the URL names an IP address');
    expect(await field('verified').textContent()).toContain('✗ no');
    const cert = page.getByTestId('tls-certificate').first();
    expect(await cert.textContent()).toContain('self-signed');
    expect(await cert.getByTestId('tls-fingerprint').textContent()).toBe(inspector.host.service.getStatus().server.tls!.certificate.sha256);
    // A sentence per field, with where the rule comes from.
    expect(await page.getByTestId('tls-fields').locator('[data-tls-field=sni] .tls-explain').textContent()).toContain('RFC 6066 §3');
    expect(await cert.locator('[data-tls-field=subjectAltNames] .tls-explain').textContent()).toContain('The host in the URL must be one of them');
    // And the opening handshake still follows, inside TLS.
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('Handshake accepted');
    await shots('02-tls-panel-insecure');
  });

  it('the server\'s side of that connection: our certificate and what the client sent', async () => {
    const peerId = await inspector.newConnectionId('server');
    await openHandshake(peerId);
    expect(await page.getByTestId('tls-verdict').getAttribute('data-kind')).toBe('server');
    expect(await field('sni').textContent()).toContain('the client sent none');
    expect(await page.locator('.tls-cert h4').first().textContent()).toContain('Presented by our server');
    await shots('03-tls-panel-server-side');
  });

  it('without insecure or a CA: refused, explained in the notice and in the panel, with what to do', async () => {
    const id = await connectFromForm(wssUrl.replace('127.0.0.1', 'localhost'));
    await page.getByRole('alert').getByText('self-signed').waitFor();
    await page.getByTestId(`connection-${id}`).getByTestId('tls-tag').getByText('TLS failed').waitFor();
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await openHandshake(id);
    const verdict = page.getByTestId('tls-verdict');
    expect(await verdict.getAttribute('data-kind')).toBe('self-signed');
    const text = (await verdict.textContent())!;
    expect(text).toContain('TLS failed: The server\'s certificate is self-signed: it signed itself, so no authority vouches that it belongs to localhost.');
    expect(text).toContain('--ca FILE (in the app: the CA field)');
    expect(await verdict.locator('.tls-advice li').count()).toBe(2);
    // The chain is still shown: the certificate it was about.
    expect(await page.getByTestId('tls-certificate').count()).toBe(1);
    await shots('04-tls-panel-failed');
  });

  it('with the certificate file as CA: verified, a lock tag, SNI localhost', async () => {
    const certPath = inspector.host.service.getStatus().server.tls!.certPath;
    const id = await connectFromForm(wssUrl.replace('127.0.0.1', 'localhost'), { ca: certPath });
    await page.getByTestId(`connection-${id}`).getByTestId('tls-tag').getByText('TLSv1.3').waitFor();
    await openHandshake(id);
    expect(await page.getByTestId('tls-verdict').getAttribute('data-kind')).toBe('verified');
    expect(await page.getByTestId('tls-verdict').textContent()).toContain('covers "localhost"');
    expect(await field('sni').textContent()).toContain('localhost');
    expect(await field('verified').textContent()).toContain('✓ yes');
    expect(await field('verified').textContent()).toContain('with 1 extra CA certificate');
    await shots('05-tls-panel-verified');
    expect(inspector.pageErrors).toEqual([]);
  });
});
