/**
 * state: `ipvsadm -S -n` text (and our own rule files, which add `-x`/`-y`) -> IPVS table.
 *
 * Lines are read the way `ipvsadm -R` reads them: whitespace-split tokens, a token that is
 * exactly `ipvsadm` dropped, blank lines skipped, the command option first. Options may come
 * in any order and in their long forms. Defaults are filled in as the kernel would, addresses
 * canonicalised, the result sorted numerically. A bad line becomes an Issue pointing at its
 * line number and is skipped; nothing throws.
 *
 * Besides `-A` and `-a` the parser understands `-E -e -D -d -C`, and applyIpvsadmCommands()
 * replays them on a table with the kernel's errors ("Service already exists", ...): a small
 * simulator for checking a planned batch.
 */
import { error, type Issue, type IssueCode } from "../issues.js";
import { addressFamily, canonicalAddress, formatAddressPort, netmaskToPrefix } from "../model/addresses.js";
import type {
  Family, ForwardingMethod, IpvsRealServer, IpvsService, IpvsTable, Protocol, SchedulerFlag, SchedulerName,
  ServiceKey, TunnelChecksum, TunnelOptions, TunnelType,
} from "../model/model.js";
import { canonicalFlags } from "../model/normalize.js";
import { realServerKeyString, serviceKeyString, sortServices } from "../model/service-key.js";
import { isIpAddress } from "../schema/spec-formats.js";
import { SCHEDULER_FLAGS, SCHEDULERS } from "../schema/spec-schema.js";

/** One parsed ipvsadm command line. Services carry no real servers. */
export type IpvsadmCommand =
  | { op: "add-service" | "edit-service"; line: number; service: IpvsService }
  | { op: "delete-service"; line: number; key: ServiceKey }
  | { op: "add-server" | "edit-server"; line: number; key: ServiceKey; server: IpvsRealServer }
  | { op: "delete-server"; line: number; key: ServiceKey; server: Pick<IpvsRealServer, "address" | "port"> }
  | { op: "clear"; line: number };

type CommandOp = IpvsadmCommand["op"];

type OptionKey =
  | "tcp" | "udp" | "sctp" | "fwmark" | "ipv6"
  | "scheduler" | "persistent" | "netmask" | "pe" | "ops" | "schedFlags"
  | "realServer" | "gatewaying" | "ipip" | "masquerading" | "weight" | "upper" | "lower"
  | "tunType" | "tunPort" | "tunNocsum" | "tunCsum" | "tunRemcsum";

type ArgKind = "none" | "required" | "optional";

interface OptionDef {
  key: OptionKey;
  arg: ArgKind;
}

const COMMANDS: Record<string, CommandOp> = {
  "-A": "add-service", "--add-service": "add-service",
  "-E": "edit-service", "--edit-service": "edit-service",
  "-D": "delete-service", "--delete-service": "delete-service",
  "-a": "add-server", "--add-server": "add-server",
  "-e": "edit-server", "--edit-server": "edit-server",
  "-d": "delete-server", "--delete-server": "delete-server",
  "-C": "clear", "--clear": "clear",
};

const SHORT: Record<string, OptionDef> = {
  t: { key: "tcp", arg: "required" },
  u: { key: "udp", arg: "required" },
  f: { key: "fwmark", arg: "required" },
  "6": { key: "ipv6", arg: "none" },
  s: { key: "scheduler", arg: "required" },
  p: { key: "persistent", arg: "optional" },
  M: { key: "netmask", arg: "required" },
  o: { key: "ops", arg: "none" },
  b: { key: "schedFlags", arg: "required" },
  r: { key: "realServer", arg: "required" },
  g: { key: "gatewaying", arg: "none" },
  i: { key: "ipip", arg: "none" },
  m: { key: "masquerading", arg: "none" },
  w: { key: "weight", arg: "required" },
  x: { key: "upper", arg: "required" },
  y: { key: "lower", arg: "required" },
};

