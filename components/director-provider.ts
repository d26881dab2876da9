/**
 * The director resource's provider: what `pulumi preview`, `up`, `refresh` and `destroy`
 * do to one director. It reads the live state with the read-state script `ipvsc plan`
 * uses, plans with the same planner, and applies with the same staged apply as `ipvsc
 * apply` (lock, fingerprint check, drain, keepalived -t, verify, roll back): one engine,
 * two drivers.
 *
 * This module is what Pulumi runs in its provider process: the serialized provider of
 * director-resource.ts imports it by file URL. So it imports no `@pulumi/pulumi` value
 * (only types), keeps its state in module variables for the life of that process, and
 * turns every failure into one Error message with the director's name.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import {
  desiredDirectorView, liveDirectorView, planAsViewChanges, planDirector, serviceKeyString, stableJson, stageApply,
  type DirectorModel, type DirectorPlan, type DirectorView, type KeepalivedStatus, type LiveState, type ServiceView,
} from "../src/index.js";
import { SshSession, readLiveState, runStagedApply, type SshTargetConfig } from "../src/remote.js";

/** Where the director is: plain values, shown in previews. */
export interface DirectorConnection {
  host: string;
  port: number;
  user: string;
  /** the pinned host key, `ssh-ed25519 AAAA...`: any other key is refused */
  hostKey: string;
  /** ssh-agent socket, when no private key is given */
  agentSocketPath?: string;
  /** how long to wait for the director to answer @default 20 */
  connectTimeoutSeconds?: number;
}

/** How to log in: a secret in inputs, outputs and state. */
export interface DirectorCredentials {
  privateKey?: string;
  privateKeyPassword?: string;
}

/** A VRRP password include: a secret. */
export interface SecretFileInput {
  path: string;
  content: string;
}

/** The director resource's inputs (and, with the live view in place of the desired one, its outputs). */
export interface DirectorResourceProps {
  director: string;
  owner: string;
  connection: DirectorConnection;
  credentials: DirectorCredentials;
  /** this owner's services as the spec wants them (outputs: as the director has them) */
  services: Record<string, ServiceView>;
  keepalived: KeepalivedStatus;
  keepalivedConf: string;
  /** the director's compiled model (no secrets): what the planner compares with the live table */
  model: DirectorModel;
  sysctlConf: string;
  keepalivedConfigDir: string;
  /** keepalived.conf with none of this spec's services and VRRP instances: what destroy installs */
  teardownKeepalivedConf: string;
  secretFiles: SecretFileInput[];
  drainTimeoutSeconds: number;
}

/** The properties that only ever change through the inputs: never compared with the director. */
const SECRET_PROPS = ["credentials", "secretFiles"] as const;

function digest(value: unknown): string {
  return createHash("sha256").update(stableJson(value)).digest("hex");
}

function plainOf(props: DirectorResourceProps): Omit<DirectorResourceProps, (typeof SECRET_PROPS)[number]> {
  const { credentials: _c, secretFiles: _s, ...rest } = props;
  return rest;
}

function targetOf(props: DirectorResourceProps): SshTargetConfig {
  const c = props.connection;
  const t: SshTargetConfig = { name: props.director, host: c.host, port: c.port, user: c.user, hostKey: c.hostKey };
  if (props.credentials?.privateKey) t.privateKey = props.credentials.privateKey;
  if (props.credentials?.privateKeyPassword) t.passphrase = props.credentials.privateKeyPassword;
  if (c.agentSocketPath) t.agent = c.agentSocketPath;
  if (c.connectTimeoutSeconds !== undefined) t.readyTimeoutMs = Math.round(c.connectTimeoutSeconds * 1000);
  return t;
}

