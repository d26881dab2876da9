/**
 * Acceptance: the 25 sample configurations keepalived's authors ship, as Debian's keepalived
 * package installs them (/usr/share/doc/keepalived/samples/keepalived.conf.NAME, gzipped or
 * not; `npm run lab:setup` installs the package, or unpacks the samples into the lab cache
 * where dpkg leaves /usr/share/doc out). KEEPALIVED_CORPUS names another folder. Missing:
 * skipped loudly, or a failure under CI=true or IPVS_LAB=required. For each one:
 * - import it (includes relative to the sample) and get exactly the findings listed below
 *   (`keyword@line`: what is not imported, or imported with a change; docs/import.md says why);
 * - the spec passes parseSpec and validate without errors, and compiles;
 * - the rendered keepalived.conf is structurally the original (compare-keepalived-conf.ts:
 *   aliases, defaults, address forms and order normalised, reported nodes left out), up to
 *   the differences listed below, each a known limit of the spec;
 * - the YAML spec file the CLI writes loads back into the same model;
 * - the real `keepalived -t -e` accepts OUR rendered config: rc 0, empty stderr (skipped
 *   loudly without root/keepalived/ip netns; a failure under CI=true or IPVS_LAB=required).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { compile, compileText } from "../../src/compile.js";
import { compareKeepalivedConfs } from "../../src/import/compare-keepalived-conf.js";
import { formatSpecYaml } from "../../src/import/format-spec.js";
import { findingKey } from "../../src/import/import-findings.js";
import { importKeepalivedConf } from "../../src/import/import-keepalived-conf.js";
import { parseKeepalivedConf } from "../../src/import/parse-keepalived-conf.js";
import { formatIssues, hasErrors } from "../../src/issues.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import { validate } from "../../src/validate/validate.js";
import { labCacheDir } from "../lab/lab.js";
import { checkDirector, keepalivedSkip } from "../support/keepalived-check.js";

/** Where Debian's keepalived package puts the samples. */
const DEBIAN_SAMPLES = "/usr/share/doc/keepalived/samples";
const PREFIX = "keepalived.conf.";