const LONG: Record<string, OptionDef> = {
  "tcp-service": { key: "tcp", arg: "required" },
  "udp-service": { key: "udp", arg: "required" },
  "sctp-service": { key: "sctp", arg: "required" },
  "fwmark-service": { key: "fwmark", arg: "required" },
  ipv6: { key: "ipv6", arg: "none" },
  scheduler: { key: "scheduler", arg: "required" },
  persistent: { key: "persistent", arg: "optional" },
  netmask: { key: "netmask", arg: "required" },
  pe: { key: "pe", arg: "required" },
  ops: { key: "ops", arg: "none" },
  "sched-flags": { key: "schedFlags", arg: "required" },
  "real-server": { key: "realServer", arg: "required" },
  gatewaying: { key: "gatewaying", arg: "none" },
  ipip: { key: "ipip", arg: "none" },
  masquerading: { key: "masquerading", arg: "none" },
  weight: { key: "weight", arg: "required" },
  "u-threshold": { key: "upper", arg: "required" },
  "l-threshold": { key: "lower", arg: "required" },
  "tun-type": { key: "tunType", arg: "required" },
  "tun-port": { key: "tunPort", arg: "required" },
  "tun-nocsum": { key: "tunNocsum", arg: "none" },
  "tun-csum": { key: "tunCsum", arg: "none" },
  "tun-remcsum": { key: "tunRemcsum", arg: "none" },
};

const SERVICE_OPTIONS: readonly OptionKey[] = ["tcp", "udp", "sctp", "fwmark"];
const FORWARD_OPTIONS: readonly OptionKey[] = ["gatewaying", "ipip", "masquerading"];
const TUNNEL_OPTIONS: readonly OptionKey[] = ["tunType", "tunPort", "tunNocsum", "tunCsum", "tunRemcsum"];
const CHECKSUM_OPTIONS: readonly OptionKey[] = ["tunNocsum", "tunCsum", "tunRemcsum"];

/** Options each command accepts besides the service selector (ipvsadm's commands_v_options). */
const ALLOWED: Record<CommandOp, readonly OptionKey[]> = {
  "add-service": ["ipv6", "scheduler", "persistent", "netmask", "pe", "ops", "schedFlags"],
  "edit-service": ["ipv6", "scheduler", "persistent", "netmask", "pe", "ops", "schedFlags"],
  "delete-service": ["ipv6"],
  "add-server": ["ipv6", "realServer", ...FORWARD_OPTIONS, "weight", "upper", "lower", ...TUNNEL_OPTIONS],
  "edit-server": ["ipv6", "realServer", ...FORWARD_OPTIONS, "weight", "upper", "lower", ...TUNNEL_OPTIONS],
  "delete-server": ["ipv6", "realServer"],
  clear: [],
};

const OPTION_NAMES: Record<OptionKey, string> = {
  tcp: "-t", udp: "-u", sctp: "--sctp-service", fwmark: "-f", ipv6: "-6", scheduler: "-s", persistent: "-p",
  netmask: "-M", pe: "--pe", ops: "-o", schedFlags: "-b", realServer: "-r", gatewaying: "-g", ipip: "-i",
  masquerading: "-m", weight: "-w", upper: "-x", lower: "-y", tunType: "--tun-type", tunPort: "--tun-port",
  tunNocsum: "--tun-nocsum", tunCsum: "--tun-csum", tunRemcsum: "--tun-remcsum",
};

/** Kernel default persistence timeout in seconds (the man page's 300 is wrong). */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;
/** The kernel's longest persistence timeout (31 days), in seconds. */
export const MAX_PERSISTENCE_TIMEOUT = 2678400;
/** The largest weight or threshold the kernel takes. */
export const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;

interface OptionValue {
  /** the token as written, for messages */
  token: string;
  value: string | undefined;
}

