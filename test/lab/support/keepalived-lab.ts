/**
 * keepalived and real-server control inside a lab director, for the keepalived lab tests.
 *
 * keepalived runs in the foreground of a setsid'd shell (`-n -l -D`), so its log goes to a
 * file the tests can show on failure (the guest has no syslog). The real servers' busybox
 * httpd are the ones /lab/net-setup.sh starts (`httpd -p PORT -h /run/lab/rs/NS-PORT` in
 * netns NS); stopping and starting them relies on that command line.
 *
 * Works with test/lab/lab.ts only through its public helpers (owned by another helper).
 */
import type { DirectorArtifacts } from "../../../src/compile.js";
import type { IpvsTable } from "../../../src/model/model.js";
import { parseIpvsadmSave } from "../../../src/state/parse-ipvsadm-save.js";
import { after, before } from "node:test";
import { bootDirectors, labStatus, setupLabNetwork, shq, type LabDirector } from "../lab.js";

export const KEEPALIVED_DIR = "/etc/keepalived";
export const KEEPALIVED_CONF = `${KEEPALIVED_DIR}/keepalived.conf`;
const RUN = "/run/keepalived";
const PIDFILE = `${RUN}/lab-keepalived.pid`;
export const KEEPALIVED_LOG = `${RUN}/lab-keepalived.log`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Writes the director's keepalived.conf and secret includes, checks the config with
 * `keepalived -t -e` (rc 0 and an empty stderr), clears the IPVS table and starts keepalived.
 */
export async function startKeepalived(d: LabDirector, artifacts: DirectorArtifacts): Promise<void> {
  await d.run(`mkdir -p ${KEEPALIVED_DIR} ${RUN} && cat > ${KEEPALIVED_CONF}`, { stdin: artifacts.keepalivedConf });
  for (const f of artifacts.secretFiles) {
    const path = f.path.startsWith("/") ? f.path : `${KEEPALIVED_DIR}/${f.path}`;
    await d.run(`umask 077 && mkdir -p "$(dirname ${shq(path)})" && cat > ${shq(path)}`, { stdin: f.content });
  }
  const check = await d.exec(`keepalived -t -e -f ${KEEPALIVED_CONF}`);
  if (check.code !== 0 || check.stderr !== "") {
    throw new Error(`${d.name}: keepalived -t -e refused the config (rc ${check.code}):\n${check.stderr}\n--- config\n${artifacts.keepalivedConf}`);
  }
  await d.run(
    [
      "ipvsadm -C",
      `rm -f ${PIDFILE}`,
      `(setsid keepalived -n -l -D -f ${KEEPALIVED_CONF} -p ${PIDFILE} -c ${RUN}/lab-checkers.pid -r ${RUN}/lab-vrrp.pid` +
        ` </dev/null >${KEEPALIVED_LOG} 2>&1 &)`,
      `n=0; while [ ! -s ${PIDFILE} ] && [ $n -lt 200 ]; do usleep 50000; n=$((n + 1)); done`,
      `[ -s ${PIDFILE} ] || { echo "keepalived did not start" >&2; cat ${KEEPALIVED_LOG} >&2; exit 1; }`,
    ].join("\n"),
  );
}

/** Stops the keepalived started by {@link startKeepalived} (TERM, then KILL after 10 s) and clears the table. */
export async function stopKeepalived(d: LabDirector): Promise<void> {
  await d.run(
    [
      `if [ -s ${PIDFILE} ]; then`,
      `  p=$(cat ${PIDFILE}); kill "$p" 2>/dev/null`,
      `  n=0; while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do usleep 100000; n=$((n + 1)); done`,
      `  kill -9 "$p" 2>/dev/null`,
      `  rm -f ${PIDFILE}`,
      "fi",
      // children left behind by a KILL
      "for p in $(pidof keepalived); do kill -9 $p; done",
      "ipvsadm -C",
      "true",
    ].join("\n"),
  );
}

/** keepalived's log (for failure messages). */
export async function keepalivedLog(d: LabDirector): Promise<string> {
  const r = await d.exec(`tail -n 40 ${KEEPALIVED_LOG}`);
  return r.stdout;
}

/** Kills the busybox httpd serving `port` in real-server namespace `ns`; throws if none was running. */
export async function stopHttpd(d: LabDirector, ns: string, port: number): Promise<void> {
  await d.run(
    [
      "killed=",
      `for p in $(ip netns pids ${shq(ns)}); do`,
      `  case "$(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)" in`,
      `    "httpd -p ${port} "*) kill "$p" && killed="$killed $p" ;;`,
      "  esac",
      "done",
      `[ -n "$killed" ] || { echo "no httpd on port ${port} in ${ns}" >&2; exit 1; }`,
      "n=0; for p in $killed; do while kill -0 $p 2>/dev/null && [ $n -lt 50 ]; do usleep 100000; n=$((n + 1)); done; done",
    ].join("\n"),
  );
}

/** Starts the busybox httpd for `port` in `ns` again, as net-setup.sh does. */
export async function startHttpd(d: LabDirector, ns: string, port: number): Promise<void> {
  await d.run(`nsenter --net=/run/netns/${shq(ns)} httpd -p ${port} -h /run/lab/rs/${shq(`${ns}-${port}`)}`);
}

/**
 * Polls `ipvsadm -S -n` until `done(table)` holds; resolves to the table and the time it
 * took, or throws after `timeoutMs` with the last table and keepalived's log.
 */
export async function waitForTable(
  d: LabDirector,
  what: string,
  done: (table: IpvsTable) => boolean,
  timeoutMs: number,
): Promise<{ table: IpvsTable; elapsedMs: number }> {
  const started = Date.now();
  let last = "";
  for (;;) {
    last = await d.run("ipvsadm -S -n");
    const { table, issues } = parseIpvsadmSave(last);
    if (issues.length > 0) throw new Error(`${d.name}: cannot parse ipvsadm -S -n: ${JSON.stringify(issues)}\n${last}`);
    if (done(table)) return { table, elapsedMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${d.name}: not within ${timeoutMs} ms: ${what}\n--- ipvsadm -S -n\n${last}\n--- keepalived log\n${await keepalivedLog(d)}`,
      );
    }
    await sleep(250);
  }
}

/**
 * One lab director with its network set up, booted before the suite that calls this and
 * closed after it (keepalived stopped first). The getter is undefined when the lab is not
 * available: each test checks requireLabOrSkip first.
 */
export function keepalivedLabDirector(): () => LabDirector | undefined {
  let d: LabDirector | undefined;
  before(async () => {
    if (!labStatus().available) return;
    [d] = await bootDirectors(1);
    await setupLabNetwork(d!);
  });
  after(async () => {
    if (d !== undefined) {
      await stopKeepalived(d).catch(() => undefined);
      await d.close();
    }
  });
  return () => d;
}
