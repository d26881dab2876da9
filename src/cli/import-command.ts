/**
 * `ipvsc import`: adopt what a director runs today. Reads a keepalived.conf (following its
 * includes) or an `ipvsadm -S -n` dump, writes a spec in YAML and, on request, a TypeScript
 * program that compiles the same spec. Everything the spec cannot carry is printed as
 * `file:line: warning[unsupported-construct] ...` and listed at the top of the spec file.
 * Exit codes: 0 imported (warnings allowed), 1 unreadable input, 2 usage error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { formatIssues, hasErrors } from "../issues.js";
import { formatFindings } from "../import/import-findings.js";
import { importIpvsadmSave } from "../import/import-ipvsadm-save.js";
import { importKeepalivedConf, type ImportResult } from "../import/import-keepalived-conf.js";
import { formatSpecTypeScript, formatSpecYaml } from "../import/format-spec.js";
import { JSON_SCHEMA_FILE } from "../schema/json-schema.js";
import type { CliIo } from "./cli.js";

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

function headerOf(input: string, result: ImportResult): string[] {
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

function summaryOf(input: string, result: ImportResult): string {
  const services = result.spec.services;
  const keepalived = services.filter((s) => (s.pool.healthChecks?.length ?? 0) > 0).length;
  const instances = result.spec.vrrp?.instances?.length ?? 0;
  return (
    `${input}: imported ${services.length} service${services.length === 1 ? "" : "s"} ` +
    `(${keepalived} keepalived-owned, ${services.length - keepalived} applier-owned), ` +
    `${instances} VRRP instance${instances === 1 ? "" : "s"}; ` +
    `${result.findings.length} warning${result.findings.length === 1 ? "" : "s"}`
  );
}

async function writeOut(path: string, content: string, secret: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // a spec with a VRRP password is a secret file
  await writeFile(path, content, { mode: secret ? 0o600 : 0o644 });
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
    .action(async (file: string | undefined, opts: { ipvsadm?: string; out?: string; typescript?: string; name?: string }) => {
      if ((file === undefined) === (opts.ipvsadm === undefined)) {
        io.err("ipvsc import: give a keepalived.conf or --ipvsadm DUMP (one of them)\n");
        return setCode(EXIT_USAGE);
      }
      const input = file ?? opts.ipvsadm!;
      let text: string;
      try {
        text = await readFile(resolve(io.cwd, input), "utf8");
      } catch (e) {
        io.err(`ipvsc import: cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
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

      if (result.findings.length > 0) io.err(`${formatFindings(result.findings)}\n`);
      if (result.specIssues.length > 0) io.err(`${formatIssues(result.specIssues)}\n`);
      if (hasErrors(result.specIssues)) {
        io.err("ipvsc import: the imported spec is still invalid (an importer bug: please report it); nothing written\n");
        return setCode(EXIT_INVALID);
      }
      const secret = (result.spec.vrrp?.instances ?? []).some((i) => i.authPassword !== undefined);
      const header = headerOf(input, result);
      const yaml = formatSpecYaml(result.spec, { schema: schemaReference(opts.out, io.cwd), header, notes: result.notes });
      if (opts.out !== undefined) {
        await writeOut(resolve(io.cwd, opts.out), yaml, secret);
        io.out(`wrote ${opts.out}\n`);
      } else {
        io.out(yaml);
      }
      if (opts.typescript !== undefined) {
        await writeOut(resolve(io.cwd, opts.typescript), formatSpecTypeScript(result.spec, { header, notes: result.notes }), secret);
        io.out(`wrote ${opts.typescript}\n`);
      }
      io.err(`${summaryOf(input, result)}\n`);
      setCode(0);
    });
}