/** Thrown inside one line's parse and turned into that line's issue. */
class LineError extends Error {
  constructor(message: string, readonly code: IssueCode = "invalid-value", readonly hint?: string) {
    super(message);
  }
}

function fail(message: string, hint?: string): never {
  throw new LineError(message, "invalid-value", hint);
}

/** Whitespace-split tokens with ipvsadm's own quirk: a token that is exactly `ipvsadm` is dropped. */
export function tokenizeIpvsadmLine(line: string): string[] {
  return line.split(/\s+/).filter((t) => t !== "" && t !== "ipvsadm");
}

function parseInteger(text: string | undefined, min: number, max: number, what: string, token: string): number {
  if (text === undefined || !/^\d+$/.test(text)) fail(`${what} '${text ?? ""}' after '${token}' is not a number`);
  const n = Number(text);
  if (n < min || n > max) fail(`${what} ${text} after '${token}' is out of range ${min}..${max}`);
  return n;
}

interface ParsedAddress {
  address: string;
  family: Family;
  port?: number;
}

/** `10.0.0.1:80`, `10.0.0.1`, `[2001:db8::1]:80`, `2001:db8::1`: as ipvsadm's parse_service reads them. */
function parseAddressPort(text: string | undefined, token: string): ParsedAddress {
  if (text === undefined || text === "") fail(`'${token}' needs an address`);
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const m = /^\[([^\]]+)\]:(.*)$/.exec(text);
    if (!m) fail(`'${text}' is not an [IPv6]:port address`);
    host = m[1]!;
    portText = m[2]!;
    if (!host.includes(":")) fail(`'${text}': only IPv6 addresses go in brackets`);
  } else if (text.includes(":") && text.indexOf(":") !== text.lastIndexOf(":")) {
    host = text; // bare IPv6, no port
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (!isIpAddress(host)) {
    fail(`'${host}' in '${text}' is not an IP address`, "names are not resolved: read the table with `ipvsadm -S -n`");
  }
  const out: ParsedAddress = { address: canonicalAddress(host), family: addressFamily(host) };
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText)) {
      fail(`port '${portText}' in '${text}' is not a number`, "service names are not resolved: read the table with `ipvsadm -S -n`");
    }
    out.port = parseInteger(portText, 0, 65535, "port", token);
  }
  return out;
}

function parseFwmark(text: string | undefined, token: string): number {
  if (text !== undefined && /^-\d+$/.test(text)) {
    fail(
      `fwmark ${text} after '${token}' is negative`,
      "Debian's ipvsadm 1.31 prints fwmarks above 2147483647 as negative numbers; keep fwmarks below 2^31",
    );
  }
  return parseInteger(text, 1, UINT_MAX, "fwmark", token);
}

/** Splits a line's tokens into its command and a map of options; rejects unknown and repeated options. */
function readOptions(tokens: readonly string[]): { op: CommandOp; options: Map<OptionKey, OptionValue> } {
  const first = tokens[0]!;
  const op = COMMANDS[first];
  if (op === undefined) {
    if (first.startsWith("#")) fail(`'${first}': comments are not supported by ipvsadm -R`);
    fail(`'${first}' is not an ipvsadm command; a line must start with -A, -E, -D, -a, -e, -d or -C`);
  }
  const options = new Map<OptionKey, OptionValue>();
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (COMMANDS[token] !== undefined) fail(`'${token}': more than one command on a line`);
    let def: OptionDef | undefined;
    let attached: string | undefined;
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      if (eq >= 0) attached = token.slice(eq + 1);
      def = LONG[name];
    } else if (token.startsWith("-") && token.length >= 2) {
      def = SHORT[token[1]!];
      if (token.length > 2) {
        if (def?.arg === "none") def = undefined; // clustered flags are not written by ipvsadm
        else attached = token.slice(2);
      }
    } else {
      fail(`unexpected argument '${token}'`);
    }
    if (def === undefined) fail(`'${token}' is not an ipvsadm option`);
    const key = def.key;
    let value = attached;
    if (value === undefined && def.arg === "required") {
      value = tokens[i + 1];
      if (value === undefined) fail(`'${token}' needs a value`);
      i++;
    } else if (value === undefined && def.arg === "optional") {
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith("-")) {
        value = next;
        i++;
      }
    } else if (value !== undefined && def.arg === "none") {
      fail(`'${token}' takes no value`);
    }
    if (options.has(key)) fail(`'${token}': option ${OPTION_NAMES[key]} given twice`);
    options.set(key, { token, value });
  }
  return { op, options };
}

