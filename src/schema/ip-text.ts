/**
 * Fast, exact readers for the address texts that make up nearly every spec and dump: a
 * dotted quad as ipaddr.js prints one, and IPv6 in plain lowercase hex groups. They answer
 * only when the answer is certain and otherwise return -1 / undefined, so callers fall back
 * to ipaddr.js for everything unusual (leading zeros, upper case, embedded IPv4, zone ids,
 * invalid text). Hand loops: these run for every real server several times per compile,
 * and ipaddr.js parses each address twice through several regular expressions.
 */

/**
 * The 32-bit value of an IPv4 address written exactly as ipaddr.js prints one (four
 * decimal parts 0..255, no leading zeros), or -1 for any other text.
 */
export function plainIpv4Value(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0, part = 0, digits = 0, parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * The eight 16-bit groups of an IPv6 address written in lowercase hex groups of one to four
 * digits with at most one `::` that stands for at least one group; undefined for any other
 * text (upper case, embedded IPv4, zone ids, invalid forms: ipaddr.js decides those).
 */
export function plainIpv6Groups(text: string): number[] | undefined {
  const n = text.length;
  if (n < 2 || n > 39) return undefined;
  const head: number[] = [];
  const tail: number[] = [];
  let current = head;
  let gap = false;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    // a leading colon must be the start of "::"
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = true;
    current = tail;
    i = 2;
    if (i === n) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  while (i < n) {
    let value = 0, digits = 0;
    while (i < n) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4) return undefined;
    current.push(value);
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap) return undefined;
      gap = true;
      current = tail;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return undefined; // a single trailing colon
    }
  }
  const count = head.length + tail.length;
  if (gap ? count > 7 : count !== 8) return undefined;
  const groups = head;
  for (let k = count; k < 8; k++) groups.push(0);
  for (const g of tail) groups.push(g);
  return groups;
}

function hexGroups(groups: readonly number[], from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += i === from ? groups[i]!.toString(16) : `:${groups[i]!.toString(16)}`;
  return text;
}

/**
 * RFC 5952 text of eight groups, exactly as ipaddr.js's toRFC5952String prints it: hex
 * without leading zeros, the longest run of two or more zero groups (the first of equal
 * runs) written `::`.
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return hexGroups(groups, 0, 8);
  return `${hexGroups(groups, 0, bestStart)}::${hexGroups(groups, bestStart + bestLength, 8)}`;
}
