/**
 * A live director -> one spec (`ipvsc import --director`). Pure: the CLI reads the director
 * over SSH (its table with thresholds, keepalived.conf and the files it includes, ownership
 * records, interfaces) and hands the text here. keepalived's virtual servers come from the
 * live keepalived.conf (importKeepalivedConf: health checks and all); every other live
 * service comes from the table (importIpvsadmSave on the table rendered back in rule form),
 * as applier-owned services; the director entry gets its name, the SSH endpoint the user
 * gave and the interfaces that carry addresses. The spec is meant to plan as "no change":
 * the planner then only adopts the services (records them as owned).
 */
import { compile } from "../compile.js";
import { hasErrors, warning, type Issue } from "../issues.js";
import { canonicalAddress, formatAddressPort } from "../model/addresses.js";
import type { IpvsService } from "../model/model.js";
import { memberAddresses } from "../model/normalize.js";
import { serviceKeyString } from "../model/service-key.js";
import { renderIpvsadmRules } from "../render/render-ipvsadm-rules.js";
import { INTERFACE } from "../schema/grammar.js";
import { parseSpec } from "../schema/parse-spec.js";
import type { SpecInput } from "../schema/spec-schema.js";
import type { LiveState } from "../state/live-state.js";
import { validate } from "../validate/validate.js";
import { compareKeepalivedConfs } from "./compare-keepalived-conf.js";
import type { DirectorInput, ServiceInput, SpecNote } from "./import-context.js";
import { sortFindings } from "./import-findings.js";
import { importIpvsadmSave } from "./import-ipvsadm-save.js";
import { importKeepalivedConf, type ImportResult } from "./import-keepalived-conf.js";
import { parseRange } from "./map-virtual-servers.js";
import { parseKeepalivedConf, type ConfNode } from "./parse-keepalived-conf.js";

/** Where the director is reached: written into the spec as the director's `ssh`. */
export interface DirectorEndpoint {
  host: string;
  port: number;
  user: string;
  /** pinned public host key, "ssh-ed25519 AAAA..." */
  hostKey: string;
  privateKeyPath?: string;
}

/** What the CLI read from the director. */
export interface LiveDirectorSource {
  /** the director's name in the spec */
  name: string;
  ssh: DirectorEndpoint;
  /** @default "/etc/keepalived" */
  keepalivedConfigDir?: string;
  live: Pick<LiveState, "table" | "keepalivedConf" | "keepalivedRunning" | "ownership" | "addresses">;
  /** files included by the live keepalived.conf: absolute path -> text (undefined: unreadable) */
  includes?: ReadonlyMap<string, string | undefined>;
  /** include glob patterns -> the matching files on the director, sorted */
  globs?: ReadonlyMap<string, readonly string[]>;
  /** the owner the plan and apply will use: services another owner records are not imported @default "ipvsc" */
  owner?: string;
}

/** How the keepalived.conf the spec renders relates to the live one. */
export interface KeepalivedConfComparison {
  /**
   * identical: same bytes; equivalent: another text with the same meaning (structural
   * comparison); different: see `differences`; absent: the spec renders none (no
   * keepalived-owned service, no VRRP) and the director has none
   */
  status: "identical" | "equivalent" | "different" | "absent";
  /** `fact: live-value != rendered-value` lines */
  differences: string[];
}

/** What importing a live director produces. */
export interface LiveDirectorImport {
  spec: SpecInput;
  /** `unsupported-construct` warnings: what the spec does not carry over, by file and line */
  findings: Issue[];
  /** what validate() says about the merged spec (errors only if the importer has a bug) */
  specIssues: Issue[];
  /** comments for the spec file */
  notes: SpecNote[];
  /** service names taken from keepalived.conf, and from the table */
  fromKeepalived: string[];
  fromTable: string[];
  /** the live keepalived.conf and the files it includes, as read */
  files: string[];
  keepalivedConf: KeepalivedConfComparison;
}

const DEFAULT_CONFIG_DIR = "/etc/keepalived";

function configDirOf(source: LiveDirectorSource): string {
  const dir = source.keepalivedConfigDir ?? DEFAULT_CONFIG_DIR;
  return dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
}

/** The path the live keepalived.conf is read from (findings name it; relative includes resolve from it). */
export function liveKeepalivedConfPath(keepalivedConfigDir = DEFAULT_CONFIG_DIR): string {
  const dir = keepalivedConfigDir.length > 1 ? keepalivedConfigDir.replace(/\/+$/, "") : keepalivedConfigDir;
  return `${dir === "/" ? "" : dir}/keepalived.conf`;
}

/**
 * The include files and glob patterns parsing `text` asks for that are not in `includes` /
 * `globs` yet: what to read from the director next. Call until both lists are empty (nested
 * includes appear once their parent is read).
 */