/** ALLOWED plus the service selectors, as sets built once. */
const ALLOWED_SETS = Object.fromEntries(
  Object.entries(ALLOWED).map(([op, keys]) => [op, new Set<OptionKey>([...SERVICE_OPTIONS, ...keys])]),
) as unknown as Record<CommandOp, ReadonlySet<OptionKey>>;

function checkAllowed(op: CommandOp, options: Map<OptionKey, OptionValue>): void {
  const allowed = ALLOWED_SETS[op];
  for (const [key, v] of options) {
    if (!allowed.has(key)) fail(`'${v.token}' is not allowed with ${op}`);
  }
}

function serviceKeyOf(options: Map<OptionKey, OptionValue>): ServiceKey {
  const given = SERVICE_OPTIONS.filter((k) => options.has(k));
  if (given.length === 0) fail("no service given (-t, -u, --sctp-service or -f)");
  if (given.length > 1) {
    fail(`more than one service given (${given.map((k) => options.get(k)!.token).join(", ")})`);
  }
  const kind = given[0]!;
  const v = options.get(kind)!;
  const ipv6 = options.get("ipv6");
  if (kind === "fwmark") {
    return { kind: "fwmark", fwmark: parseFwmark(v.value, v.token), family: ipv6 ? "inet6" : "inet" };
  }
  if (ipv6) fail(`'${ipv6.token}' only applies to fwmark services (-f N -6)`);
  const addr = parseAddressPort(v.value, v.token);
  return { kind: "addr", protocol: kind as Protocol, address: addr.address, port: addr.port ?? 0 };
}

function familyOf(key: ServiceKey): Family {
  return key.kind === "fwmark" ? key.family : addressFamily(key.address);
}

function parseSchedFlags(text: string | undefined, scheduler: SchedulerName, token: string): SchedulerFlag[] {
  const out: SchedulerFlag[] = [];
  for (const flag of (text ?? "").split(",")) {
    if (!(SCHEDULER_FLAGS as readonly string[]).includes(flag)) fail(`invalid scheduler flag '${flag}' after '${token}'`);
    const f = flag as SchedulerFlag;
    if ((f.startsWith("sh-") && scheduler !== "sh") || (f.startsWith("mh-") && scheduler !== "mh")) {
      fail(`scheduler flag '${f}' does not go with scheduler ${scheduler}`);
    }
    out.push(f);
  }
  return canonicalFlags(scheduler, out);
}

