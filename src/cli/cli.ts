/**
 * ipvsc: the same pipeline as the Pulumi components, without Pulumi.
 * Exit codes: 0 ok, 1 invalid spec or failed operation, 2 usage error, 3 drift found.
 */
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { buildFiles, compileText, type CompileOutput, type CompileResult } from "../compile.js";
import { formatIssues, type Issue } from "../issues.js";

/** Where the CLI writes and what it may read: injected so tests run it in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_DRIFT = 3;

/** Reads and compiles a spec file; prints issues; returns the result. */
export async function compileFile(path: string, io: CliIo): Promise<CompileResult | undefined> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), "utf8");
  } catch (e) {
    io.err(`ipvsc: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return undefined;
  }
  const result = compileText(text, path);
  printIssues(result.issues, io);
  return result;
}

function printIssues(issues: readonly Issue[], io: CliIo): void {
  if (issues.length > 0) io.err(`${formatIssues(issues)}\n`);
}

/** One line about what a spec declares. */
export function summarize(output: CompileOutput): string {
  const services = output.model.services;
  const keepalived = services.filter((s) => s.owner === "keepalived").length;
  const servers = services.reduce((n, s) => n + s.ipvs.realServers.length, 0);
  const instances = new Set(output.model.directors.flatMap((d) => d.vrrpInstances.map((i) => i.name))).size;
  return (
    `${services.length} service${services.length === 1 ? "" : "s"} ` +
    `(${services.length - keepalived} applier-owned, ${keepalived} keepalived-owned), ` +
    `${servers} real server${servers === 1 ? "" : "s"}, ` +
    `${output.model.directors.length} director${output.model.directors.length === 1 ? "" : "s"}` +
    (instances > 0 ? `, ${instances} VRRP instance${instances === 1 ? "" : "s"}` : "")
  );
}

function errorCount(issues: readonly Issue[]): string {
  const errors = issues.filter((i) => i.severity === "error").length;
  const warnings = issues.length - errors;
  return `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = new Command("ipvsc")
    .description("Compile, plan and roll out Linux IPVS load balancers (ipvsadm + keepalived)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command("validate")
    .description("check a spec (YAML or JSON) and print every problem")
    .argument("<spec>", "spec file")
    .action(async (spec: string) => {
      const result = await compileFile(spec, io);
      if (!result) return void (code = EXIT_INVALID);
      if (!result.ok) {
        io.err(`${spec}: invalid (${errorCount(result.issues)})\n`);
        return void (code = EXIT_INVALID);
      }
      io.out(`${spec}: valid: ${summarize(result.output)}\n`);
    });

  program
    .command("build")
    .description("render ipvsadm.rules, keepalived/<director>.conf, secrets and sysctl.conf")
    .argument("<spec>", "spec file")
    .requiredOption("-o, --out <dir>", "output directory")
    .action(async (spec: string, opts: { out: string }) => {
      const result = await compileFile(spec, io);
      if (!result) return void (code = EXIT_INVALID);
      if (!result.ok) {
        io.err(`${spec}: invalid (${errorCount(result.issues)}); nothing written\n`);
        return void (code = EXIT_INVALID);
      }
      const outDir = resolve(io.cwd, opts.out);
      const files = buildFiles(result.output);
      for (const f of files) {
        const path = join(outDir, f.path);
        await mkdir(dirname(path), { recursive: true, mode: f.secret ? 0o700 : 0o755 });
        await writeFile(path, f.content, { mode: f.secret ? 0o600 : 0o644 });
        if (f.secret) await chmod(path, 0o600);
      }
      io.out(`${spec}: ${summarize(result.output)}\n`);
      io.out(`wrote ${files.length} files to ${opts.out}: ${files.map((f) => f.path).join(", ")}\n`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0) return EXIT_OK;
      return EXIT_USAGE;
    }
    throw e;
  }
  return code;
}
