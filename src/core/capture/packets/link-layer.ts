/**
 * From a captured frame to the IP packet inside it, for the link types that tcpdump, dumpcap and
 * Wireshark write for the captures people take of WebSocket traffic (numbers from the tcpdump.org
 * LINKTYPE_ list):
 *
 *   1    Ethernet II, with 802.1Q / 802.1ad VLAN tags (any depth)
 *   113  Linux cooked capture v1 (SLL): 16-byte header, protocol at offset 14 ("tcpdump -i any")
 *   276  Linux cooked capture v2 (SLL2): 20-byte header, protocol at offset 0
 *   0    BSD loopback/null: a 4-byte address family in the capturing host's byte order
 *   108  OpenBSD loopback (LOOP): the same, in network byte order
 *   101  raw IP (version from the first nibble); 228 raw IPv4; 229 raw IPv6
 *
 * Anything else (ARP, other link types) is skipped with the reason, never guessed at.
 */

export type NetworkPacket =
  | { kind: 'ip'; version: 4 | 6; bytes: Uint8Array }
  | { kind: 'skip'; reason: string };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;

export const LinkType = {
  Null: 0,
  Ethernet: 1,
  RawLegacy: 12,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

export const linkTypeNames: Record<number, string> = {
  0: 'BSD loopback', 1: 'Ethernet', 12: 'raw IP', 101: 'raw IP', 108: 'OpenBSD loopback', 113: 'Linux cooked (SLL)', 228: 'raw IPv4', 229: 'raw IPv6', 276: 'Linux cooked v2 (SLL2)',
};

function fromEtherType(type: number, bytes: Uint8Array): NetworkPacket {
  if (type === ETHERTYPE_IPV4) return { kind: 'ip', version: 4, bytes };
  if (type === ETHERTYPE_IPV6) return { kind: 'ip', version: 6, bytes };
  return { kind: 'skip', reason: `EtherType 0x${type.toString(16).padStart(4, '0')} (not IP)` };
}

function fromVersionNibble(bytes: Uint8Array): NetworkPacket {
  const version = bytes.length > 0 ? bytes[0]! >> 4 : 0;
  if (version === 4 || version === 6) return { kind: 'ip', version, bytes };
  return { kind: 'skip', reason: `raw packet with IP version ${version}` };
}

/** BSD address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux). */
function fromAddressFamily(family: number, bytes: Uint8Array): NetworkPacket {
  if (family === 2) return { kind: 'ip', version: 4, bytes };
  if (family === 24 || family === 28 || family === 30 || family === 10) return { kind: 'ip', version: 6, bytes };
  return { kind: 'skip', reason: `loopback address family ${family} (not IP)` };
}

function tooShort(name: string, length: number): NetworkPacket {
  return { kind: 'skip', reason: `${name} frame too short (${length} bytes)` };
}

export function decodeLinkLayer(linkType: number, frame: Uint8Array): NetworkPacket {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  switch (linkType) {
    case LinkType.Ethernet: {
      let at = 12;
      if (frame.length < at + 2) return tooShort('Ethernet', frame.length);
      let type = view.getUint16(at);
      // 802.1Q / 802.1ad: a 2-byte tag control field, then the next EtherType.
      while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
        at += 4;
        if (frame.length < at + 2) return tooShort('VLAN-tagged Ethernet', frame.length);
        type = view.getUint16(at);
      }
      return fromEtherType(type, frame.subarray(at + 2));
    }
    case LinkType.LinuxSll:
      if (frame.length < 16) return tooShort('Linux cooked', frame.length);
      return fromEtherType(view.getUint16(14), frame.subarray(16));
    case LinkType.LinuxSll2:
      if (frame.length < 20) return tooShort('Linux cooked v2', frame.length);
      return fromEtherType(view.getUint16(0), frame.subarray(20));
    case LinkType.Null: {
      if (frame.length < 4) return tooShort('loopback', frame.length);
      // Host byte order of the machine that captured: the family is small, so the non-zero end tells.
      const family = view.getUint32(0, frame[0] !== 0 || frame[3] === 0);
      return fromAddressFamily(family, frame.subarray(4));
    }
    case LinkType.Loop:
      if (frame.length < 4) return tooShort('loopback', frame.length);
      return fromAddressFamily(view.getUint32(0), frame.subarray(4));
    case LinkType.Raw:
    case LinkType.RawLegacy:
      return fromVersionNibble(frame);
    case LinkType.Ipv4:
      return { kind: 'ip', version: 4, bytes: frame };
    case LinkType.Ipv6:
      return { kind: 'ip', version: 6, bytes: frame };
    default:
      return { kind: 'skip', reason: `link type ${linkType} is not read (Ethernet, Linux cooked, loopback and raw IP are)` };
  }
}
