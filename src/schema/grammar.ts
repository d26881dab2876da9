/**
 * Strict grammars for every string that reaches a config file or a shell. Anything outside
 * them is an error at validation time, never output: keepalived treats `#` and `!` as
 * comments, `$` as a parameter reference and whitespace as a token break, and the apply
 * script is shell.
 */
import type { IssueCode } from "../issues.js";

export interface Grammar {
  code: IssueCode;
  pattern: RegExp;
  /** what the user is told, after "must be ..." */
  describe: string;
}

function grammar(code: IssueCode, pattern: RegExp, describe: string): Grammar {
  return { code, pattern, describe };
}

/** Names of services, directors, VRRP instances and scripts. */
export const NAME = grammar(
  "invalid-name",
  /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/,
  "a name: a letter, then up to 62 letters, digits, '_', '.' or '-'",
);

/** Linux interface names (IFNAMSIZ is 16 including the NUL). */
export const INTERFACE = grammar(
  "invalid-interface-name",
  /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/,
  "an interface name: 1 to 15 letters, digits, '_', '.' or '-'",
);

/** Absolute file paths without traversal or shell and keepalived metacharacters. */
export const PATH = grammar(
  "invalid-path",
  /^(?!.*\/\.\.?(\/|$))\/[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/,
  "an absolute path of letters, digits, '_', '.', '+', '-' and '/', without '..'",
);

/** HTTP request paths for HTTP_GET/SSL_GET urls. */
export const URL_PATH = grammar(
  "invalid-url-path",
  /^\/[A-Za-z0-9._~\/?&=%+,:@*()-]*$/,
  "an URL path starting with '/', of letters, digits and . _ ~ / ? & = % + , : @ * ( ) -",
);

/** One argument of a command run by keepalived (MISC_CHECK, vrrp_script, notify). */
export const COMMAND_ARG = grammar(
  "invalid-command",
  /^[A-Za-z0-9_.\/:=,+@%-]+$/,
  "a command argument of letters, digits and _ . / : = , + @ % -",
);

/** The program of a command: an absolute path. */
export const COMMAND_PROGRAM = grammar(
  "invalid-command",
  /^\/[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/,
  "an absolute path to the program",
);

/** DNS host names (virtualhost, helo, DNS_CHECK name, SSH host). */
export const HOSTNAME = grammar(
  "invalid-hostname",
  /^(?=.{1,253}\.?$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/,
  "a DNS name of labels of letters, digits, '-' and '_'",
);

/** An OpenSSH public host key line: type and base64 body (comment not allowed). */
export const HOST_KEY = grammar(
  "invalid-host-key",
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+\/]+={0,3}$/,
  "an OpenSSH public key: '<type> <base64>', e.g. 'ssh-ed25519 AAAAC3Nza...'",
);

/** VRRP PASS authentication: keepalived truncates past 8 characters, so longer is an error (checked separately). */
export const VRRP_PASSWORD = grammar(
  "invalid-secret",
  /^[A-Za-z0-9_.,:;@%+=^~*()[\]{}<>?\/-]+$/,
  "printable characters without spaces, quotes, '#', '!', '$', '&', '|' or '\\'",
);

/** Hex strings for UDP_CHECK payloads and MD5 digests. */
export const HEX = grammar("invalid-value", /^([0-9A-Fa-f]{2})+$/, "an even number of hex digits");

/** The kernel version a spec targets, e.g. "6.1". */
export const KERNEL_VERSION = grammar("invalid-value", /^\d+\.\d+$/, "a kernel version such as '6.1'");

/** All grammars, so schema-level errors can be mapped back to their code by pattern. */
export const GRAMMARS: readonly Grammar[] = [
  NAME, INTERFACE, PATH, URL_PATH, COMMAND_ARG, COMMAND_PROGRAM, HOSTNAME, HOST_KEY, VRRP_PASSWORD, HEX, KERNEL_VERSION,
];

/** Finds the grammar whose pattern source is `source` (as zod and ajv report it). */
export function grammarByPattern(source: string): Grammar | undefined {
  return GRAMMARS.find((g) => g.pattern.source === source);
}