/** The samples in `dir` by name (`keepalived.conf.NAME` or `keepalived.conf.NAME.gz`), sorted. */
function samplesIn(dir: string): { name: string; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(PREFIX))
    .map((file) => ({ name: file.slice(PREFIX.length).replace(/\.gz$/, ""), file }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const CANDIDATES = process.env["KEEPALIVED_CORPUS"] !== undefined
  ? [process.env["KEEPALIVED_CORPUS"]]
  : [DEBIAN_SAMPLES, join(labCacheDir(), "keepalived-samples")];
const CORPUS = CANDIDATES.find((d) => samplesIn(d).length > 0) ?? CANDIDATES[0]!;

const EMAIL = (first: number) => [
  `notification_email@${first}`, `notification_email_from@${first + 3}`, `smtp_server@${first + 4}`, `smtp_connect_timeout@${first + 5}`,
];

/**
 * What each sample loses or changes on import (`keyword@line`), and how the rendered config
 * differs (no sample differs any more). Each finding is something keepalived allows and the
 * spec deliberately does not say, or something keepalived itself ignores or rejects:
 * - e-mail (`notification_email*`, `smtp_*`, `smtp_alert`): alerts are not modelled;
 * - `@name` conditional lines, `use_vmac`, `static_*`, `virtual_routes`/`virtual_rules`, a VIP on
 *   another device: host network configuration, or generated configuration (import the
 *   expanded config of one director);
 * - a vrrp_script whose command is not an absolute program (`killall`, `</dev/tcp/...`) and the
 *   track_script entries naming it: commands are checked argv, keepalived searches PATH;
 * - `state MASTER` with AH, `protocol` of a fwmark service, the old sync group syntax, a VIP
 *   listed twice: keepalived clears, ignores or rejects them itself;
 * - a real server that is one of its service's own addresses (the director would forward to
 *   itself), an unused virtual_server_group: the spec refuses or drops them.
 */
const EXPECTED: Record<string, { unsupported: string[]; differences?: string[] }> = {
  "HTTP_GET.port": { unsupported: EMAIL(4) },
  "IPv6": { unsupported: ["virtual_server_group@7"] },
  "PING_CHECK": { unsupported: EMAIL(5) },
  // each server keeps its own SMTP checker (per-server healthChecks)
  "SMTP_CHECK": { unsupported: EMAIL(16) },
  "SSL_GET": { unsupported: [...EMAIL(4), "state@14"] },
  "UDP_CHECK": { unsupported: EMAIL(5) },
  "conditional_conf": {
    unsupported: ["@high@3", "@low@4", "vrrp_script@6", "@high@7", "@low@8", "@high@19", "@low@20", "use_vmac@23", "check_VI_0@25"],
  },
  "fwmark": { unsupported: ["protocol@12"] },
  "inhibit": { unsupported: EMAIL(4) },
  "misc_check": { unsupported: EMAIL(5) },
  "misc_check_arg": { unsupported: EMAIL(4) },
  "quorum": { unsupported: [] },
  "sample": { unsupported: EMAIL(4) },
  "status_code": { unsupported: EMAIL(5) },
  "track_interface": { unsupported: ["static_routes@7", "192.168.200.17@25", "192.168.200.18@26", "virtual_routes@28"] },
  // one group service (range and fwmarks kept); 192.168.200.1:1358 is a member of the group itself
  "virtual_server_group": { unsupported: [...EMAIL(4), "real_server@29"] },
  "virtualhost": { unsupported: EMAIL(4) },
  // each instance keeps its own failover: no sync group is added
  "vrrp": { unsupported: [...EMAIL(4), "smtp_alert@17", "192.168.200.18@32", "smtp_alert@38", "smtp_alert@52", "smtp_alert@69"] },
  "vrrp.localcheck": {
    unsupported: [
      "vrrp_script@11", "vrrp_script@19", "vrrp_script@24", "vrrp_script@30", "vrrp_script@36",
      "chk_sshd@56", "chk_haproxy@57", "chk_http_port@58", "chk_https_port@59", "chk_smtp_port@60",
      "chk_haproxy@78", "chk_http_port@79", "chk_https_port@80", "chk_smtp_port@81",
    ],
  },
  "vrrp.lvs_syncd": { unsupported: ["vrrp_sync_group@3", "VI_2@4", "VI_3@5"] },
  "vrrp.routes": { unsupported: ["static_routes@7", "192.168.200.17@22", "192.168.200.18@23", "virtual_routes@25"] },
  "vrrp.rules": { unsupported: ["static_rules@9", "192.168.200.17@21", "192.168.200.18@22", "virtual_rules@24"] },
  "vrrp.scripts": { unsupported: ["smtp_alert@19"] },
  "vrrp.static_ipaddress": { unsupported: ["static_ipaddress@7", "virtual_routes@21"] },
  "vrrp.sync": { unsupported: [] },
};

const SAMPLES = samplesIn(CORPUS);
const available = SAMPLES.length > 0;
const missing = `no keepalived samples in ${CANDIDATES.join(" or ")} (npm run lab:setup installs them; KEEPALIVED_CORPUS names another folder)`;
if (!available) console.warn(`\n*** SKIPPING the keepalived corpus: ${missing} ***\n`);
if (!available && (process.env["CI"] === "true" || process.env["IPVS_LAB"] === "required")) {
  throw new Error(`the keepalived corpus is required here: ${missing}`);
}
const skipBinary = await keepalivedSkip();

const readInclude = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

describe(`keepalived's sample configurations (${CORPUS})`, { skip: available ? false : missing }, () => {
  test("the corpus has the 25 samples the table lists", () => {
    assert.deepEqual(SAMPLES.map((s) => s.name), Object.keys(EXPECTED).sort());
    assert.equal(SAMPLES.length, 25);
  });

  for (const { name, file } of SAMPLES) {
    const expected = EXPECTED[name] ?? { unsupported: ["(sample missing from the table)"] };
    // findings name the sample as keepalived.conf.NAME, wherever it was found and however stored
    const path = join(CORPUS, `${PREFIX}${name}`);
    const bytes = readFileSync(join(CORPUS, file));
    const text = (file.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
    const result = importKeepalivedConf(text, path, { readInclude });
    const compiled = compile(result.spec);

    describe(name, () => {
      test("imports with exactly the expected findings, into a valid spec", () => {
        assert.deepEqual(result.findings.map((f) => findingKey(f)), expected.unsupported);
        for (const f of result.findings) {
          assert.equal(f.code, "unsupported-construct");
          assert.equal(f.severity, "warning");
          assert.equal(f.location?.file, path);
        }
        assert.ok(!hasErrors(result.specIssues), formatIssues(result.specIssues));
        const parsed = parseSpec(result.spec);
        assert.ok(parsed.ok, formatIssues(parsed.issues));
        assert.ok(!hasErrors(validate(parsed.spec)), formatIssues(validate(parsed.spec)));
        assert.ok(compiled.ok, formatIssues(compiled.issues));
      });
      if (!compiled.ok) return;
      const { model } = compiled.output;

      test("renders a keepalived.conf structurally equal to the original", () => {
        assert.equal(compiled.output.directors.length, 1);
        const d = compiled.output.directors[0]!;
        const secrets = new Map(d.secretFiles.map((s) => [s.path, s.content]));
        const rendered = parseKeepalivedConf(d.keepalivedConf, join(dirname(path), "rendered.conf"), { readInclude: (p) => secrets.get(p) });
        assert.deepEqual(rendered.issues, []);
        assert.deepEqual(compareKeepalivedConfs(result.tree, rendered.nodes, { ignore: result.dropped }), expected.differences ?? []);
      });

      test("the spec file written for it loads back into the same model", () => {
        const yaml = formatSpecYaml(result.spec, { schema: "../schema/ipvs-spec.schema.json", header: ["imported"], notes: result.notes });
        const again = compileText(yaml, `${name}.yaml`);
        assert.ok(again.ok, formatIssues(again.issues));
        assert.deepEqual(again.output.model, model);
      });

      test("keepalived -t -e accepts our rendered config", { skip: skipBinary }, async () => {
        for (const director of model.directors) {
          const r = await checkDirector(model, director);
          const context = `keepalived -t -e for ${name}: rc ${r.code}\n--- stderr\n${r.stderr}\n--- config\n${r.conf}`;
          assert.equal(r.code, 0, context);
          assert.equal(r.stderr, "", context);
        }
      });
    });
  }
});
