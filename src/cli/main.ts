#!/usr/bin/env node
/** The `ipvsc` executable: wires the CLI to the real process. */
import { createInterface } from "node:readline/promises";
import { runCli, type CliIo } from "./cli.js";

/** Asks on the terminal; only when both ends are one, so CI and pipes never hang. */
const confirm: CliIo["confirm"] = process.stdin.isTTY && process.stderr.isTTY
  ? async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  }
  : undefined;

/**
 * A reader that went away (`ipvsc plan | head`) is no failure of ipvsc: later output to that
 * stream is dropped, and a rollout in progress is not cut short by it.
 */
const gone = { out: false, err: false };
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  gone.out = true;
});
process.stderr.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  gone.err = true;
});

process.exitCode = await runCli(process.argv.slice(2), {
  out: (s) => void (gone.out || process.stdout.write(s)),
  err: (s) => void (gone.err || process.stderr.write(s)),
  env: process.env,
  cwd: process.cwd(),
  // progress redrawn in place only on a terminal; CI logs get one plain line per phase
  isTTY: process.stderr.isTTY === true && process.env.TERM !== "dumb",
  ...(process.stderr.isTTY === true && process.stderr.rows > 0 ? { rows: process.stderr.rows } : {}),
  ...(confirm ? { confirm } : {}),
});