function parseServiceOptions(key: ServiceKey, options: Map<OptionKey, OptionValue>): IpvsService {
  const family = familyOf(key);
  const sched = options.get("scheduler");
  let scheduler: SchedulerName = "wlc";
  if (sched) {
    if (!(SCHEDULERS as readonly string[]).includes(sched.value ?? "")) fail(`unknown scheduler '${sched.value ?? ""}'`);
    scheduler = sched.value as SchedulerName;
  }
  const flagsOpt = options.get("schedFlags");
  const svc: IpvsService = {
    key,
    family,
    scheduler,
    flags: flagsOpt ? parseSchedFlags(flagsOpt.value, scheduler, flagsOpt.token) : [],
    onePacket: options.has("ops"),
    realServers: [],
  };
  const persistent = options.get("persistent");
  if (persistent) {
    const timeout = persistent.value === undefined
      ? DEFAULT_PERSISTENCE_TIMEOUT
      : parseInteger(persistent.value, 1, MAX_PERSISTENCE_TIMEOUT, "persistence timeout", persistent.token);
    let prefixLength = family === "inet" ? 32 : 128;
    const mask = options.get("netmask");
    if (mask) {
      if (family === "inet6") {
        prefixLength = parseInteger(mask.value, 1, 128, "IPv6 netmask", mask.token);
      } else {
        const prefix = mask.value !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(mask.value) && isIpAddress(mask.value)
          ? netmaskToPrefix(mask.value)
          : undefined;
        if (prefix === undefined) fail(`'${mask.value ?? ""}' after '${mask.token}' is not a contiguous IPv4 netmask`);
        prefixLength = prefix;
      }
    }
    svc.persistence = { timeout, prefixLength };
  }
  // a netmask without -p is stored by the kernel but has no effect and -S never prints it
  const pe = options.get("pe");
  if (pe) {
    if (pe.value !== "sip") fail(`unknown persistence engine '${pe.value ?? ""}' (only sip exists)`);
    svc.persistenceEngine = "sip";
  }
  if (svc.onePacket && !(key.kind === "fwmark" || key.protocol === "udp")) {
    fail("one-packet scheduling (-o) is only for UDP and fwmark services");
  }
  if (key.kind === "addr" && key.port === 0 && !svc.persistence) {
    fail("zero port specified for a non-persistent service");
  }
  return svc;
}

function parseTunnel(options: Map<OptionKey, OptionValue>): TunnelOptions {
  const typeOpt = options.get("tunType");
  let type: TunnelType = "ipip";
  if (typeOpt) {
    if (typeOpt.value !== "ipip" && typeOpt.value !== "gue" && typeOpt.value !== "gre") {
      fail(`unknown tunnel type '${typeOpt.value ?? ""}' (ipip, gue or gre)`);
    }
    type = typeOpt.value;
  }
  const tunnel: TunnelOptions = { type };
  const portOpt = options.get("tunPort");
  const checksums = CHECKSUM_OPTIONS.filter((k) => options.has(k));
  if (checksums.length > 1) {
    fail(`${checksums.map((k) => OPTION_NAMES[k]).join(" and ")} conflict: give one checksum option`);
  }
  const checksum = checksums[0];
  if (type === "gue") {
    if (!portOpt) fail("tunnel type gue needs --tun-port");
    tunnel.port = parseInteger(portOpt.value, 1, 65535, "tunnel port", portOpt.token);
  } else if (portOpt) {
    fail(`--tun-port is not allowed with tunnel type ${type}`);
  }
  if (checksum !== undefined) {
    if (type === "ipip") fail(`${OPTION_NAMES[checksum]} is not allowed with tunnel type ipip`);
    if (type === "gre" && checksum === "tunRemcsum") fail("--tun-remcsum is not allowed with tunnel type gre");
    const mode: TunnelChecksum = checksum === "tunCsum" ? "csum" : checksum === "tunRemcsum" ? "remcsum" : "nocsum";
    // nocsum is the kernel default: the model leaves it out so each table has one form
    if (mode !== "nocsum") tunnel.checksum = mode;
  }
  return tunnel;
}

function parseServerAddress(key: ServiceKey, options: Map<OptionKey, OptionValue>): ParsedAddress & { port: number } {
  const r = options.get("realServer");
  if (!r) fail("no real server given (-r)");
  const addr = parseAddressPort(r.value, r.token);
  // like ipvsadm, a real server without a port takes the service's port
  return { ...addr, port: addr.port ?? (key.kind === "addr" ? key.port : 0) };
}

