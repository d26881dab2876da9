/**
 * The fast address readers (src/schema/ip-text.ts) must agree with ipaddr.js wherever they
 * answer: canonical text, validity and byte order of every address text, common or odd.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { canonicalAddress, compareAddresses } from "../../src/model/addresses.js";
import { compareRealServers, isSorted, realServersSorted } from "../../src/model/service-key.js";
import { formatIpv6Groups, plainIpv4Value, plainIpv6Groups } from "../../src/schema/ip-text.js";
import { isIpAddress } from "../../src/schema/spec-formats.js";

const SEED = 20260707;

/** ipaddr.js's answers, the reference the fast paths must match. */
function reference(text: string): { valid: boolean; canonical?: string; bytes?: number[] } {
  let valid: boolean;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) valid = true;
  else valid = text.includes(":") && ipaddr.IPv6.isValid(text) && !text.includes("%");
  try {
    const a = ipaddr.parse(text);
    return { valid, canonical: a.toString(), bytes: a.toByteArray() };
  } catch {
    return { valid };
  }
}

const hexGroup = fc.integer({ min: 0, max: 0xffff }).chain((g) =>
  fc.constantFrom(g.toString(16), g.toString(16).padStart(4, "0"), g.toString(16).toUpperCase()),
);
/** IPv6 texts in every shape: full, compressed anywhere, zero runs, odd case and padding. */
const ipv6Text = fc.tuple(
  fc.array(fc.oneof(hexGroup, fc.constant("0")), { minLength: 8, maxLength: 8 }),
  fc.integer({ min: -1, max: 8 }),
  fc.integer({ min: 0, max: 8 }),
).map(([groups, at, len]) => {
  if (at < 0) return groups.join(":");
  const end = Math.min(8, at + len);
  return `${groups.slice(0, at).join(":")}::${groups.slice(end).join(":")}`;
});
const octet = fc.integer({ min: 0, max: 300 }).chain((o) => fc.constantFrom(String(o), `0${o}`));
const ipv4Text = fc.array(octet, { minLength: 3, maxLength: 5 }).map((p) => p.join("."));
/** Near misses: characters mutated, dropped or added. */
const mangled = fc.tuple(fc.oneof(ipv4Text, ipv6Text), fc.nat(), fc.constantFrom("", ":", ".", "::", "%eth0", "g", "1", "0", "1.2.3.4"), fc.boolean())
  .map(([t, at, s, cut]) => {
    const i = at % (t.length + 1);
    return cut ? t.slice(0, i) + s + t.slice(i + 1) : t.slice(0, i) + s + t.slice(i);
  });
const anyText = fc.oneof(ipv4Text, ipv6Text, mangled, fc.string({ maxLength: 12 }));

describe("fast address readers agree with ipaddr.js", () => {
  test("validity and canonical text, for every kind of text", () => {
    fc.assert(fc.property(anyText, (text) => {
      const ref = reference(text);
      assert.equal(isIpAddress(text), ref.valid, `isIpAddress(${text})`);
      let canonical: string | undefined;
      try {
        canonical = canonicalAddress(text);
      } catch {
        canonical = undefined;
      }
      assert.equal(canonical, ref.canonical, `canonicalAddress(${text})`);
    }), { seed: SEED, numRuns: 4000 });
  });

  test("the readers answer only with ipaddr.js's own values", () => {
    fc.assert(fc.property(anyText, (text) => {
      const ref = reference(text);
      const v4 = plainIpv4Value(text);
      if (v4 >= 0) assert.deepEqual([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255], ref.bytes);
      const groups = plainIpv6Groups(text);
      if (groups !== undefined) {
        assert.deepEqual(groups.flatMap((g) => [g >> 8, g & 255]), ref.bytes, text);
        assert.equal(formatIpv6Groups(groups), ref.canonical, text);
      }
    }), { seed: SEED, numRuns: 4000 });
  });

  test("the common forms take the fast path", () => {
    assert.equal(plainIpv4Value("10.0.0.1"), 167772161);
    assert.equal(plainIpv4Value("010.0.0.1"), -1);
    assert.deepEqual(plainIpv6Groups("2001:db8::1"), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(plainIpv6Groups("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(plainIpv6Groups("2001:DB8::1"), undefined);
    assert.equal(plainIpv6Groups("::ffff:192.0.2.1"), undefined);
    assert.equal(formatIpv6Groups([1, 0, 0, 2, 0, 0, 3, 4]), "1::2:0:0:3:4");
    assert.equal(formatIpv6Groups([1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
  });

  test("order: the sign of compareAddresses matches ipaddr.js bytes, and equal texts compare 0", () => {
    const valid = fc.oneof(ipv4Text, ipv6Text).filter((t) => reference(t).canonical !== undefined);
    fc.assert(fc.property(valid, valid, (a, b) => {
      const ba = reference(a).bytes!, bb = reference(b).bytes!;
      let expected = 0;
      if (a !== b) {
        expected = ba.length - bb.length;
        for (let i = 0; expected === 0 && i < ba.length; i++) expected = ba[i]! - bb[i]!;
      }
      assert.equal(compareAddresses(a, b), expected, `${a} vs ${b}`);
    }), { seed: SEED, numRuns: 4000 });
  });
});

describe("realServersSorted", () => {
  test("answers as isSorted with compareRealServers, on mixed and repeated addresses", () => {
    const address = fc.oneof(
      fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.10", "9.255.255.255", "128.0.0.1", "255.255.255.255", "0.0.0.0"),
      fc.constantFrom("2001:db8::1", "2001:db8::2", "::1", "::ffff:10.0.0.1", "2001:DB8::1"),
      // plain IPv6 that differs in any group, high and low byte
      fc.array(fc.constantFrom(0, 1, 0xff, 0x100, 0x1ff, 0xffff), { minLength: 8, maxLength: 8 }).map(formatIpv6Groups),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `192.0.${a}.${b}`),
    );
    const server = fc.record({ address, port: fc.integer({ min: 0, max: 3 }) });
    fc.assert(fc.property(fc.array(server, { maxLength: 6 }), (servers) => {
      assert.equal(realServersSorted(servers), isSorted(servers, compareRealServers));
      const sorted = [...servers].sort(compareRealServers);
      assert.equal(realServersSorted(sorted), true);
    }), { seed: SEED, numRuns: 3000 });
  });
});
