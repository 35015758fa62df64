/**
 * The app's side of the local certificate authority for TLS interception (issue 12): what it is
 * and how to trust it (the same steps `wsinspect ca show` prints, as data), and the actions the
 * Proxy bar offers: create, regenerate (a new key: every client must trust the new one), remove.
 * Nothing is ever trusted or installed from here. No electron import.
 */
import {
  authorityFiles, createAuthority, describeAuthority, loadAuthority, removeAuthority, riskStatement, trustCommands, untrustSteps, LeafMinter,
} from '../core/net/certificate-authority.ts';
import { TlsConfigError } from '../core/net/transport.ts';
import type { Result } from '../shared/inspector-api.ts';
import type { ProxyCaAction, ProxyCaStatus } from '../shared/proxy-api.ts';

/** The CA in this config directory: null when there is none; `error` when it cannot be used. */
export function proxyCaStatus(configDir: string): ProxyCaStatus | null {
  const files = authorityFiles(configDir);
  try {
    const pair = loadAuthority(files);
    if (!pair) return null;
    const d = describeAuthority(pair.cert, files);
    return {
      certPath: d.certPath, keyPath: d.keyPath, subject: d.subject, validFrom: d.validFrom, validTo: d.validTo, sha256: d.sha256, spkiSha256: d.spkiSha256,
      trust: trustCommands(d), untrust: untrustSteps(d), risk: riskStatement(d),
    };
  } catch (error) {
    const message = error instanceof TlsConfigError ? error.message : `The proxy CA cannot be read: ${(error as Error).message}`;
    return { certPath: files.certPath, keyPath: files.keyPath, error: message.replace(/wsinspect ca remove/g, 'Remove (here) or wsinspect ca remove'), trust: [], untrust: [], risk: [] };
  }
}

/** Create (if there is none), regenerate (remove, then create) or remove the CA. */
export async function proxyCaAction(configDir: string, action: ProxyCaAction): Promise<Result> {
  const files = authorityFiles(configDir);
  try {
    if (action === 'remove') {
      removeAuthority(files);
      return { ok: true };
    }
    if (action === 'regenerate') removeAuthority(files);
    else if (proxyCaStatus(configDir)) return { ok: true };
    await createAuthority(files);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof TlsConfigError ? error.message : `Proxy CA: ${(error as Error).message}` };
  }
}

/** The minter for interception: the stored CA, made now if there is none. */
export async function interceptionMinter(configDir: string): Promise<LeafMinter> {
  const files = authorityFiles(configDir);
  const pair = loadAuthority(files) ?? (await createAuthority(files));
  return new LeafMinter(pair);
}