function parseServerOptions(key: ServiceKey, options: Map<OptionKey, OptionValue>): IpvsRealServer {
  const addr = parseServerAddress(key, options);
  const fwd = FORWARD_OPTIONS.filter((k) => options.has(k));
  if (fwd.length > 1) fail(`${fwd.map((k) => OPTION_NAMES[k]).join(" and ")} conflict: give one forwarding method`);
  const forwarding: ForwardingMethod = fwd[0] === "masquerading" ? "nat" : fwd[0] === "ipip" ? "tunnel" : "dr";
  const w = options.get("weight");
  const x = options.get("upper");
  const y = options.get("lower");
  const rs: IpvsRealServer = {
    address: addr.address,
    // the kernel forces the service port on DR and tunnel servers of non-fwmark services
    port: forwarding !== "nat" && key.kind === "addr" ? key.port : addr.port,
    forwarding,
    weight: w ? parseInteger(w.value, 0, INT_MAX, "weight", w.token) : 1,
    upperThreshold: x ? parseInteger(x.value, 0, INT_MAX, "upper threshold", x.token) : 0,
    lowerThreshold: y ? parseInteger(y.value, 0, INT_MAX, "lower threshold", y.token) : 0,
  };
  if (rs.lowerThreshold > rs.upperThreshold) {
    fail(`lower threshold ${rs.lowerThreshold} is above upper threshold ${rs.upperThreshold}`);
  }
  if (addr.family !== familyOf(key) && forwarding !== "tunnel") {
    fail(`real server ${addr.address} is not of the service's address family; only tunnel (-i) servers may differ`);
  }
  const tunnelGiven = TUNNEL_OPTIONS.filter((k) => options.has(k));
  if (forwarding === "tunnel") rs.tunnel = parseTunnel(options);
  else if (tunnelGiven.length > 0) fail(`'${options.get(tunnelGiven[0]!)!.token}' needs tunnel forwarding (-i)`);
  return rs;
}

function parseCommandLine(tokens: readonly string[], line: number): IpvsadmCommand {
  const { op, options } = readOptions(tokens);
  checkAllowed(op, options);
  if (op === "clear") return { op, line };
  const key = serviceKeyOf(options);
  switch (op) {
    case "add-service":
    case "edit-service":
      return { op, line, service: parseServiceOptions(key, options) };
    case "delete-service":
      return { op, line, key };
    case "add-server":
    case "edit-server":
      return { op, line, key, server: parseServerOptions(key, options) };
    case "delete-server": {
      const addr = parseServerAddress(key, options);
      return { op, line, key, server: { address: addr.address, port: addr.port } };
    }
  }
}

function lineIssue(line: number, e: unknown): Issue {
  if (e instanceof LineError) return error(e.code, ["line", line], `line ${line}: ${e.message}`, e.hint);
  throw e;
}

/**
 * A real-server add exactly as `ipvsadm -S -n` (and renderIpvsadmRules) print it, without
 * tunnel options: nearly every line of a saved table. Such a line has the tokens the general
 * reader would split it into, so it can skip the tokenizer and the option table.
 */
const PLAIN_SERVER_ADD = /^-a (-t|-u|-f) (\S+)( -6)? -r (\S+) -([mg]) -w (\d+)(?: -x (\d+) -y (\d+))?$/;
const SELECTOR_PROTOCOL = { "-t": "tcp", "-u": "udp" } as const;

/**
 * The command of a PLAIN_SERVER_ADD line, computed with the general reader's own checks in
 * the same order, or undefined when the line is anything else or any check fails: the
 * general reader then handles the line (and words the issue).
 */
