/**
 * `ipvsc import`: adopt what a director runs today. Reads a keepalived.conf (following its
 * includes) or an `ipvsadm -S -n` dump, writes a spec in YAML and, on request, a TypeScript
 * program that compiles the same spec. Everything the spec cannot carry is printed as
 * `file:line: warning[unsupported-construct] ...` and listed at the top of the spec file.
 * With `--director NAME` it reads a live director over SSH instead (its table, keepalived.conf
 * and includes, interfaces) and writes one spec that plans as "adopt, no kernel change".
 * Exit codes: 0 imported (warnings allowed), 1 unreadable input, 2 usage error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { formatIssues, hasErrors } from "../issues.js";
import { formatFindings } from "../import/import-findings.js";
import { importIpvsadmSave } from "../import/import-ipvsadm-save.js";
import { importKeepalivedConf, type ImportResult } from "../import/import-keepalived-conf.js";
import { formatSpecTypeScript, formatSpecYaml } from "../import/format-spec.js";
import { importLiveDirector, includesToRead, liveKeepalivedConfPath, type LiveDirectorImport } from "../import/import-director.js";
import { NAME, PATH } from "../schema/grammar.js";
import { JSON_SCHEMA_FILE } from "../schema/json-schema.js";
import { SshEndpoint } from "../schema/spec-schema.js";
import { readLiveState } from "../ssh/director-client.js";
import { SshSession } from "../ssh/ssh-session.js";
import { reasonOf } from "../system-errors.js";
import type { CliIo } from "./cli.js";
import { FileError, readTextFile } from "./files.js";

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;
const SCHEMA_URL = "https://pulumi-ipvs.dev/schema/ipvs-spec.schema.json";

/** One glob path segment (`*`, `?`, `[...]`) as a regular expression. */
function segmentPattern(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        const body = segment.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** `a{b,c}d` -> [abd, acd] (one level, as glob(3) with GLOB_BRACE mostly sees it). */
function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  return m[1]!.split(",").flatMap((alt) => expandBraces(pattern.slice(0, m.index) + alt + pattern.slice(m.index + m[0].length)));
}

/** Files matching a keepalived include glob, in the pattern's own form (relative stays relative), sorted. */
export function expandIncludeGlob(pattern: string, cwd: string): string[] {
  const out = new Set<string>();
  for (const p of expandBraces(pattern)) {
    let bases = [p.startsWith("/") ? "/" : ""];
    for (const segment of p.split("/")) {
      if (segment === "") continue;
      if (!/[*?[]/.test(segment)) {
        bases = bases.map((b) => (b === "" ? segment : posix.join(b, segment)));
        continue;
      }
      const re = segmentPattern(segment);
      bases = bases.flatMap((b) => {
        try {
          return readdirSync(resolve(cwd, b === "" ? "." : b))
            .filter((name) => re.test(name) && (!name.startsWith(".") || segment.startsWith(".")))
            .map((name) => (b === "" ? name : posix.join(b, name)));
        } catch {
          return [];
        }
      });
    }
    for (const b of bases) {
      try {
        if (statSync(resolve(cwd, b)).isFile()) out.add(b);
      } catch {
        // vanished or unreadable: the importer reports what it cannot read
      }
    }
  }
  return [...out].sort();
}

/** The `$schema` value for a spec written to `outFile` (or to stdout from `cwd`). */
function schemaReference(outFile: string | undefined, cwd: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ["../..", "../../.."]) {
    const candidate = resolve(here, up, JSON_SCHEMA_FILE);
    if (existsSync(candidate)) {
      const from = outFile === undefined ? cwd : dirname(resolve(cwd, outFile));
      const rel = relative(from, candidate).split("\\").join("/");
      return rel.startsWith(".") ? rel : `./${rel}`;
    }
  }
  return SCHEMA_URL;
}

/** What the spec writer needs of an import. */
type Imported = Pick<ImportResult, "spec" | "findings" | "notes">;