export function includesToRead(
  text: string,
  file: string,
  includes: ReadonlyMap<string, string | undefined>,
  globs: ReadonlyMap<string, readonly string[]>,
): { files: string[]; globs: string[] } {
  const files = new Set<string>(), patterns = new Set<string>();
  parseKeepalivedConf(text, file, {
    readInclude: (p) => {
      if (!includes.has(p)) files.add(p);
      return includes.get(p);
    },
    expandGlob: (p) => {
      const hit = globs.get(p);
      if (hit === undefined) patterns.add(p);
      return [...(hit ?? [])];
    },
  });
  return { files: [...files].sort(), globs: [...patterns].sort() };
}

/** Interfaces with an address on the director (`lo` and names the spec cannot carry left out), sorted. */
export function liveInterfaces(addresses: LiveDirectorSource["live"]["addresses"]): string[] {
  const names = new Set<string>();
  for (const a of addresses) {
    // `ip -o addr` prints plain names; a `veth0@if3` form (ip link) is cut at the '@'
    const name = a.interface.split("@")[0]!.replace(/:$/, "");
    if (name !== "lo" && INTERFACE.pattern.test(name)) names.add(name);
  }
  return [...names].sort();
}

/** The service keys keepalived's config declares (virtual_server, groups expanded): `tcp/IP:PORT` or `fwmark/N`. */
export function keepalivedServiceKeys(tree: readonly ConfNode[]): Set<string> {
  const keys = new Set<string>();
  const groups = new Map<string, ConfNode>();
  for (const n of tree) if (n.keyword === "virtual_server_group" && n.args[0] !== undefined && !groups.has(n.args[0])) groups.set(n.args[0], n);
  const addr = (address: string, port: string | undefined, protocol: string) => {
    const p = Number(port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) return;
    try {
      keys.add(`${protocol}/${formatAddressPort(canonicalAddress(address), p)}`);
    } catch {
      // an address range or a typo: keepalived's own business
    }
  };
  for (const vs of tree) {
    if (vs.keyword !== "virtual_server") continue;
    // keepalived falls back to UDP when a virtual server names no protocol (as the importer does)
    const protocol = (vs.children?.find((c) => c.keyword === "protocol")?.args[0] ?? "udp").toLowerCase();
    const [first, second] = vs.args;
    if (first === "fwmark") keys.add(`fwmark/${Number(second)}`);
    else if (first === "group") {
      for (const entry of groups.get(second ?? "")?.children ?? []) {
        if (entry.keyword === "fwmark") {
          keys.add(`fwmark/${Number(entry.args[0])}`);
          continue;
        }
        // an address range stands for each of its addresses
        const range = entry.keyword.includes("-") ? parseRange(entry.keyword) : undefined;
        let addresses: string[] = [entry.keyword];
        try {
          if (range) addresses = memberAddresses(range.address, range.last);
        } catch {
          addresses = [];
        }
        for (const a of addresses) addr(a, entry.args[0], protocol);
      }
    } else if (first !== undefined) addr(first, second, protocol);
  }
  return keys;
}

function claimKey(s: IpvsService): string {
  return s.key.kind === "fwmark" ? `fwmark/${s.key.fwmark}` : serviceKeyString(s.key);
}

/** Another owner's record naming a service key: key -> owner. */
function otherOwners(source: LiveDirectorSource): Map<string, string> {
  const owner = source.owner ?? "ipvsc";
  const out = new Map<string, string>();
  for (const rec of source.live.ownership) {
    if (rec.owner === owner) continue;
    for (const value of Object.values(rec.services)) out.set(value.split(" ")[0]!, rec.owner);
  }
  return out;
}

function uniqueName(name: string, taken: Set<string>): string {
  let out = name;
  for (let i = 2; taken.has(out); i++) out = `${name.slice(0, 56)}-${i}`;
  taken.add(out);
  return out;
}

/** Compares the keepalived.conf the spec renders with the live one. */
function compareConf(spec: SpecInput, name: string, source: LiveDirectorSource, imported: ImportResult | undefined): KeepalivedConfComparison {
  const compiled = compile(spec);
  if (!compiled.ok) return { status: "different", differences: ["the spec does not compile"] };
  const model = compiled.output.model.directors.find((d) => d.name === name);
  const artifacts = compiled.output.directors.find((d) => d.name === name);
  if (!model || !artifacts) return { status: "different", differences: [`no director ${name} in the spec`] };
  const managed = model.services.some((s) => s.owner === "keepalived") || model.vrrpInstances.length > 0;
  const live = source.live.keepalivedConf;
  if (!managed && live === undefined) return { status: "absent", differences: [] };
  if (!managed) return { status: "different", differences: ["the spec manages no keepalived (no health-checked pool, no VRRP): the live keepalived.conf is left as it is"] };
  if (live === undefined || !imported) return { status: "different", differences: ["the director has no keepalived.conf: the first apply installs one and starts keepalived"] };
  if (live === artifacts.keepalivedConf) return { status: "identical", differences: [] };
  const secrets = new Map(artifacts.secretFiles.map((f) => [f.path, f.content]));
  const rendered = parseKeepalivedConf(artifacts.keepalivedConf, "rendered keepalived.conf", { readInclude: (p) => secrets.get(p) });
  const differences = compareKeepalivedConfs(imported.tree, rendered.nodes, { ignore: imported.dropped });
  return { status: differences.length === 0 ? "equivalent" : "different", differences };
}

