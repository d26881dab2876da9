/** Address helpers over ipaddr.js: canonical text, family, numeric ordering. */
import ipaddr from "ipaddr.js";
import type { Family } from "../schema/spec-schema.js";

/** The canonical text of an address: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function canonicalAddress(address: string): string {
  return ipaddr.parse(address).toString();
}

export function addressFamily(address: string): Family {
  return address.includes(":") ? "inet6" : "inet";
}

/** Bytes of the address, for numeric comparison (ipvsadm's own order is not numeric). */
function addressBytes(address: string): number[] {
  return ipaddr.parse(address).toByteArray();
}

/** Orders IPv4 before IPv6, then numerically. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const ba = addressBytes(a), bb = addressBytes(b);
  if (ba.length !== bb.length) return ba.length - bb.length;
  for (let i = 0; i < ba.length; i++) {
    const d = (ba[i] ?? 0) - (bb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
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
