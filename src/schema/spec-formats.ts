/**
 * The string checks of the spec schema that a JSON Schema pattern cannot spell. zod's
 * refinements call these functions, and the zod schema names them as JSON Schema formats
 * (`format: "ipvs-address"`), which the spec-file validator (ajv) is given as the same
 * functions: both schemas check the same things with the same code.
 */
import ipaddr from "ipaddr.js";
import { HOSTNAME } from "./grammar.js";
import { plainIpv4Value, plainIpv6Groups } from "./ip-text.js";

/** True for a canonical-parsable IPv4 (four decimal parts) or IPv6 address. */
export function isIpAddress(value: string): boolean {
  // the common case without ipaddr.js's regular expressions: the same four-decimal-part test
  if (plainIpv4Value(value) >= 0) return true;
  // without a colon only the IPv4 form can match; with one, asking ipaddr.js about IPv4
  // first costs a thrown exception per address
  if (!value.includes(":")) return ipaddr.IPv4.isValidFourPartDecimal(value);
  if (plainIpv6Groups(value) !== undefined) return true;
  if (!ipaddr.IPv6.isValid(value)) return false;
  return !value.includes("%"); // zone ids never reach the kernel tables
}

/** An address with an optional prefix length: `203.0.113.10`, `203.0.113.10/32`, `2001:db8::10/64`. */
export function isIpPrefix(value: string): boolean {
  const [addr, len, extra] = value.split("/");
  if (extra !== undefined || addr === undefined || !isIpAddress(addr)) return false;
  if (len === undefined) return true;
  if (!/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (addr.includes(":") ? 128 : 32);
}

/** An IP address or a DNS name (an SSH endpoint's host). */
export function isIpAddressOrHostname(value: string): boolean {
  return isIpAddress(value) || HOSTNAME.pattern.test(value);
}

/** The formats the spec's JSON Schema uses, by name: ajv is given exactly these. */
export const SPEC_FORMATS = {
  "ipvs-address": isIpAddress,
  "ipvs-prefix": isIpPrefix,
  "ipvs-host": isIpAddressOrHostname,
} as const satisfies Record<string, (value: string) => boolean>;

/** A format name of {@link SPEC_FORMATS}. */
export type SpecFormat = keyof typeof SPEC_FORMATS;