/** Imports a live director into one spec. */
export function importLiveDirector(source: LiveDirectorSource): LiveDirectorImport {
  const { name, live } = source;
  const configDir = configDirOf(source);
  const confPath = liveKeepalivedConfPath(configDir);
  const includes = source.includes ?? new Map<string, string | undefined>();
  const globs = source.globs ?? new Map<string, readonly string[]>();
  const findings: Issue[] = [];
  const directorFinding = (message: string, hint?: string) => findings.push(warning("unsupported-construct", ["directors", 0], message, hint));

  // keepalived's share: the live keepalived.conf with its includes
  let kept: ImportResult | undefined;
  if (live.keepalivedConf !== undefined) {
    kept = importKeepalivedConf(live.keepalivedConf, confPath, {
      directorName: name,
      readInclude: (p) => includes.get(p),
      expandGlob: (p) => [...(globs.get(p) ?? [])],
    });
    findings.push(...kept.findings);
    if (!live.keepalivedRunning) {
      directorFinding(`keepalived is not running on ${name}: the services of ${confPath} are imported as declared; the first apply starts keepalived`);
    }
  } else if (live.keepalivedRunning) {
    directorFinding(`keepalived runs on ${name} but ${confPath} does not exist: its services are imported from the table as applier-owned`, "give the directory it reads with --keepalived-dir");
  }
  const claimed = kept ? keepalivedServiceKeys(kept.tree) : new Set<string>();

  // the rest of the table: applier-owned, unless another owner records it
  const others = otherOwners(source);
  const rest: IpvsService[] = [];
  for (const s of live.table.services) {
    if (claimed.has(claimKey(s))) continue;
    const key = serviceKeyString(s.key);
    const owner = others.get(key);
    if (owner !== undefined) {
      directorFinding(`service ${key} on ${name} is recorded as owned by ${owner} (another spec): not imported`);
      continue;
    }
    rest.push(s);
  }
  const tableFile = `${name}:ipvsadm -S -n`;
  const fromRules = rest.length > 0 ? importIpvsadmSave(renderIpvsadmRules({ services: rest }), tableFile, { directorName: name }) : undefined;
  if (fromRules) findings.push(...fromRules.findings);

  // one spec: keepalived's (VRRP, sync daemon, timeouts, ...) plus the table's services
  const spec: SpecInput = kept ? kept.spec : { directors: [{ name, interfaces: ["eth0"] }], services: [] };
  const director: DirectorInput = spec.directors[0]!;
  director.name = name;
  const taken = new Set(spec.services.map((s) => s.name));
  const fromKeepalived = spec.services.map((s) => s.name);
  const fromTable: string[] = [];
  for (const s of fromRules?.spec.services ?? []) {
    const svc: ServiceInput = { ...s, name: uniqueName(s.name, taken) };
    spec.services.push(svc);
    fromTable.push(svc.name);
  }

  // the endpoint given on the command line, the live interfaces (and any the config names)
  const ssh: NonNullable<DirectorInput["ssh"]> = { host: source.ssh.host, port: source.ssh.port, user: source.ssh.user, hostKey: source.ssh.hostKey };
  if (source.ssh.privateKeyPath !== undefined) ssh.privateKeyPath = source.ssh.privateKeyPath;
  director.ssh = ssh;
  const placeholder = kept === undefined || (kept.notes.some((n) => n.path.length === 3 && n.path[2] === "interfaces"));
  const configured = placeholder ? [] : director.interfaces;
  const interfaces = [...new Set([...liveInterfaces(live.addresses), ...configured])].sort();
  director.interfaces = interfaces.length > 0 ? interfaces : ["eth0"];
  if (configDir !== DEFAULT_CONFIG_DIR) spec.keepalived = { ...(spec.keepalived ?? {}), configDir };

  const notes: SpecNote[] = [
    { path: ["directors", 0], comment: `imported from the live director ${name} (${source.ssh.user}@${source.ssh.host}:${source.ssh.port}) by ipvsc import --director` },
    ...(kept?.notes ?? []).filter((n) => n.path[0] === "vrrp"),
  ];
  if (interfaces.length === 0) notes.push({ path: ["directors", 0, "interfaces"], comment: "placeholder: no interface with an address was found; list the director's interfaces" });
  spec.services.forEach((s, i) => {
    if (fromTable.includes(s.name)) notes.push({ path: ["services", i], comment: "from the live table: applier-owned (no health checks)" });
  });

  const parsed = parseSpec(spec);
  const specIssues = parsed.ok ? validate(parsed.spec) : parsed.issues;
  const keepalivedConf = hasErrors(specIssues) ? { status: "different" as const, differences: ["the spec is invalid"] } : compareConf(spec, name, source, kept);
  return {
    spec,
    findings: sortFindings(findings, [...(kept?.files ?? []), tableFile]),
    specIssues,
    notes,
    fromKeepalived,
    fromTable,
    files: kept?.files ?? [],
    keepalivedConf,
  };
}
