/** Address helpers over ipaddr.js: canonical text, family, numeric ordering. */
import ipaddr from "ipaddr.js";
import { formatIpv6Groups, plainIpv4Value, plainIpv6Groups } from "../schema/ip-text.js";
import type { Family } from "../schema/spec-schema.js";

/** The canonical text of an address: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function canonicalAddress(address: string): string {
  // the common forms without ipaddr.js; the same text ipaddr.js would print
  if (plainIpv4Value(address) >= 0) return address;
  const groups = plainIpv6Groups(address);
  if (groups !== undefined) return formatIpv6Groups(groups);
  return ipaddr.parse(address).toString();
}

export function addressFamily(address: string): Family {
  return address.includes(":") ? "inet6" : "inet";
}

/** Bytes of the address, for numeric comparison (ipvsadm's own order is not numeric). */
function addressBytes(address: string): number[] {
  const v4 = plainIpv4Value(address);
  if (v4 >= 0) return [(v4 >>> 24) & 255, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255];
  const groups = plainIpv6Groups(address);
  if (groups !== undefined) return groups.flatMap((g) => [g >> 8, g & 255]);
  return ipaddr.parse(address).toByteArray();
}

/** Orders IPv4 before IPv6, then numerically. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const va = plainIpv4Value(a), vb = plainIpv4Value(b);
  if (va >= 0 && vb >= 0) {
    // the first differing byte's difference, as the byte loop below returns it
    for (let shift = 24; shift >= 0; shift -= 8) {
      const d = ((va >>> shift) & 255) - ((vb >>> shift) & 255);
      if (d !== 0) return d;
    }
    return 0;
  }
  const ga = va >= 0 ? undefined : plainIpv6Groups(a), gb = vb >= 0 ? undefined : plainIpv6Groups(b);
  if ((va >= 0 || ga) && (vb >= 0 || gb)) {
    if (!ga || !gb) return ga ? 12 : -12; // 16 bytes against 4: the length difference
    for (let i = 0; i < 8; i++) {
      const x = ga[i]!, y = gb[i]!;
      if (x !== y) return (x >> 8) - (y >> 8) || (x & 255) - (y & 255);
    }
    return 0;
  }
  const ba = addressBytes(a), bb = addressBytes(b);
  if (ba.length !== bb.length) return ba.length - bb.length;
  for (let i = 0; i < ba.length; i++) {
    const d = (ba[i] ?? 0) - (bb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, "0");
}

/**
 * A string whose plain comparison orders exactly like compareAddresses (equal keys for
 * equal addresses): `4` + 8 hex digits for IPv4, `6` + 32 for IPv6. Sorting by keys reads
 * each address once instead of twice per comparison.
 */
export function addressSortKey(address: string): string {
  const v4 = plainIpv4Value(address);
  if (v4 >= 0) return `4${hex(v4, 8)}`;
  const groups = plainIpv6Groups(address);
  if (groups !== undefined) return `6${groups.map((g) => hex(g, 4)).join("")}`;
  const bytes = addressBytes(address);
  return `${bytes.length === 4 ? "4" : "6"}${bytes.map((b) => hex(b, 2)).join("")}`;
}

/** `255.255.255.0` -> 24; undefined when the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  try {
    return ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask() ?? undefined;
  } catch {
    return undefined;
  }
}

/** 24 -> `255.255.255.0` */
export function prefixToNetmask(prefix: number): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
}

/** `[2001:db8::1]:80` for IPv6, `10.0.0.1:80` for IPv4. */
export function formatAddressPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Splits `address/len` (len optional, default the full length) and canonicalises the address. */
export function parsePrefix(text: string): { address: string; length: number; family: Family } {
  const [addr = "", len] = text.split("/");
  const family = addressFamily(addr);
  return {
    address: canonicalAddress(addr),
    length: len === undefined ? (family === "inet" ? 32 : 128) : Number(len),
    family,
  };
}