/** One message per failure, naming the director, never a stack trace. */
class DirectorError extends Error {
  constructor(director: string, message: string) {
    // the SSH transport's messages name the director already: `director lb1 (host:22): ...`
    super(message.startsWith(`director ${director} `) ? message : `director ${director}: ${message}`);
    this.name = "DirectorError";
    // Pulumi's dynamic provider host prints a failed check/diff/read/delete as
    // `${e}: ${e.stack}`: without frames, that is the message and nothing else
    this.stack = `${this.name}: ${this.message}`;
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads the live state of the director the props name. */
async function readLive(props: DirectorResourceProps): Promise<LiveState> {
  let session: SshSession;
  try {
    session = await SshSession.connect(targetOf(props));
  } catch (e) {
    throw new DirectorError(props.director, reason(e));
  }
  try {
    return await readLiveState(session, props.director, props.keepalivedConfigDir, { table: props.model.table });
  } catch (e) {
    throw new DirectorError(props.director, reason(e));
  } finally {
    session.close();
  }
}

/** The plan of `props` against `live`; `teardown` plans the removal of every service of this owner. */
export function planFor(props: DirectorResourceProps, live: LiveState, teardown = false): DirectorPlan {
  const model: DirectorModel = teardown
    ? { ...props.model, services: [], table: { services: [] }, vrrpInstances: [] }
    : props.model;
  const keepalivedConf = teardown ? props.teardownKeepalivedConf : props.keepalivedConf;
  const plan = planDirector({ model, keepalivedConf }, live, { owner: props.owner });
  if (teardown && props.keepalived !== "unmanaged") {
    // the stack's keepalived blocks go through a checked reload of the config without them
    const configChanged = live.keepalivedConf !== undefined && live.keepalivedConf !== keepalivedConf;
    plan.keepalived = {
      managed: true, configChanged, diff: "",
      action: configChanged && live.keepalivedRunning ? "reload" : "none",
    };
    plan.empty = plan.empty && plan.keepalived.action === "none";
  }
  return plan;
}

/** What diff computed, for the update that follows it in the same process. */
interface PreviewedPlan {
  inputs: string;
  plan: DirectorPlan;
}
const previewed = new Map<string, PreviewedPlan>();

/**
 * A diff with the plan as property paths. Node's provider hosts (dynamic and provider API,
 * @pulumi/pulumi up to 3.276) pass `changes` on and drop `detailedDiff`; the engine then
 * shows the old inputs against the new ones, which is why `read` returns the live view as
 * inputs (see docs/component-library.md). The paths are kept: tests hold the view to them,
 * and a host that passes them on will show them as they are.
 */
export interface DirectorDiff extends pulumi.dynamic.DiffResult {
  detailedDiff: Record<string, { kind: "add" | "delete" | "update"; inputDiff: boolean }>;
}

/** The diff of a plan, as the provider reports it (exported for tests and docs). */
export function diffOfPlan(plan: DirectorPlan, olds: DirectorResourceProps, news: DirectorResourceProps): DirectorDiff {
  const desired = desiredDirectorView(news.model, news.keepalivedConf);
  const changes = planAsViewChanges(plan, desired, new Set(Object.keys(olds.services ?? {})));
  const detailedDiff: DirectorDiff["detailedDiff"] = {};
  for (const path of Object.keys(changes).sort()) detailedDiff[path] = { kind: changes[path]!.kind, inputDiff: false };
  if (digest(olds.secretFiles ?? []) !== digest(news.secretFiles ?? [])) detailedDiff["secretFiles"] = { kind: "update", inputDiff: true };
  return { changes: Object.keys(detailedDiff).length > 0, detailedDiff, replaces: [], deleteBeforeReplace: true };
}

function liveView(props: DirectorResourceProps, live: LiveState): DirectorView {
  return liveDirectorView(live, props.owner, props.model, props.keepalived !== "unmanaged");
}

/** Runs a plan with the staged apply the CLI uses; throws one message on any failure. */
async function applyPlanned(props: DirectorResourceProps, plan: DirectorPlan, secretsChanged: boolean, teardown = false): Promise<void> {
  if (secretsChanged && plan.keepalived.managed && plan.keepalived.action === "none") {
    // a new VRRP password changes only a secret include: keepalived must read it again
    plan = { ...plan, keepalived: { ...plan.keepalived, action: "reload" }, empty: false };
  }
  if (plan.empty) return;
  const staged = stageApply({
    plan,
    keepalivedConf: teardown ? props.teardownKeepalivedConf : props.keepalivedConf,
    // the teardown config includes no password
    secretFiles: teardown ? [] : props.secretFiles ?? [],
    sysctlConf: props.sysctlConf,
    keepalivedConfigDir: props.keepalivedConfigDir,
    drainTimeoutSeconds: props.drainTimeoutSeconds,
  });
  let outcome;
  try {
    outcome = await runStagedApply(targetOf(props), staged);
  } catch (e) {
    throw new DirectorError(props.director, reason(e));
  }
  if (outcome.code === 0) return;
  const said = outcome.log.split("\n").filter((l) => /^(refused|failed):/.test(l.replace(/^ipvsc: /, ""))).pop();
  if (outcome.code === 10 && /stale plan/.test(outcome.log)) {
    throw new DirectorError(props.director, "director changed since preview: run pulumi preview again (nothing was changed)");
  }
  throw new DirectorError(props.director, `${said ?? `apply exited ${outcome.code}`}; the director is in its ${outcome.state.toUpperCase()} state`);
}

function withView(props: DirectorResourceProps, view: DirectorView): DirectorResourceProps {
  return { ...props, services: view.services, keepalived: view.keepalived, keepalivedConf: view.keepalivedConf };
}

/** `lb1/owner`: one resource per director and owner. */
export function resourceId(props: Pick<DirectorResourceProps, "director" | "owner">): string {
  return `${props.director}/${props.owner}`;
}

/** The provider itself: every method of pulumi.dynamic.ResourceProvider. */
export const directorProvider = {
  async check(_olds: DirectorResourceProps, news: DirectorResourceProps): Promise<pulumi.dynamic.CheckResult> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!news.connection?.host) failures.push({ property: "connection", reason: "the director needs an ssh host" });
    if (!news.connection?.hostKey) failures.push({ property: "connection", reason: "the director's host key must be pinned (connection.hostKey)" });
    if (!news.model || !Array.isArray(news.model.services)) failures.push({ property: "model", reason: "no compiled director model" });
    return failures.length > 0 ? { failures } : { inputs: news };
  },

