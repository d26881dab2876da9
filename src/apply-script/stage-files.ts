/**
 * The files an apply stages on a director, and the one command that runs it. Pure: the CLI
 * uploads them over SSH, the Pulumi components with remote.CopyToRemote.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";

let salt: Buffer | undefined;
/** A per-process random key: run directories stay stable within a process, secrets unguessable. */
function secretSalt(): Buffer {
  salt ??= randomBytes(32);
  return salt;
}
import type { DirectorModel } from "../model/model.js";
import { serviceKeyString } from "../model/service-key.js";
import type { DirectorPlan } from "../plan/plan-types.js";
import { renderIpvsadmRules } from "../render/render-ipvsadm-rules.js";
import { NAME } from "../schema/grammar.js";
import { renderOwnershipRecord, type OwnershipRecord } from "../state/live-state.js";
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

/** The command that prints a director's live state (see src/state/live-state.ts). */
export function readStateCommand(keepalivedConfigDir: string): string {
  // a temporary name per reader ($$): two plans reading at once never rename each other's half-written copy
  return `mkdir -p ${STATE_DIR} && cat > ${READ_STATE_SCRIPT_PATH}.tmp.$$ && mv ${READ_STATE_SCRIPT_PATH}.tmp.$$ ${READ_STATE_SCRIPT_PATH} && sh ${READ_STATE_SCRIPT_PATH} ${keepalivedConfigDir}`;
}

/** What a converge needs: the desired state of one director, nothing read from it. */
export interface ConvergeInputs {
  /** the director as compiled (its services, by owner, and its VRRP instances) */
  director: DirectorModel;
  keepalivedConf: string;
  /** VRRP password includes: { path: <configDir>/vrrp-auth-X.conf, content } */
  secretFiles: { path: string; content: string }[];
  sysctlConf: string;
  keepalivedConfigDir: string;
  /** who this spec is on the director (its ownership record); a name (letters, digits, _ . -) */
  owner: string;
  /** seconds to wait for drained real servers to reach zero connections */
  drainTimeoutSeconds: number;
}

/** The staged converge: the files to place, and the command (with its stdin) that applies them. */
export interface StagedConverge {
  /** the staging directory, one per owner: its paths never change, so unchanged files never diff */
  dir: string;
  /** apply.sh and the staged files; secret files are flagged */
  files: StagedFile[];
  /** sha256 of the staged manifest.sha256 (which lists every non-secret staged file's sha256) */
  manifestSha256: string;
  /** `sh /var/lib/ipvsc/apply.sh converge DIR SHA256`: no secrets in it */
  command: string;
  /**
   * The command's standard input: `sha256sum` lines of the secret files, "" when there are none.
   * A secret (a VRRP password is short enough to guess from its hash); it changes when a
   * password changes, so the command runs again without the password ever being in its text.
   */
  stdin: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Whether keepalived runs on this director for this spec (as planDirector decides it). */
export function keepalivedManaged(director: DirectorModel): boolean {
  return director.services.some((s) => s.owner === "keepalived") || director.vrrpInstances.length > 0;
}

/** The ownership record a director keeps after an apply of `director` by `owner` (as planDirector renders it). */
export function ownershipRecordOf(director: DirectorModel, owner: string): string {
  const record: OwnershipRecord = { owner, services: {} };
  for (const s of director.services) record.services[s.name] = `${serviceKeyString(s.ipvs.key)} ${s.owner}`;
  return renderOwnershipRecord(record);
}

/**
 * Stages a converge: the director computes the batches itself, under its lock, from the
 * desired state staged here and the live table (`apply.sh converge`). The Pulumi components
 * use this, because a Pulumi resource cannot read the live table before it runs.
 * Deterministic: the same inputs give the same files, manifest and command.
 */
export function stageConverge(input: ConvergeInputs): StagedConverge {
  if (!NAME.pattern.test(input.owner)) throw new Error(`owner "${input.owner}" must be ${NAME.describe}`);
  const { director } = input;
  const dir = `${STATE_DIR}/stage/${input.owner}`;
  // a header line, so no staged file is ever empty (Pulumi cannot read back an empty StringAsset)
  const byOwner = (owner: "applier" | "keepalived") =>
    `# ${owner}-owned services wanted on this director (ipvsadm -S -n form with -x/-y)\n` +
    renderIpvsadmRules({ services: director.services.filter((s) => s.owner === owner).map((s) => s.ipvs) });
  const managed = keepalivedManaged(director);
  const secrets = managed
    ? input.secretFiles.map((f) => ({ name: `secrets/${f.path.split("/").pop()!}`, content: f.content }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    : [];
  const params = [
    `OWNER=${input.owner}`,
    `KCONF_DIR=${input.keepalivedConfigDir}`,
    `DRAIN_TIMEOUT=${Math.max(0, Math.round(input.drainTimeoutSeconds))}`,
    `MANAGED=${managed ? "yes" : "no"}`,
    `SECRET_FILES="${secrets.map((f) => f.name).join(" ")}"`,
  ].join("\n") + "\n";
  const plain: [string, string][] = [
    ["params", params],
    ["desired.rules", byOwner("applier")],
    ["desired-keepalived.rules", byOwner("keepalived")],
    ["owned", ownershipRecordOf(director, input.owner)],
    ["sysctl.conf", input.sysctlConf],
  ];
  if (managed) plain.push(["keepalived.conf", input.keepalivedConf]);
  plain.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // the format sha256sum prints and reads: "<hex>  <name>"
  const manifest = plain.map(([name, content]) => `${sha256(content)}  ${name}\n`).join("");
  const manifestSha256 = sha256(manifest);
  const files: StagedFile[] = [
    { path: APPLY_SCRIPT_PATH, content: APPLY_SCRIPT, secret: false },
    ...plain.map(([name, content]) => ({ path: `${dir}/${name}`, content, secret: false })),
    { path: `${dir}/manifest.sha256`, content: manifest, secret: false },
    ...secrets.map((f) => ({ path: `${dir}/${f.name}`, content: f.content, secret: true })),
  ];
  return {
    dir,
    files,
    manifestSha256,
    command: convergeCommand(dir, manifestSha256),
    stdin: secrets.map((f) => `${sha256(f.content)}  ${f.name}\n`).join(""),
  };
}

/** `sh /var/lib/ipvsc/apply.sh converge DIR SHA256`. */
export function convergeCommand(dir: string, manifestSha256: string): string {
  return `sh ${APPLY_SCRIPT_PATH} converge ${dir} ${manifestSha256}`;
}
