/**
 * Runs functions of the apply script on the host, under sh with the host's tools and under
 * busybox sh with busybox applets where busybox is installed, against an ipvsadm stand-in that
 * answers from files of the case's directory D:
 * - `-S -n` prints $D/live.save;
 * - `-L -n --tun-info SEL` prints $D/live.listing.N (N: SEL's line in $D/live.selectors), or
 *   "No such service" (exit 1); with $D/no-tun-info it fails as an ipvsadm without --tun-info;
 * - every call is logged to $D/calls.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";

/** A shell to run the harness with, and the PATH it runs under (the stand-in first). */
export interface HarnessShell { name: string; sh: string; path: string }

export interface ScriptHarness {
  /** a scratch directory, removed after the test file */
  work: string;
  /** the script's functions followed by `tail` (run as `sh harness D`) */
  harness: string;
  shells: HarnessShell[];
}

const FAKE_IPVSADM = `#!/bin/sh
echo "$*" >> "$D/calls"
case "$*" in
  "-S -n") cat "$D/live.save"; exit 0 ;;
  "-L -n --tun-info "*)
    [ -f "$D/no-tun-info" ] && { echo "ipvsadm: --tun-info: unknown option" >&2; exit 2; }
    sel=\${*#-L -n --tun-info }
    n=$(grep -n -x -F -e "$sel" "$D/live.selectors" | cut -d: -f1)
    [ -n "$n" ] && [ -f "$D/live.listing.$n" ] && { cat "$D/live.listing.$n"; exit 0; }
    echo "No such service" >&2; exit 1 ;;
esac
exit 2
`;

/** The apply script's functions (everything before its mode dispatch), then `tail`. */
export function applyScriptHarness(name: string, tail: string, applets: readonly string[]): ScriptHarness {
  const work = mkdtempSync(join(tmpdir(), `ipvsc-${name}-`));
  after(() => rmSync(work, { recursive: true, force: true }));
  const harness = join(work, "harness.sh");
  writeFileSync(harness, `${APPLY_SCRIPT.slice(0, APPLY_SCRIPT.indexOf("\nUSAGE="))}\n${tail}`);
  const fakeBin = join(work, "bin");
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, "ipvsadm"), FAKE_IPVSADM, { mode: 0o755 });
  const shells: HarnessShell[] = [{ name: "sh + host tools", sh: "sh", path: `${fakeBin}:/usr/bin:/bin` }];
  const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
  if (busybox) {
    const bin = join(work, "busybox-bin");
    mkdirSync(bin);
    for (const applet of applets) symlinkSync(busybox, join(bin, applet));
    shells.push({ name: "busybox sh + applets", sh: join(bin, "sh"), path: `${fakeBin}:${bin}` });
  }
  return { work, harness, shells };
}

/** The stand-in's calls in case directory `dir`, one per line ("-S -n", "-L -n --tun-info -t …"). */
export function ipvsadmCalls(dir: string): string[] {
  return existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : [];
}

/** A live service as the stand-in serves it: its selector, its listing and its save lines. */
export interface StandInService { selector: string; listing: string; save: string }

/** Writes the stand-in's files of `live` into case directory `dir` (`save`: a save that differs from the listings). */
export function writeLiveTable(dir: string, live: readonly StandInService[], save?: string): void {
  writeFileSync(join(dir, "live.save"), save ?? live.map((s) => s.save).join(""));
  writeFileSync(join(dir, "live.selectors"), live.map((s) => `${s.selector}\n`).join(""));
  live.forEach((s, i) => writeFileSync(join(dir, `live.listing.${i + 1}`), s.listing));
}
