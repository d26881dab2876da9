/**
 * pulumi-ipvs/remote: the public entry of the director transport, for programs that talk
 * to directors themselves (the Pulumi provider in components/, scripts). It adds SSH and
 * the apply runner to the pure core of src/index.ts; the CLI uses the same functions.
 */
export { SshSession, type SshTargetConfig, type ExecResult } from "./ssh/ssh-session.js";
export { readLiveState, runStagedApply, outcomeOf, type ApplyOutcome } from "./ssh/director-client.js";
