/**
 * The files an apply stages on a director, and the one command that runs it. Pure: the CLI
 * and the Pulumi director resource both upload them over SSH (runStagedApply in
 * src/ssh/director-client.ts).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";

let salt: Buffer | undefined;
/** A per-process random key: run directories stay stable within a process, secrets unguessable. */
function secretSalt(): Buffer {
  salt ??= randomBytes(32);
  return salt;
}
import type { DirectorPlan } from "../plan/plan-types.js";
import { APPLY_SCRIPT, READ_STATE_SCRIPT, STATE_DIR } from "./scripts.sh.js";

/** A file to place on the director. Secret files are written mode 0600 and never logged. */
export interface StagedFile {
  path: string;
  content: string;
  secret: boolean;
}

/** What an apply needs beyond the plan. */
export interface StageInputs {
  plan: DirectorPlan;
  keepalivedConf: string;
  /** VRRP password includes: { path: <configDir>/vrrp-auth-X.conf, content } */
  secretFiles: { path: string; content: string }[];
  sysctlConf: string;
  keepalivedConfigDir: string;
  /** seconds to wait for drained real servers to reach zero connections */
  drainTimeoutSeconds: number;
}

/** The staged apply: directory, files, and the command to run. */
export interface StagedApply {
  dir: string;
  files: StagedFile[];
  /** the command to run over SSH (no secrets in it) */
  command: string;
  /** reattach to a running or finished apply after a dropped connection */
  waitCommand: string;
}

export const APPLY_SCRIPT_PATH = `${STATE_DIR}/apply.sh`;
export const READ_STATE_SCRIPT_PATH = `${STATE_DIR}/read-state.sh`;

function lines(items: readonly string[]): string {
  return items.length === 0 ? "" : `${items.join("\n")}\n`;
}

/** Builds the staged files of one director's apply. The directory name is a hash of the content. */
export function stageApply(input: StageInputs): StagedApply {
  const { plan } = input;
  const keepalived = plan.keepalived.action;
  const body: Omit<StagedFile, "path">[] = [];
  const named: [string, string, boolean][] = [
    ["params", `OWNER=${plan.owner}\nKCONF_DIR=${input.keepalivedConfigDir}\nDRAIN_TIMEOUT=${Math.max(0, Math.round(input.drainTimeoutSeconds))}\nKEEPALIVED=${keepalived}\nMANAGED=${plan.keepalived.managed ? "yes" : "no"}\n`, false],
    ["fingerprint", `${plan.fingerprint}\n`, false],
    // empty for a plan saved before they were kept: then the whole table's fingerprint decides
    ["context.fingerprint", plan.contextFingerprint ? `${plan.contextFingerprint}\n` : "", false],
    ["before.rules", plan.beforeRules ?? "", false],
    ["before.selectors", lines(plan.beforeSelectors ?? []), false],
    ["apply.batch", lines(plan.batches.apply), false],
    ["drain.list", lines(plan.batches.drain.map((d) => `${d.selector} ${d.realServer}`)), false],
    ["finalize.batch", lines(plan.batches.finalize), false],
    ["rollback.batch", lines(plan.batches.rollback), false],
    ["removed.selectors", lines(plan.batches.removedSelectors), false],
    ["expected.rules", plan.expectedRules, false],
    ["owned", plan.ownershipRecord, false],
    ["sysctl.conf", input.sysctlConf, false],
  ];
  if (keepalived !== "none") {
    named.push(["keepalived.conf", input.keepalivedConf, false]);
    for (const s of input.secretFiles) named.push([`secrets/${s.path.split("/").pop()!}`, s.content, true]);
  }
  const hash = createHash("sha256");
  for (const [name, content, secret] of named) {
    // a VRRP password is short enough to guess from a hash of it, and the directory name
    // shows in command lines: secrets enter only through an HMAC under a key that is never shown
    hash.update(`${name}\0${secret ? createHmac("sha256", secretSalt()).update(content).digest("hex") : content}\0`);
  }
  const dir = `${STATE_DIR}/runs/${plan.owner}-${hash.digest("hex").slice(0, 16)}`;
  for (const [name, content, secret] of named) body.push({ content, secret, ...{ path: `${dir}/${name}` } } as StagedFile);
  const files: StagedFile[] = [
    { path: APPLY_SCRIPT_PATH, content: APPLY_SCRIPT, secret: false },
    { path: READ_STATE_SCRIPT_PATH, content: READ_STATE_SCRIPT, secret: false },
    ...(body as StagedFile[]),
  ];
  return {
    dir,
    files,
    command: `sh ${APPLY_SCRIPT_PATH} run ${dir}`,
    waitCommand: `sh ${APPLY_SCRIPT_PATH} wait ${dir}`,
  };
}

/**
 * The command of a digest read (src/state/digest-read.ts): its stdin is the read-state
 * script, then the line DIGESTS_MARKER and the digests. The script runs from that file, a
 * name of this reader's own ($$), and reads its own tail (it exits before it); the file is
 * removed after.
 */
export function readStateDigestCommand(keepalivedConfigDir: string): string {
  const f = `${STATE_DIR}/read-state.digests.$$`;
  return `mkdir -p ${STATE_DIR} && cat > ${f} && { sh ${f} ${keepalivedConfigDir} ${f}; rc=$?; rm -f ${f}; exit $rc; }`;
}

/** The command that prints a director's live state (see src/state/live-state.ts). */
export function readStateCommand(keepalivedConfigDir: string): string {
  // a temporary name per reader ($$): two plans reading at once never rename each other's half-written copy
  return `mkdir -p ${STATE_DIR} && cat > ${READ_STATE_SCRIPT_PATH}.tmp.$$ && mv ${READ_STATE_SCRIPT_PATH}.tmp.$$ ${READ_STATE_SCRIPT_PATH} && sh ${READ_STATE_SCRIPT_PATH} ${keepalivedConfigDir}`;
}
