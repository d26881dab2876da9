/** Talks to one director: reads its live state, stages and runs an apply, reattaches after a drop. */
import { DIGESTS_MARKER, READ_STATE_SCRIPT } from "../apply-script/scripts.sh.js";
import { readStateCommand, readStateDigestCommand, type StagedApply } from "../apply-script/stage-files.js";
import { digestRequest } from "../state/digest-read.js";
import { parseLiveState } from "../state/parse-live-state.js";
import type { ExpectedTable } from "../state/read-clean-live-table.js";
import type { LiveState } from "../state/live-state.js";
import { SshSession, type SshTargetConfig } from "./ssh-session.js";
import { traceGuest, traceHost, tracedCommand } from "./trace.js";

/**
 * The longest a read-state may take: a 10,000-service table read by an emulated (TCG) lab
 * director under load took over a minute (issue #17's benchmark); a hung director still fails.
 */
const READ_TIMEOUT_MS = 180_000;

/** How readLiveState reads. */
export interface ReadLiveStateOptions {
  /**
   * digest (the default when `expected` is given): the director prints in full only the
   * services that differ from `expected` or that it does not list (src/state/digest-read.ts);
   * full: the whole table, as without `expected`. Both give the same plan.
   */
  read?: "digest" | "full";
}

/**
 * Reads a director's live state over an open session. `expected`, the table the director
 * should end up with and its rules (rendered here when not given), only speeds the reading
 * up: the digest read (see ReadLiveStateOptions) and parseLiveState's hint.
 */
export async function readLiveState(
  session: SshSession, director: string, keepalivedConfigDir: string, expected?: ExpectedTable, options: ReadLiveStateOptions = {},
): Promise<LiveState> {
  const digests = expected && options.read !== "full" ? digestRequest(expected) : undefined;
  traceHost(`${director}: read-state sent`);
  const r = digests
    ? await session.exec(tracedCommand(readStateDigestCommand(keepalivedConfigDir)), { stdin: `${READ_STATE_SCRIPT}${DIGESTS_MARKER}\n${digests.text}`, timeoutMs: READ_TIMEOUT_MS })
    : await session.exec(tracedCommand(readStateCommand(keepalivedConfigDir)), { stdin: READ_STATE_SCRIPT, timeoutMs: READ_TIMEOUT_MS });
  traceHost(`${director}: read-state output received`);
  const stderr = traceGuest(r.stderr, director);
  if (r.code !== 0) throw new Error(`reading the state of ${director} failed (exit ${r.code}): ${stderr.trim()}`);
  const live = parseLiveState(director, r.stdout, digests ? { expected: digests.expected, digests } : expected ? { expected } : {});
  traceHost(`${director}: live state parsed`);
  return live;
}

/** How an apply ended on the director. */
export interface ApplyOutcome {
  /** the apply script's result: 0 applied, 10 refused, 11 rolled back, 12 unknown */
  code: number;
  state: "new" | "old" | "unknown";
  log: string;
}

export function outcomeOf(code: number): ApplyOutcome["state"] {
  if (code === 0) return "new";
  if (code === 10 || code === 11) return "old";
  return "unknown";
}

/**
 * Uploads the staged files and runs the apply. If the connection drops while the detached
 * worker runs, reconnects (bounded) and waits for its result.
 */
export async function runStagedApply(
  target: SshTargetConfig,
  staged: StagedApply,
  onLog: (text: string) => void = () => {},
): Promise<ApplyOutcome> {
  traceHost("apply: connecting");
  let session = await SshSession.connect(target);
  try {
    traceHost("apply: connected");
    // one round trip for all files (one exec per file cost seconds on a slow director)
    await session.writeFiles(staged.files.map((f) => ({ path: f.path, content: f.content, mode: f.secret ? 0o600 : f.path.endsWith(".sh") ? 0o755 : 0o644 })));
    traceHost("apply: files uploaded");
    let log = "";
    const collect = (s: string) => { log += s; onLog(s); };
    try {
      const r = await session.exec(tracedCommand(staged.command), { onStdout: collect });
      traceHost("apply: run ended");
      traceGuest(r.stderr, "apply");
      if (r.code !== 255) return { code: r.code, state: outcomeOf(r.code), log };
    } catch {
      // fall through to reattach
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        session.close();
        session = await SshSession.connect(target);
        log = "";
        const r = await session.exec(tracedCommand(staged.waitCommand), { onStdout: collect });
        traceGuest(r.stderr, "apply");
        if (r.code !== 255) return { code: r.code, state: outcomeOf(r.code), log };
      } catch {
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
    return { code: 12, state: "unknown", log: `${log}\nipvsc: lost the connection and could not reattach; the apply may still be running\n` };
  } finally {
    session.close();
  }
}
