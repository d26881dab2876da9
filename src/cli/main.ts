#!/usr/bin/env node
/** The `ipvsc` executable: wires the CLI to the real process. */
import { runCli } from "./cli.js";

process.exitCode = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
});