function plainServerAdd(raw: string, line: number, selectors: Map<string, ServiceKey>): IpvsadmCommand | undefined {
  const m = PLAIN_SERVER_ADD.exec(raw);
  if (!m) return undefined;
  const [, kind, value, ipv6, server, method, weight, upper, lower] = m as unknown as [string, "-t" | "-u" | "-f", string, string | undefined, string, "m" | "g", string, string | undefined, string | undefined];
  if (value === "ipvsadm" || server === "ipvsadm") return undefined; // the tokenizer drops that word
  try {
    const selector = `${kind} ${value}${ipv6 ?? ""}`;
    let key = selectors.get(selector);
    if (!key) {
      if (kind === "-f") key = { kind: "fwmark", fwmark: parseFwmark(value, kind), family: ipv6 ? "inet6" : "inet" };
      else {
        if (ipv6) return undefined;
        const addr = parseAddressPort(value, kind);
        key = { kind: "addr", protocol: SELECTOR_PROTOCOL[kind], address: addr.address, port: addr.port ?? 0 };
      }
      selectors.set(selector, key);
    }
    const addr = parseAddressPort(server, "-r");
    const port = addr.port ?? (key.kind === "addr" ? key.port : 0);
    const forwarding: ForwardingMethod = method === "m" ? "nat" : "dr";
    const rs: IpvsRealServer = {
      address: addr.address,
      port: forwarding !== "nat" && key.kind === "addr" ? key.port : port,
      forwarding,
      weight: parseInteger(weight, 0, INT_MAX, "weight", "-w"),
      upperThreshold: upper !== undefined ? parseInteger(upper, 0, INT_MAX, "upper threshold", "-x") : 0,
      lowerThreshold: lower !== undefined ? parseInteger(lower, 0, INT_MAX, "lower threshold", "-y") : 0,
    };
    if (rs.lowerThreshold > rs.upperThreshold) return undefined;
    if (addr.family !== familyOf(key)) return undefined; // only tunnel servers may differ
    return { op: "add-server", line, key: { ...key }, server: rs };
  } catch (e) {
    if (e instanceof LineError) return undefined;
    throw e;
  }
}

/**
 * One command line read by the general reader, or undefined for a blank line or one it
 * rejects (parseIpvsadmCommands words the issue). For one-pass readers that meet a line
 * their fast path does not take.
 */
export function parseIpvsadmLine(raw: string): IpvsadmCommand | undefined {
  const tokens = tokenizeIpvsadmLine(raw);
  if (tokens.length === 0) return undefined;
  try {
    return parseCommandLine(tokens, 0);
  } catch (e) {
    if (e instanceof LineError) return undefined;
    throw e;
  }
}

/** Parses ipvsadm command lines (the `-R` format) into commands; each bad line is one issue. */
export function parseIpvsadmCommands(text: string): { commands: IpvsadmCommand[]; issues: Issue[] } {
  const commands: IpvsadmCommand[] = [];
  const issues: Issue[] = [];
  const lines = text.split(/\r?\n/);
  const selectors = new Map<string, ServiceKey>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const plain = raw.startsWith("-a ") ? plainServerAdd(raw, line, selectors) : undefined;
    if (plain) {
      commands.push(plain);
      return;
    }
    const tokens = tokenizeIpvsadmLine(raw);
    if (tokens.length === 0) return;
    try {
      commands.push(parseCommandLine(tokens, line));
    } catch (e) {
      issues.push(lineIssue(line, e));
    }
  });
  return { commands, issues };
}

function cloneService(s: IpvsService): IpvsService {
  return {
    ...s,
    key: { ...s.key },
    flags: [...s.flags],
    ...(s.persistence ? { persistence: { ...s.persistence } } : {}),
    realServers: s.realServers.map((rs) => ({ ...rs, ...(rs.tunnel ? { tunnel: { ...rs.tunnel } } : {}) })),
  };
}

/**
 * Replays commands on a copy of a table as the kernel would, one line at a time: a failing
 * line (`Service already exists`, `No such destination`, ...) is reported and skipped, the
 * rest still apply, as with `ipvsadm -R`. The result is sorted.
 */