  /** Reads the live director and plans: the preview is the plan against the kernel. */
  async diff(id: string, olds: DirectorResourceProps, news: DirectorResourceProps): Promise<DirectorDiff> {
    const live = await readLive(news);
    const plan = planFor(news, live);
    previewed.set(id, { inputs: digest(plainOf(news)), plan });
    return diffOfPlan(plan, olds, news);
  },

  async create(inputs: DirectorResourceProps): Promise<pulumi.dynamic.CreateResult> {
    const live = await readLive(inputs);
    await applyPlanned(inputs, planFor(inputs, live), false);
    return { id: resourceId(inputs), outs: withView(inputs, desiredDirectorView(inputs.model, inputs.keepalivedConf)) };
  },

  /** Applies the plan diff showed; refused when the director changed since it was read. */
  async update(id: string, olds: DirectorResourceProps, news: DirectorResourceProps): Promise<pulumi.dynamic.UpdateResult> {
    const seen = previewed.get(id);
    previewed.delete(id);
    const plan = seen && seen.inputs === digest(plainOf(news)) ? seen.plan : planFor(news, await readLive(news));
    await applyPlanned(news, plan, digest(olds.secretFiles ?? []) !== digest(news.secretFiles ?? []));
    return { outs: withView(news, desiredDirectorView(news.model, news.keepalivedConf)) };
  },

  /** refresh: this owner's services as the director has them. */
  async read(id: string, props: DirectorResourceProps): Promise<pulumi.dynamic.ReadResult> {
    if (!props?.connection || !props.model) throw new Error(`director resource ${id}: importing is not supported (create it from a spec)`);
    const live = await readLive(props);
    const refreshed = withView(props, liveView(props, live));
    // the live view as the inputs too: the engine shows a preview as old inputs against new
    // ones, so after a refresh it shows the hand edit the next update puts back
    return { id, props: refreshed, inputs: refreshed };
  },

  /** destroy: drain and remove this owner's services, its keepalived blocks through a checked reload. */
  async delete(id: string, props: DirectorResourceProps): Promise<void> {
    let live: LiveState;
    try {
      live = await readLive(props);
    } catch (e) {
      // a director that is gone for good would otherwise block every destroy
      throw new Error(`${reason(e)}; to forget this director without touching it: pulumi state delete the resource ${id}, or set retainOnDelete`);
    }
    const plan = planFor(props, live, true);
    await applyPlanned(props, plan, false, true);
    // keepalived deletes its own virtual servers after the reload, in its own time: destroy
    // is over when they are gone from the kernel
    const keepalivedOwned = new Set(plan.operations.filter((op) => op.action === "remove-service" && op.owner === "keepalived").map((op) => op.serviceKey));
    if (keepalivedOwned.size > 0) await untilGone(props, keepalivedOwned);
  },
};

/** Waits (bounded) until none of `keys` is in the director's table. */
async function untilGone(props: DirectorResourceProps, keys: ReadonlySet<string>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await readLive(props)).table.services.map((s) => serviceKeyString(s.key)).filter((k) => keys.has(k));
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new DirectorError(props.director, `keepalived was reloaded without ${left.join(", ")} but still has them after ${Math.round(timeoutMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