function headerOf(input: string, result: Pick<Imported, "findings">): string[] {
  const lines = [`imported from ${input} by ipvsc import; review it before applying`];
  if (result.findings.length > 0) {
    lines.push(`${result.findings.length} construct${result.findings.length === 1 ? " was" : "s were"} not imported or imported with a change:`);
    for (const f of result.findings) {
      const where = f.location ? `${f.location.file}:${f.location.line}` : "";
      lines.push(`  ${where}: ${f.message}`);
    }
  }
  return lines;
}

function summaryOf(input: string, result: Pick<Imported, "spec" | "findings">): string {
  const services = result.spec.services;
  // keepalived's when some real server is checked: by its own checks, else by the pool's
  const keepalived = services.filter((s) => s.pool.servers.some((rs) => (rs.healthChecks ?? s.pool.healthChecks ?? []).length > 0)).length;
  const instances = result.spec.vrrp?.instances?.length ?? 0;
  return (
    `${input}: imported ${services.length} service${services.length === 1 ? "" : "s"} ` +
    `(${keepalived} keepalived-owned, ${services.length - keepalived} applier-owned), ` +
    `${instances} VRRP instance${instances === 1 ? "" : "s"}; ` +
    `${result.findings.length} warning${result.findings.length === 1 ? "" : "s"}`
  );
}

async function writeOut(path: string, shown: string, content: string, secret: boolean): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    // a spec with a VRRP password is a secret file
    await writeFile(path, content, { mode: secret ? 0o600 : 0o644 });
  } catch (e) {
    throw new FileError(`cannot write ${shown}: ${reasonOf(e)}`);
  }
}

/** Prints findings and spec issues; false when the spec is invalid (nothing may be written). */
function reportAndCheck(io: CliIo, result: Pick<ImportResult, "findings" | "specIssues">): boolean {
  if (result.findings.length > 0) io.err(`${formatFindings(result.findings)}\n`);
  if (result.specIssues.length > 0) io.err(`${formatIssues(result.specIssues)}\n`);
  if (hasErrors(result.specIssues)) {
    io.err("ipvsc import: the imported spec is still invalid (an importer bug: please report it); nothing written\n");
    return false;
  }
  return true;
}

/** Writes the spec as YAML (stdout without -o) and, on request, as a TypeScript program. */
async function writeImported(io: CliIo, input: string, result: Imported, opts: { out?: string; typescript?: string }): Promise<void> {
  const secret = (result.spec.vrrp?.instances ?? []).some((i) => i.authPassword !== undefined);
  const header = headerOf(input, result);
  const yaml = formatSpecYaml(result.spec, { schema: schemaReference(opts.out, io.cwd), header, notes: result.notes });
  if (opts.out !== undefined) {
    await writeOut(resolve(io.cwd, opts.out), opts.out, yaml, secret);
    io.out(`wrote ${opts.out}\n`);
  } else {
    io.out(yaml);
  }
  if (opts.typescript !== undefined) {
    await writeOut(resolve(io.cwd, opts.typescript), opts.typescript, formatSpecTypeScript(result.spec, { header, notes: result.notes }), secret);
    io.out(`wrote ${opts.typescript}\n`);
  }
  io.err(`${summaryOf(input, result)}\n`);
}