export function applyIpvsadmCommands(
  table: IpvsTable,
  commands: readonly IpvsadmCommand[],
  options: { adopt?: boolean } = {},
): { table: IpvsTable; issues: Issue[] } {
  // adopt: the commands are thrown away after this call, so their services and servers may
  // become the table's own without copies (parseIpvsadmSave: a table of 300k servers)
  const own = <T>(value: T, copy: (v: T) => T): T => (options.adopt ? value : copy(value));
  const copyServer = (rs: IpvsRealServer): IpvsRealServer => (rs.tunnel ? { ...rs, tunnel: { ...rs.tunnel } } : { ...rs });
  const services = new Map<string, IpvsService>();
  // the real-server keys of each service, so an add need not scan the list (a table has
  // thousands of services of dozens of servers, and `-S` output is nearly all adds)
  const present = new Map<string, Map<string, number>>();
  const track = (id: string, s: IpvsService) => {
    const counts = new Map<string, number>();
    for (const rs of s.realServers) {
      const k = realServerKeyString(rs);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    present.set(id, counts);
  };
  for (const s of table.services) {
    const id = serviceKeyString(s.key);
    services.set(id, cloneService(s));
    track(id, s);
  }
  const issues: Issue[] = [];
  const report = (code: IssueCode, line: number, message: string) => issues.push(error(code, ["line", line], `line ${line}: ${message}`));

  for (const cmd of commands) {
    if (cmd.op === "clear") {
      services.clear();
      present.clear();
      continue;
    }
    const key = "service" in cmd ? cmd.service.key : cmd.key;
    const id = serviceKeyString(key);
    const existing = services.get(id);
    switch (cmd.op) {
      case "add-service":
        if (existing) report("duplicate-service", cmd.line, `service ${id} already exists`);
        else {
          services.set(id, own(cmd.service, cloneService));
          track(id, cmd.service);
        }
        break;
      case "edit-service":
        if (!existing) report("invalid-value", cmd.line, `no such service ${id}`);
        else services.set(id, { ...cloneService(cmd.service), realServers: existing.realServers });
        break;
      case "delete-service":
        if (!existing) report("invalid-value", cmd.line, `no such service ${id}`);
        else {
          services.delete(id);
          present.delete(id);
        }
        break;
      default: {
        if (!existing) {
          report("invalid-value", cmd.line, `service ${id} not defined`);
          break;
        }
        const rsId = realServerKeyString(cmd.server);
        const ids = present.get(id)!;
        const count = ids.get(rsId) ?? 0;
        if (cmd.op === "add-server") {
          if (count > 0) report("duplicate-real-server", cmd.line, `real server ${rsId} already exists in ${id}`);
          else {
            existing.realServers.push(own(cmd.server, copyServer));
            ids.set(rsId, 1);
          }
          break;
        }
        const at = count > 0 ? existing.realServers.findIndex((rs) => realServerKeyString(rs) === rsId) : -1;
        if (at < 0) {
          report("invalid-value", cmd.line, `no such real server ${formatAddressPort(cmd.server.address, cmd.server.port)} in ${id}`);
        } else if (cmd.op === "edit-server") {
          existing.realServers[at] = { ...cmd.server, ...(cmd.server.tunnel ? { tunnel: { ...cmd.server.tunnel } } : {}) };
        } else {
          existing.realServers.splice(at, 1);
          ids.set(rsId, count - 1);
        }
      }
    }
  }
  return { table: { services: sortServices([...services.values()]) }, issues };
}

/**
 * Parses `ipvsadm -S -n` output (or a rule file this project rendered) into a sorted table.
 * Never throws: bad lines come back as issues (`invalid-value`, path `["line", N]`).
 */
export function parseIpvsadmSave(text: string): { table: IpvsTable; issues: Issue[] } {
  const parsed = parseIpvsadmCommands(text);
  const applied = applyIpvsadmCommands({ services: [] }, parsed.commands, { adopt: true });
  const issues = [...parsed.issues, ...applied.issues].sort((a, b) => Number(a.path[1]) - Number(b.path[1]));
  return { table: applied.table, issues };
}
