/** The documented GitHub Actions workflow: valid YAML, embedded verbatim in docs/ci.md, doing what the page says. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { parse } from "yaml";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const workflowText = readFileSync(`${ROOT}docs/github-actions-ipvs.yml`, "utf8");
const page = readFileSync(`${ROOT}docs/ci.md`, "utf8");

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { if?: string; "runs-on": unknown; steps: Step[]; permissions?: Record<string, string> }
interface Workflow {
  on: { pull_request?: unknown; push?: { branches?: string[] } };
  env: Record<string, string>;
  concurrency: { "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const workflow = parse(workflowText) as Workflow;
const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");

describe("docs/github-actions-ipvs.yml", () => {
  test("is embedded verbatim in docs/ci.md", () => {
    assert.ok(page.includes(`\`\`\`yaml\n${workflowText}\`\`\`\n`));
    // once, and nothing of it repeated after its block
    assert.equal(page.split(workflowText).length, 2);
    assert.equal(page.split("gh pr comment").length, 2, "a stray copy of the workflow's lines on the page");
  });

  test("previews with --diff on pull requests and runs up on main only", () => {
    assert.ok(workflow.on.pull_request !== undefined);
    assert.deepEqual(workflow.on.push?.branches, ["main"]);
    const preview = workflow.jobs.preview!, up = workflow.jobs.up!;
    assert.match(preview.if!, /github\.event_name == 'pull_request'/);
    assert.match(runs(preview), /pulumi preview --stack "\$STACK" --diff/);
    assert.doesNotMatch(runs(preview), /pulumi up/);
    assert.match(up.if!, /github\.ref == 'refs\/heads\/main'/);
    assert.match(runs(up), /pulumi up --stack "\$STACK" --yes --diff/);
    assert.match(runs(up), /--expect-no-changes/);
    assert.equal(workflow.concurrency["cancel-in-progress"], false, "a rollout is never cancelled half-way");
  });

  test("uses a self-managed backend and takes the passphrase and keys from secrets, never inline", () => {
    assert.match(workflow.env.PULUMI_BACKEND_URL!, /^(s3|file):\/\//);
    assert.equal(workflow.env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    for (const [key, value] of Object.entries(workflow.env)) {
      if (/SECRET|PASSPHRASE|KEY_ID/.test(key)) assert.match(value, /^\$\{\{ secrets\.[A-Z_]+ \}\}$/, key);
    }
    assert.doesNotMatch(workflowText, /PULUMI_ACCESS_TOKEN/);
  });
});
