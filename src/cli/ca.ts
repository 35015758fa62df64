/**
 * wsinspect ca create|show|path|remove: the local certificate authority that `proxy --forward
 * --intercept-tls` signs its certificates with (src/core/net/certificate-authority.ts). Nothing
 * here installs or trusts anything: `show` prints how to, for each browser and system.
 */

import { authorityFiles, createAuthority, describeAuthority, loadAuthority, removeAuthority, trustInstructions, untrustSteps } from '../core/net/certificate-authority.ts';
import { TlsConfigError } from '../core/net/transport.ts';
import { CliError } from './wsinspect.ts';

export const caUsage = `wsinspect ca — the local certificate authority for TLS interception (proxy --forward --intercept-tls)

Usage:
  wsinspect ca create     make the CA (once; its key stays in the config directory, mode 0600)
  wsinspect ca show       its subject, validity, SHA-256 fingerprint, and how to trust it (and undo that)
  wsinspect ca path       the certificate's file name (for --ca, NODE_EXTRA_CA_CERTS, certutil -i)
  wsinspect ca remove     delete the CA's certificate and key (remove it from every trust store too)
Whoever holds the CA's key can impersonate any website to a client that trusts the CA: trust it only in a
browser profile or tool you use for debugging, and remove it when done.`;

export async function ca(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(caUsage + '\n');
    return command === undefined ? 2 : 0;
  }
  if (rest.length > 0) throw new CliError(`ca ${command} takes no arguments (got ${JSON.stringify(rest[0]!.slice(0, 60))})`, 2);
  const files = authorityFiles();
  try {
    switch (command) {
      case 'create': {
        const existing = loadAuthority(files);
        if (existing) {
          out(`a proxy CA exists already: ${files.certPath} (wsinspect ca show; to replace it: wsinspect ca remove, then create)\n`);
          return 0;
        }
        const made = await createAuthority(files);
        const d = describeAuthority(made.cert, files);
        out([`made the proxy CA: ${d.subject}`, `  certificate ${d.certPath}`, `  key         ${d.keyPath} (mode 0600)`, `  SHA-256     ${d.sha256}`, ...trustInstructions(d)].join('\n') + '\n');
        return 0;
      }
      case 'show': {
        const pair = loadAuthority(files);
        if (!pair) throw new CliError(`there is no proxy CA yet (${files.certPath}); make one with: wsinspect ca create`, 1);
        const d = describeAuthority(pair.cert, files);
        out([
          `proxy CA: ${d.subject}`, `  valid ${d.validFrom.slice(0, 10)} to ${d.validTo.slice(0, 10)}`,
          `  SHA-256 fingerprint ${d.sha256}`, `  SPKI SHA-256 (base64) ${d.spkiSha256}`,
          `  certificate ${d.certPath}`, `  key         ${d.keyPath}`, ...trustInstructions(d),
        ].join('\n') + '\n');
        return 0;
      }
      case 'path': {
        if (!loadAuthority(files)) throw new CliError(`there is no proxy CA yet (${files.certPath}); make one with: wsinspect ca create`, 1);
        out(files.certPath + '\n');
        return 0;
      }
      case 'remove': {
        // A damaged CA is removed too: that is the way out the load error points to.
        let described = null;
        try {
          const pair = loadAuthority(files);
          described = pair ? describeAuthority(pair.cert, files) : null;
        } catch {
          // unreadable: removed all the same
        }
        const existed = removeAuthority(files);
        if (!existed) {
          out(`there was no proxy CA (${files.certPath})\n`);
          return 0;
        }
        out([`removed the proxy CA (${files.certPath} and its key): nothing can be signed with it any more.`, ...(described ? untrustSteps(described) : [])].join('\n') + '\n');
        return 0;
      }
      default:
        throw new CliError(`unknown ca command "${command.slice(0, 40)}" (create, show, path or remove)`, 2);
    }
  } catch (error) {
    if (error instanceof TlsConfigError) throw new CliError(error.message, 1);
    throw error;
  }
}