/** Single quotes for the director's shell. */
function shq(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** A file's text read on the director with `cat`; undefined when it cannot be read. */
async function readRemoteFile(session: SshSession, path: string): Promise<string | undefined> {
  const r = await session.exec(`cat -- ${shq(path)}`, { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout : undefined;
}

/** Regular files matching an include glob on the director, sorted (braces expanded here, the rest by sh). */
async function expandRemoteGlob(session: SshSession, pattern: string): Promise<string[]> {
  const out = new Set<string>();
  for (const p of expandBraces(pattern)) {
    // the pattern travels on stdin; with IFS empty its unquoted expansion is pathname expansion only
    const r = await session.exec(`IFS=; read -r p; for f in $p; do [ -f "$f" ] && printf '%s\\n' "$f"; done; true`, { stdin: `${p}\n`, timeoutMs: 30_000 });
    for (const line of r.stdout.split("\n")) if (line !== "") out.add(line);
  }
  return [...out].sort();
}

/** Options of `ipvsc import --director`. */
interface DirectorImportOptions {
  director: string;
  host?: string;
  port: string;
  user: string;
  hostKey?: string;
  identity?: string;
  keepalivedDir: string;
  owner: string;
}

/** Reads a live director over SSH and imports it; an exit code (after printing why) when it cannot. */
async function importDirector(io: CliIo, o: DirectorImportOptions): Promise<{ result: LiveDirectorImport; input: string } | { code: number }> {
  if (!NAME.pattern.test(o.director)) {
    io.err(`ipvsc import: --director "${o.director}" must be ${NAME.describe}\n`);
    return { code: EXIT_USAGE };
  }
  if (o.host === undefined || o.hostKey === undefined) {
    io.err("ipvsc import --director: give --host and --host-key (the director's pinned public key, \"ssh-ed25519 AAAA...\")\n");
    return { code: EXIT_USAGE };
  }
  const endpoint = SshEndpoint.safeParse({
    host: o.host, port: Number(o.port), user: o.user, hostKey: o.hostKey,
    ...(o.identity !== undefined ? { privateKeyPath: resolve(io.cwd, o.identity) } : {}),
  });
  const dirOk = PATH.pattern.test(o.keepalivedDir);
  if (!endpoint.success || !dirOk) {
    const option: Record<string, string> = { host: "--host", port: "--port", user: "--user", hostKey: "--host-key", privateKeyPath: "--identity" };
    const problems = [...(endpoint.success ? [] : endpoint.error.issues.map((i) => `${option[String(i.path[0])] ?? "ssh"}: ${i.message}`)),
      ...(dirOk ? [] : [`--keepalived-dir: must be ${PATH.describe}`])];
    io.err(`ipvsc import --director: ${problems.join("; ")}\n`);
    return { code: EXIT_USAGE };
  }
  const ssh = endpoint.data;
  const input = `director ${o.director} (${ssh.user}@${ssh.host}:${ssh.port})`;
  let session: SshSession;
  try {
    session = await SshSession.connect({
      name: o.director, host: ssh.host, port: ssh.port, user: ssh.user, hostKey: ssh.hostKey,
      ...(ssh.privateKeyPath !== undefined ? { privateKeyPath: ssh.privateKeyPath } : {}),
    });
  } catch (e) {
    io.err(`ipvsc import: ${(e as Error).message}\n`);
    return { code: EXIT_INVALID };
  }
  try {
    const live = await readLiveState(session, o.director, o.keepalivedDir);
    if (live.issues.length > 0) io.err(`${formatIssues(live.issues)}\n`);
    // the includes of the live keepalived.conf, read over the same session (nested ones once their parent is read)
    const includes = new Map<string, string | undefined>();
    const globs = new Map<string, string[]>();
    if (live.keepalivedConf !== undefined) {
      const confPath = liveKeepalivedConfPath(o.keepalivedDir);
      for (let round = 0; round < 20; round++) {
        const want = includesToRead(live.keepalivedConf, confPath, includes, globs);
        if (want.files.length === 0 && want.globs.length === 0) break;
        for (const f of want.files) includes.set(f, await readRemoteFile(session, f));
        for (const g of want.globs) globs.set(g, await expandRemoteGlob(session, g));
      }
    }
    const result = importLiveDirector({
      name: o.director, ssh, keepalivedConfigDir: o.keepalivedDir, live, includes, globs, owner: o.owner,
    });
    return { result, input };
  } catch (e) {
    io.err(`ipvsc import: reading ${input} failed: ${(e as Error).message}\n`);
    return { code: EXIT_INVALID };
  } finally {
    session.close();
  }
}

/** What the live keepalived.conf becomes, in words. */
function keepalivedVerdict(name: string, result: LiveDirectorImport): string {
  const c = result.keepalivedConf;
  switch (c.status) {
    case "absent":
      return "";
    case "identical":
      return `${name}: keepalived.conf: the spec renders the live file byte for byte\n`;
    case "equivalent":
      return `${name}: keepalived.conf: the spec renders another text with the same meaning (structural comparison); ` +
        "the first apply installs it and reloads keepalived (SIGHUP: the same process, the table is not touched); `ipvsc plan` shows the text diff\n";
    default:
      return `${name}: keepalived.conf: the spec renders a config that differs from the live one (\`ipvsc plan\` shows the diff):\n` +
        c.differences.map((d) => `  ${d}\n`).join("");
  }
}

/** Adds `import` to the program; `setCode` receives the exit code. */
export function registerImportCommand(program: Command, io: CliIo, setCode: (code: number) => void): void {
  program
    .command("import")
    .description("turn an existing keepalived.conf (or an `ipvsadm -S -n` dump) into a spec")
    .argument("[keepalived.conf]", "keepalived configuration to import (its includes are followed)")
    .option("--ipvsadm <dump>", "import an `ipvsadm -S -n` dump instead (services become applier-owned)")
    .option("-o, --out <spec.yaml>", "write the spec here (default: standard output)")
    .option("--typescript <program.ts>", "also write a TypeScript program that compiles the same spec")
    .option("--name <director>", "the director's name (default: router_id, else the file name)")
    .option("--director <name>", "read this live director over SSH instead (needs --host and --host-key)")
    .option("--host <host>", "--director: the director's address or DNS name")
    .option("--port <port>", "--director: SSH port", "22")
    .option("--user <user>", "--director: SSH user", "root")
    .option("--host-key <key>", "--director: the pinned public host key, \"ssh-ed25519 AAAA...\"")
    .option("-i, --identity <file>", "--director: SSH private key file (default: the agent); written into the spec")
    .option("--keepalived-dir <dir>", "--director: where keepalived.conf lives on the director", "/etc/keepalived")
    .option("--owner <name>", "--director: the owner name plan and apply will use (services other owners record are left out)", "ipvsc")
    .action(async (file: string | undefined, opts: { ipvsadm?: string; out?: string; typescript?: string; name?: string } & Partial<DirectorImportOptions>) => {
      if (opts.director !== undefined) {
        if (file !== undefined || opts.ipvsadm !== undefined || opts.name !== undefined) {
          io.err("ipvsc import: --director reads the live director: give no keepalived.conf, --ipvsadm or --name with it\n");
          return setCode(EXIT_USAGE);
        }
        const read = await importDirector(io, opts as DirectorImportOptions);
        if ("code" in read) return setCode(read.code);
        const { result, input } = read;
        if (!reportAndCheck(io, result)) return setCode(EXIT_INVALID);
        io.err(keepalivedVerdict(opts.director, result));
        io.err(`${opts.director}: ${result.fromKeepalived.length} service(s) from keepalived.conf, ${result.fromTable.length} from the table; ` +
          "`ipvsc plan` adopts what matches the live director without changing its table\n");
        await writeImported(io, input, result, opts);
        return setCode(0);
      }
      if (opts.host !== undefined || opts.hostKey !== undefined || opts.identity !== undefined) {
        io.err("ipvsc import: --host, --host-key and --identity go with --director\n");
        return setCode(EXIT_USAGE);
      }
      if ((file === undefined) === (opts.ipvsadm === undefined)) {
        io.err("ipvsc import: give a keepalived.conf, --ipvsadm DUMP or --director NAME (one of them)\n");
        return setCode(EXIT_USAGE);
      }
      const input = file ?? opts.ipvsadm!;
      let text: string;
      try {
        text = await readTextFile(resolve(io.cwd, input), input);
      } catch (e) {
        io.err(`ipvsc import: ${e instanceof FileError ? e.message : `cannot read ${input}: ${reasonOf(e)}`}\n`);
        return setCode(EXIT_INVALID);
      }
      const name = opts.name === undefined ? {} : { directorName: opts.name };
      const result = file !== undefined
        ? importKeepalivedConf(text, input, {
          ...name,
          readInclude: (p) => {
            try {
              return readFileSync(isAbsolute(p) ? p : join(io.cwd, p), "utf8");
            } catch {
              return undefined;
            }
          },
          expandGlob: (p) => expandIncludeGlob(p, io.cwd),
        })
        : importIpvsadmSave(text, input, name);

      if (!reportAndCheck(io, result)) return setCode(EXIT_INVALID);
      await writeImported(io, input, result, opts);
      setCode(0);
    });
}
