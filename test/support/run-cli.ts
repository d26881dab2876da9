/** The CLI run in-process for tests: its exit code and everything it printed. */
import { runCli, type CliIo } from "../../src/cli/cli.js";

/** What one run of `ipvsc` gave. */
export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Runs `ipvsc argv` in `cwd` with an empty environment, capturing stdout and stderr. */
export async function runIpvsc(argv: string[], cwd: string, extra: Partial<CliIo> = {}): Promise<Captured> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s), env: {}, cwd, ...extra };
  const code = await runCli(argv, io);
  return { code, out, err };
}
