/** The plan: what a rollout will do on each director, in order, and how risky each step is. */

/** in-place: live traffic unaffected; draining: a real server or service is drained first; disruptive: identity change. */
export type OperationClass = "in-place" | "draining" | "disruptive";

export type OperationAction =
  | "add-service"
  | "edit-service"
  | "remove-service"
  | "add-real-server"
  | "edit-real-server"
  | "drain-real-server"
  | "remove-real-server";

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

/** One step of a plan. */
export interface PlanOperation {
  action: OperationAction;
  class: OperationClass;
  /** who carries the change out: ipvsadm deltas, or keepalived's reload */
  owner: "applier" | "keepalived";
  /** service name from the spec (or the key for foreign/unknown services) */
  service: string;
  /** e.g. tcp/203.0.113.10:80 */
  serviceKey: string;
  realServer?: string;
  changes: FieldChange[];
  note?: string;
}

/**
 * A service found on the director that this spec does not declare and this owner does not
 * remove: either nobody's record names it (foreign: drift, removed only with prune) or
 * another owner's does (`ownedBy`: that owner's, never an operation here, not drift).
 */
export interface ForeignService {
  serviceKey: string;
  realServers: number;
  /** another owner's record names it (several: "b, c"): theirs, left alone even with prune */
  ownedBy?: string;
  /** removed because pruning was asked for (never when `ownedBy` is set) */
  pruned: boolean;
}

/** A service this spec declares that another owner's record names too: both specs change it. */
export interface ContestedService {
  /** the name in this spec */
  service: string;
  serviceKey: string;
  /** the other owner(s) whose record names it ("b, c") */
  ownedBy: string;
}

/** The ipvsadm command lists the apply script runs. */
export interface PlanBatches {
  /** phase 1: -A, -E, -a, -e (weight 0 for drains) */
  apply: string[];
  /** real servers to wait for: [service selector, real-server address:port] */
  drain: { selector: string; realServer: string }[];
  /** phase 2, after draining: -d, then -D */
  finalize: string[];
  /** undo of phase 1 and 2 in reverse order, run on failure */
  rollback: string[];
  /** selectors of applier-owned services the plan deletes (verified absent afterwards) */
  removedSelectors: string[];
}

/** What one director will see. */
export interface DirectorPlan {
  director: string;
  /** the live state this plan was computed from; apply refuses on any other */
  fingerprint: string;
  /**
   * The live state's contextFingerprint: with `beforeRules`, what the apply script checks under
   * its lock when the plan touches few services, instead of reading the whole table. Absent in
   * plans saved before it was kept (the whole fingerprint decides).
   */
  contextFingerprint?: string;
  /**
   * The touched services as the plan saw them live, in `ipvsadm -S -n` form (rendered from the
   * read): the apply lists each and refuses, or reads the whole table, when one differs.
   */
  beforeRules?: string;
  /** the services `beforeRules` describes, by selector (those not on the director have no lines) */
  beforeSelectors?: string[];
  owner: string;
  operations: PlanOperation[];
  /**
   * Services the spec declares that are on the director already but not yet in this owner's
   * record (a director imported with `ipvsc import --director`): apply records them as owned,
   * without a kernel change for them beyond what `operations` lists. Absent in plans saved
   * before adoption was reported.
   */
  adopting?: string[];
  foreign: ForeignService[];
  /**
   * Services this spec declares that another owner's record names too: this apply manages
   * them (and records them as ours) while the other owner does as well. Absent when there are
   * none, and in plans saved before it was reported.
   */
  contested?: ContestedService[];
  keepalived: {
    /** keepalived runs on this director for this spec (health-checked pools or VRRP) */
    managed: boolean;
    configChanged: boolean;
    /** unified diff of keepalived.conf, for review (no secrets: the passwords live in includes) */
    diff: string;
    action: "none" | "reload" | "start";
  };
  batches: PlanBatches;
  /** the table of applier-owned services expected after apply, in `ipvsadm -S -n` form */
  expectedRules: string;
  /** the ownership record the director keeps after apply */
  ownershipRecord: string;
  /** sha256 of the keepalived.conf this plan installs: a saved plan is refused for another spec */
  keepalivedConfSha256: string;
  /** nothing to do */
  empty: boolean;
}

/** A plan over every director, in rollout order. */
export interface Plan {
  version: 1;
  /** rollout order: backups first, the current master last */
  order: string[];
  directors: DirectorPlan[];
}
