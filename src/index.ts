/**
 * pulumi-ipvs: the public entry of the pure core. Components and the CLI import from here.
 */
export {
  compile, compileParsed, compileText, renderModel, buildFiles,
  type CompileOutput, type CompileResult, type DirectorArtifacts, type BuildFile,
} from "./compile.js";
export {
  ISSUE_CODES, IssuesError, error, warning, formatIssues, formatPath, hasErrors, sortIssues,
  type Issue, type IssueCode, type IssuePath, type Severity, type SourceLocation,
} from "./issues.js";
export * from "./schema/spec-schema.js";
export { parseSpec, type ParseResult } from "./schema/parse-spec.js";
export { loadSpecText, locateIssues, type LoadResult } from "./schema/load-spec-file.js";
export { specJsonSchema, specJsonSchemaText, JSON_SCHEMA_FILE } from "./schema/json-schema.js";
export type * from "./model/model.js";
export { normalize, canonicalFlags, flagNamesFor, derivedPriority } from "./model/normalize.js";
export { serviceKeyString, serviceSelector, realServerKeyString, compareServiceKeys } from "./model/service-key.js";
export { canonicalAddress, compareAddresses, formatAddressPort } from "./model/addresses.js";
export { stableJson } from "./model/stable-json.js";
export { validate } from "./validate/validate.js";
export { renderIpvsadmRules } from "./render/render-ipvsadm-rules.js";
export { renderKeepalivedConf } from "./render/render-keepalived-conf.js";
export { renderSysctlConf } from "./render/render-sysctl-conf.js";
export { renderVrrpAuthFiles } from "./render/render-vrrp-auth.js";
export { parseIpvsadmSave } from "./state/parse-ipvsadm-save.js";
export { APPLY_SCRIPT, READ_STATE_SCRIPT, STATE_DIR } from "./apply-script/scripts.sh.js";
export { APPLY_SCRIPT_PATH, type StagedFile } from "./apply-script/stage-files.js";
export { computePlan, holdsVips, rolloutGroups, rolloutOrder, type DirectorTexts } from "./plan/plan.js";
export { planDirector, keepalivedIsManaged, type PlanOptions, type DesiredDirector } from "./plan/compute-plan.js";
export type * from "./plan/plan-types.js";
export { describeService, describeRealServer } from "./plan/describe-changes.js";
export {
  desiredDirectorView, liveDirectorView, planAsViewChanges, isHealthOperation, serviceLabel, servicePath,
  type DirectorView, type ServiceView, type RealServerView, type KeepalivedStatus, type ViewChange,
} from "./plan/director-view.js";
export { stageApply, type StageInputs, type StagedApply } from "./apply-script/stage-files.js";
export { formatPlanText } from "./plan/format-plan.js";
export type { LiveState, OwnershipRecord } from "./state/live-state.js";
