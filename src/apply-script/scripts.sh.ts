/**
 * The text of the scripts that run on a director. POSIX sh plus ipvsadm, flock, setsid,
 * sha256sum, awk, sort, cmp, sysctl and mktemp (Debian's or busybox's), and keepalived where
 * a spec manages it. The CLI and the Pulumi components run exactly this text; the lab tests
 * run it against a real kernel. Each mode that reads or changes state first checks that the
 * tools it needs are there (before the lock, before any change) and otherwise stops with
 * "director lacks X, Y": READ_STATE_TOOLS, APPLY_TOOLS.
 */

/** Where the applier keeps its files on a director. */
export const STATE_DIR = "/var/lib/ipvsc";

/** The tools the read-state script needs (`ip` is optional: without it no addresses are read). */
export const READ_STATE_TOOLS = ["ipvsadm", "awk", "sort", "sha256sum", "cut", "tr", "mktemp"] as const;

/**
 * The tools an apply needs on every director, checked before the lock; keepalived is added
 * where the spec manages keepalived on that director (MANAGED=yes in its params, or a
 * keepalived start or reload planned).
 */
export const APPLY_TOOLS = ["ipvsadm", "flock", "setsid", "sha256sum", "awk", "sort", "cmp", "sysctl"] as const;

/** Shell functions shared by the read-state and apply scripts, so both compute one fingerprint. */
const COMMON = String.raw`
STATE=${STATE_DIR}
KCONF_DIR=/etc/keepalived
KPID=/run/keepalived.pid

# the service selector of a rule line ("-A -t X -s ...", "-a -t X -r ...", "-D -t X" -> "-t X"):
# fields 2 and 3, and the -6 of an IPv6 fwmark in field 4 (-t A:P, -u A:P, --sctp-service
# A:P, -f N, -f N -6); a third of the time of a loop over the fields, on a 10,000-line table
SELECTOR_AWK='function sel() { return ($2 == "-f" && $4 == "-6") ? $2 " " $3 " -6" : $2 " " $3 }'

# the fingerprint covers what a plan is computed from: the table, keepalived.conf and the
# ownership records (connection counters and thresholds are left out: they move on their own)
fingerprint() {
  # $1: the table (a file, or - for stdin) when the caller has it already (each pass over a
  # big table costs seconds on a slow director). The table as ipvsadm -S -n prints it, not
  # sorted again: ipvsadm lists a table in one order (it sorts services and servers), so the
  # same table gives the same bytes, and a sort was one more pass (issue #17, point 4)
  {
    if [ $# -ge 1 ]; then cat "$1"; else ipvsadm -S -n; fi
    context_text
  } | sha256sum | cut -d' ' -f1
}

# what a plan depends on besides the table: keepalived.conf and the ownership records
context_text() {
  echo "==keepalived"
  cat "$KCONF_DIR/keepalived.conf" 2>/dev/null
  echo "==owners"
  for f in "$STATE"/owners/*.owned; do [ -f "$f" ] && { echo "$f"; cat "$f"; }; done
}

# the fingerprint without the table: with the plan's touched services listed one by one, the
# apply's check of its starting point that costs the change, not the table (apply: as_planned)
context_fingerprint() {
  context_text | sha256sum | cut -d' ' -f1
}

# IPVSC_TRACE=1 (src/ssh/trace.ts): each step stamped with /proc/uptime on fd 8 (stderr, or
# the run's trace file for a worker), for profiling; one test and nothing else when off
set +u; TRACING=$IPVSC_TRACE; set -u
trace() { [ -z "$TRACING" ] || { read -r _tu _ < /proc/uptime; echo "ipvsc-trace $_tu $*" >&8; }; }

keepalived_pid() {
  [ -f "$KPID" ] || return 1
  p=$(cat "$KPID" 2>/dev/null) || return 1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

# the tools of "$@" that the director lacks, comma-separated ("" when it has them all):
# command -v is built into every POSIX sh, so this runs before anything else can fail
lacking_tools() {
  _lack=""; _sep=""
  for _tool in "$@"; do command -v "$_tool" > /dev/null 2>&1 || { _lack="$_lack$_sep$_tool"; _sep=", "; }; done
  echo "$_lack"
}
`;

/** The line after which a digest file (the read-state script's second argument) lists its digests. */
export const DIGESTS_MARKER = "#==ipvsc:digests==";

/**
 * The digest read (issue #17, point 3), shared by the read-state script: digest_read DIGESTS
 * LISTING SAVE WORKDIR. Each live service's digest is the sha256 of its `ipvsadm -S -n` lines
 * in dump order, each real server's line with ` -x U -y L` after its weight where the
 * thresholds listing gives it non-zero thresholds: byte for byte the service's block as
 * renderIpvsadmRules prints it when the service is as desired (src/state/digest-read.ts
 * computes the same on the host). Prints section same (the line numbers of DIGESTS whose
 * service is live with that digest), and save + thresholds with only the other services.
 *
 * Two ways to the live digests. The director keeps them (KEPT, under the state directory:
 * "DIGEST SELECTOR" per service in dump order) under a key, the sha256 of the save listing
 * and the thresholds of the thresholds listing (not its connection counts, which move on
 * their own). When the key of this read is the kept one, the table is the one they were
 * computed from: one cheap pass over each listing prints only the services that differ.
 * Otherwise one awk pass joins the two listings (the same kernel walk lists the same
 * services and servers in the same order), writes each service's lines to a file of
 * WORKDIR, one sha256sum hashes them all, and the digests are kept for the next read (best
 * effort: a director whose state directory is not writable joins and hashes every time).
 * On a slow director the join and the hashing are most of a read's cost, so a plan of an
 * unchanged table (the drift check, the plan before an apply) costs the two listings and
 * little more. When the two listings are out of step (the table changed between them) or
 * anything is unexpected, save and thresholds in full and no section same.
 */
const DIGEST_READ = String.raw`
# awk's first file, the host's digest file: after its line M, "DIGEST SELECTOR" per desired
# service; want[SELECTOR] is its digest, at[SELECTOR] its number (as section same gives it)
WANTED_DIGESTS_AWK='
  FILENAME == ARGV[1] { if (started) { nd++; k = index($0, " "); want[substr($0, k + 1)] = substr($0, 1, k - 1); at[substr($0, k + 1)] = nd } else if ($0 == M) started = 1; next }'

digest_read() {
  KEPT=$STATE/kept-digests
  # the key: the save listing, and of the thresholds listing the first five words of each
  # line (a real server's address and thresholds, without the connection counts)
  KEY="v2 $({ cat "$3"; tr -s ' ' < "$2" | cut -d' ' -f1-5; } | sha256sum | cut -d' ' -f1)"
  _first=
  [ -f "$KEPT" ] && read -r _first < "$KEPT" 2>/dev/null
  if [ "$_first" = "$KEY" ]; then
    awk -v M="${DIGESTS_MARKER}" "$WANTED_DIGESTS_AWK"'
      FILENAME == ARGV[2] { if (FNR == 1) next; s++; k = index($0, " "); sel = substr($0, k + 1); if ((sel in want) && want[sel] == substr($0, 1, k - 1)) same[s] = at[sel]; else diff[s] = 1; next }
      FILENAME == ARGV[3] { if (substr($0, 1, 3) == "-A ") { n++; p = (n in diff) } if (p) save = save $0 "\n"; next }
      {
        if (substr($0, 1, 1) == " " || index($0, "IP Virtual Server") == 1 || index($0, "Prot ") == 1) { if (m == 0) { head = head $0 "\n"; next } }
        else { m++; q = (m in diff) }
        if (q) lst = lst $0 "\n"
      }
      END {
        if (n != s || m != s) exit 3
        print "==ipvsc:same=="
        for (i = 1; i <= s; i++) if (i in same) print same[i]
        print "==ipvsc:save=="
        printf "%s", save
        print "==ipvsc:thresholds=="
        printf "%s%s", head, lst
      }' "$1" "$KEPT" "$3" "$2" > "$4/out" && { cat "$4/out"; return 0; }
  fi
  mkdir "$4/s" || return 1
  # where the new digests are written before they replace the kept ones ("" = not writable)
  NEXT=$KEPT.$$
  { mkdir -p "$STATE" && : > "$NEXT"; } 2>/dev/null || NEXT=
  awk -v W="$4" -v M="${DIGESTS_MARKER}" -v NEXT="$NEXT" -v KEY="$KEY" -v KEPT="$KEPT" "$SELECTOR_AWK$WANTED_DIGESTS_AWK"'
    FILENAME == ARGV[2] {
      if ($1 == "Prot") { for (i = 1; i <= NF; i++) if ($i == "LocalAddress:Port") base = i; cols($0, base); head = head $0 "\n"; next }
      if ($1 == "->" && $2 == "RemoteAddress:Port") { if (NF > 2) cols($0, 2); head = head $0 "\n"; next }
      if ($1 == "IP" && $2 == "Virtual") { head = head $0 "\n"; next }
      if ($1 == "->") { nr[ns]++; ra[ns, nr[ns]] = $2; ru[ns, nr[ns]] = $(2 + uc); rl[ns, nr[ns]] = $(2 + lc); lst[ns] = lst[ns] $0 "\n"; next }
      if (NF == 0) next
      ns++; nr[ns] = 0; lkey[ns] = $2; lst[ns] = $0 "\n"; next
    }
    {
      if ($1 == "-A") { close_svc(); s++; k = 0; sl[s] = sel(); if (lkey[s] != $3) bad = 1; blk[s] = $0 "\n"; next }
      if ($1 != "-a" || s == 0) { bad = 1; next }
      k++
      line = $0
      for (i = 4; i < NF; i++) if ($i == "-r") break
      if (ra[s, k] != $(i + 1)) bad = 1
      if (ru[s, k] != 0 || rl[s, k] != 0) {
        for (j = i; j < NF; j++) if ($j == "-w") break
        line = $1; for (i = 2; i <= NF; i++) { line = line " " $i; if (i == j + 1) line = line " -x " ru[s, k] " -y " rl[s, k] }
      }
      blk[s] = blk[s] line "\n"
    }
    function cols(text, from,   t, n, i) { n = split(text, t, " "); for (i = from + 1; i <= n; i++) { if (t[i] == "Uthreshold") uc = i - from; if (t[i] == "Lthreshold") lc = i - from } }
    function close_svc() { if (s > 0 && nr[s] != k) bad = 1 }
    END {
      close_svc()
      if (s != ns || uc == 0 || lc == 0) bad = 1
      if (bad) exit 3
      if (s > 0) {
        for (i = 1; i <= s; i++) { f = W "/s/" i; printf "%s", blk[i] > f; close(f) }
        cmd = "cd \"" W "/s\" && sha256sum -- *"; while ((cmd | getline l) > 0) { split(l, p, " "); h[p[2]] = p[1] }; close(cmd)
      }
      # kept for the next read of this very table
      if (NEXT != "") {
        print KEY > NEXT; for (i = 1; i <= s; i++) print h[i] " " sl[i] > NEXT
        if (close(NEXT) == 0) system("mv -f \"" NEXT "\" \"" KEPT "\"")
      }
      print "==ipvsc:same=="
      for (i = 1; i <= s; i++) if ((sl[i] in want) && want[sl[i]] == h[i]) { same[i] = 1; print at[sl[i]] }
      print "==ipvsc:save=="
      for (i = 1; i <= s; i++) if (!(i in same)) printf "%s", blk[i]
      print "==ipvsc:thresholds=="
      printf "%s", head
      for (i = 1; i <= s; i++) if (!(i in same)) printf "%s", lst[i]
    }' "$1" "$2" "$3" > "$4/out" && { [ -z "$NEXT" ] || rm -f "$NEXT"; cat "$4/out"; return 0; }
  [ -z "$NEXT" ] || rm -f "$NEXT"
  echo "==ipvsc:save=="
  cat "$3"
  echo "==ipvsc:thresholds=="
  cat "$2"
}
`;

/** Prints the live state in `==ipvsc:NAME==` sections (see src/state/live-state.ts). */
export const READ_STATE_SCRIPT = String.raw`#!/bin/sh
# ipvsc read-state: prints what the planner needs; changes nothing
set -u
${COMMON}
${DIGEST_READ}
[ $# -ge 1 ] && KCONF_DIR=$1
[ -z "$TRACING" ] || exec 8>&2
trace "read-state: start"
LACKING=$(lacking_tools ${READ_STATE_TOOLS.join(" ")})
[ -z "$LACKING" ] || { echo "director lacks $LACKING" >&2; exit 10; }
# one read of the table for both the fingerprint and the save section (a read costs seconds
# on a big table and a slow director), so both describe the very same table
T=$(mktemp) || exit 1
trap 'rm -f "$T"' EXIT
trap 'rm -f "$T"; exit 1' HUP INT TERM PIPE
ipvsadm -S -n > "$T"
trace "read-state: ipvsadm -S -n"
echo "==ipvsc:fingerprint=="
fingerprint "$T"
echo "==ipvsc:context-fingerprint=="
context_fingerprint
trace "read-state: fingerprint"
if [ $# -ge 2 ]; then
  # the digest read: $2 holds, after its line "${DIGESTS_MARKER}", the host's "DIGEST SELECTOR"
  # lines, one per desired service. Only the services whose digest differs or that the host
  # did not list are printed in full; the others by their line number in $2 (section same)
  L=$(mktemp) && W=$(mktemp -d) || exit 1
  trap 'rm -rf "$T" "$L" "$W" "$STATE/kept-digests.$$"' EXIT
  trap 'rm -rf "$T" "$L" "$W" "$STATE/kept-digests.$$"; exit 1' HUP INT TERM PIPE
  ipvsadm -L -n --thresholds > "$L"
  trace "read-state: ipvsadm -L -n --thresholds"
  digest_read "$2" "$L" "$T" "$W"
  if [ -d "$W/s" ]; then trace "read-state: digests (joined and hashed)"; else trace "read-state: digests (kept)"; fi
else
  echo "==ipvsc:save=="
  cat "$T"
  echo "==ipvsc:thresholds=="
  # its ActiveConn/InActConn columns are the connection counts too: no plain -L -n listing
  ipvsadm -L -n --thresholds
  trace "read-state: ipvsadm -L -n --thresholds"
fi
echo "==ipvsc:timeouts=="
ipvsadm -L --timeout
echo "==ipvsc:daemon=="
ipvsadm -L --daemon
echo "==ipvsc:keepalived-running=="
if keepalived_pid >/dev/null; then echo yes; else echo no; fi
echo "==ipvsc:keepalived-conf=="
if [ -f "$KCONF_DIR/keepalived.conf" ]; then cat "$KCONF_DIR/keepalived.conf"; echo "==ipvsc:keepalived-conf-present=="; echo yes; fi
echo "==ipvsc:owners=="
for f in "$STATE"/owners/*.owned; do [ -f "$f" ] && { cat "$f"; echo "--"; }; done
echo "==ipvsc:addresses=="
ip -o addr show 2>/dev/null | awk '{print $2, $4}'
trace "read-state: the rest"
echo "==ipvsc:end=="
# the digest read's data may follow in this very file: never read on
exit 0
`;

/**
 * The apply script. Usage on the director:
 *   sh apply.sh run DIR    start the worker detached (it survives a dropped SSH session),
 *                          follow its log, exit with its result
 *   sh apply.sh wait DIR   reattach after a dropped connection
 * DIR holds the staged files: params, fingerprint, context.fingerprint, before.rules,
 * before.selectors, apply.batch, drain.list, finalize.batch, rollback.batch, expected.rules, sysctl.conf, owned,
 * and keepalived.conf + secrets/ when keepalived is managed. Under the lock the worker checks
 * that the director is as the plan saw it: the touched services listed one by one against
 * before.rules plus context.fingerprint where they are few, else the whole table against
 * fingerprint. Results (DIR/result): 0 applied; 10 refused, nothing changed;
 * 11 failed and restored to the old state; 12 failed and the old state could not be restored.
 * run first checks the tools (APPLY_TOOLS, keepalived where managed): a director that lacks
 * one exits 10 with "ipvsc: refused: director lacks X, Y" before any lock or change.
 */
export const APPLY_SCRIPT = String.raw`#!/bin/sh
# ipvsc apply: lock, check the plan's starting point, check keepalived's config,
# apply the batch, drain, delete, reload keepalived, verify, record ownership; restore on failure
set -u
${COMMON}

say() { echo "ipvsc: $*"; }

LOCKED=no

# under the lock, once the run is over: no VRRP password stays on the director outside the
# installed includes (the host uploads every file again before any run), and only the newest
# few run directories of this owner are kept; the staging directories of the removed
# converge mode held password copies too
tidy() {
  [ "$LOCKED" = yes ] || return 0
  rm -rf "$D/secrets" "$D/old/secrets" "$STATE/stage" "$STATE"/runs/converge-* 2>/dev/null
  ls -1dt "$STATE/runs/$OWNER"-???????????????? 2>/dev/null | awk 'NR > 5' | while read -r old; do [ "$old" = "$D" ] || rm -rf "$old"; done
  return 0
}

finish() {
  tidy
  # the log's last line first: once the result is there, follow has the whole log
  say "result $1: $2"
  echo "$1" > "$D/result.tmp" && mv "$D/result.tmp" "$D/result"
  exit "$1"
}

refuse() { say "refused: $*"; finish 10 "nothing was changed (old state)"; }

require_tools() {
  # before the lock and before any change (run, ahead of the worker): a director without a
  # tool the apply needs is refused by the tool's name, not by a later misleading failure
  # (without flock, "another apply holds the lock"; without setsid, a worker that never
  # starts). $1 is the params file, read here, not sourced: keepalived is needed where the
  # spec manages it or the plan starts or reloads it.
  _tools="${APPLY_TOOLS.join(" ")}"
  _ka=no
  if [ -f "$1" ]; then
    while IFS= read -r _l; do
      case "$_l" in MANAGED=yes|KEEPALIVED=start|KEEPALIVED=reload) _ka=yes ;; esac
    done < "$1"
  fi
  [ "$_ka" = no ] || _tools="$_tools keepalived"
  _lack=$(lacking_tools $_tools)
  [ -n "$_lack" ] || return 0
  # no result file: no worker ran, and a later rerun of the same plan must not replay this
  say "refused: director lacks $_lack"
  say "result 10: nothing was changed (old state)"
  exit 10
}

selectors_of() {
  awk "$SELECTOR_AWK"' { print sel() }' "$@"
}

strip_thresholds() {
  sed -e 's/ -x [0-9]*//' -e 's/ -y [0-9]*//'
}

# verify lists the services it checks one by one when they are few: ipvsadm 1.31 cannot save
# one service (-S with a service exits 2), but its listing of one service with --tun-info has
# every field of the save's lines (flags, persistence, mask, engine, one-packet, forwarding,
# weight, tunnel type, port and checksum), so listed_as_rules can print them in the save's
# form. Anything it cannot read that way prints a "?" line, which never compares equal.
LISTED_MAX=32
LISTING_TO_RULES_AWK='
  function csum(x) { return x == "-c" ? " --tun-nocsum" : x == "+c" ? " --tun-csum" : x == "r+c" ? " --tun-remcsum" : " ?" }
  /^#ipvsc / { sel = substr($0, 8); split(sel, w, " "); next }
  $1 == "Prot" || $1 == "IP" || ($1 == "->" && $2 == "RemoteAddress:Port") { next }
  $1 == "->" {
    f = $3 == "Masq" ? "-m" : ($3 == "Route" || $3 == "Local") ? "-g" : $3 == "Tunnel" ? "-i" : "?"; t = ""
    if (f == "-i") {
      n = split($4, a, ":")
      if (a[1] == "ipip" && n == 1) t = " --tun-type ipip"
      else if (a[1] == "gue" && n == 3) t = " --tun-type gue --tun-port " a[2] csum(a[3])
      else if (a[1] == "gre" && n == 2) t = " --tun-type gre" csum(a[2])
      else t = " ?"
    } else if ($4 != "n/a") t = " ?"
    print "-a " sel " -r " $2 " " f " -w " $5 t
    next
  }
  {
    # the service line: TCP|UDP|SCTP A:P, or FWM N [IPv6]; then the scheduler and its options
    if ($1 == "FWM") { i = ($3 == "IPv6") ? 4 : 3; ok = (w[1] == "-f" && w[2] == $2 && (w[3] == "-6") == (i == 4)) }
    else { i = 3; ok = (w[2] == $2 && (($1 == "TCP" && w[1] == "-t") || ($1 == "UDP" && w[1] == "-u") || ($1 == "SCTP" && w[1] == "--sctp-service"))) }
    line = "-A " sel " -s " $i; p = ""; m = ""; pe = ""; o = ""; b = ""
    for (i++; i <= NF; i++) {
      if ($i ~ /^\(.*\)$/) b = " -b " substr($i, 2, length($i) - 2)
      else if ($i == "persistent" && i < NF) p = " -p " $(++i)
      else if ($i == "mask" && i < NF) m = " -M " $(++i)
      else if ($i == "pe" && i < NF) pe = " --pe " $(++i)
      else if ($i == "ops") o = " -o"
      else ok = 0
    }
    print (ok ? "" : "? ") line p m pe o b
  }'

listed_as_rules() {
  # the save lines of the services in $1 (one selector per line), listed one by one into file
  # $2; a service that is not there lists nothing; 1 when a listing fails otherwise (an
  # ipvsadm without --tun-info)
  _listed_ok=yes
  while read -r _sel; do
    echo "#ipvsc $_sel"
    # $_sel unquoted: a selector is two or three words (-t A:P, -f N -6)
    if _out=$(ipvsadm -L -n --tun-info $_sel 2>&1); then printf '%s\n' "$_out"
    elif [ "$_out" != "No such service" ]; then _listed_ok=no; break
    fi
  done < "$1" > "$2"
  [ "$_listed_ok" = yes ] && awk "$LISTING_TO_RULES_AWK" "$2"
}

listed_as_planned() {
  # the services in selector file $1, listed one by one (listed_as_rules into $3), read
  # exactly as rule file $2 has them (sorted): 1 when not, or when they are too many to list
  [ "$(grep -c . "$1")" -le "$LISTED_MAX" ] || return 1
  listed_as_rules "$1" "$3" > "$3.rules" || return 1
  LC_ALL=C sort "$3.rules" | cmp -s "$2" -
}

run_batch() {
  # ipvsadm -R is not transactional and exits 0 after kernel errors: any stderr is failure
  [ -s "$1" ] || return 0
  ipvsadm -R < "$1" 2> "$D/batch.err"
  rc=$?
  if [ "$rc" -ne 0 ] || [ -s "$D/batch.err" ]; then
    say "ipvsadm rejected part of $(basename "$1"):"
    sed 's/^/  /' "$D/batch.err"
    return 1
  fi
  return 0
}

connections() {
  # ActiveConn + InActConn of real server $2 in service "$1"
  ipvsadm -L -n $1 2>/dev/null | awk -v rs="$2" '$1 == "->" && $2 == rs { n = $5 + $6; f = 1 } END { print (f ? n : 0) }'
}

drain() {
  [ -s "$D/drain.list" ] || return 0
  deadline=$(( $(date +%s) + DRAIN_TIMEOUT ))
  while :; do
    busy=0
    while read -r kind a b c; do
      sel="$kind $a"; rs="$b"
      [ "$kind" = "-f" ] && [ "$b" = "-6" ] && { sel="$kind $a -6"; rs="$c"; }
      n=$(connections "$sel" "$rs")
      [ "$n" -gt 0 ] && busy=$((busy + 1))
    done < "$D/drain.list"
    [ "$busy" -eq 0 ] && { say "drained"; return 0; }
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "drain deadline of $DRAIN_TIMEOUT s reached with $busy real server(s) still busy; removing them"
      return 0
    fi
    sleep 1
  done
}

batch_selectors() {
  # the services the batches touch (their lines' selectors, and the removed ones), sorted
  { selectors_of "$D/apply.batch" "$D/finalize.batch"; cat "$D/removed.selectors" "$@" 2>/dev/null; } | LC_ALL=C sort -u
}

only_wanted() {
  # the lines of rule file $2 (- for stdin) whose service is in selector file $1
  awk "$SELECTOR_AWK"'
    NR == FNR { want[$0] = 1; next }
    (sel() in want)' "$1" "$2"
}

only_selected() {
  # only_wanted, faster for a few services: grep -F first keeps the lines that mention one
  # (" -t X " is in every line of service -t X; busybox grep -F tries every pattern on every
  # line, so only for a few), then only_wanted keeps exactly those whose selector is wanted
  if [ "$(grep -c . "$1")" -le 16 ]; then
    sed 's/.*/ & /' "$1" > "$1.patterns"
    grep -F -f "$1.patterns" "$2" | only_wanted "$1" -
  else
    only_wanted "$1" "$2"
  fi
}

verify() {
  # every service the batches touched must read back exactly as expected; removed ones must
  # be gone (the batches change no other service)
  batch_selectors > "$D/verify.selectors"
  # nothing touched (a keepalived-only change): no read of the table at all
  [ -s "$D/verify.selectors" ] || { verify_keepalived; return; }
  trace "verify: selectors"
  only_selected "$D/verify.selectors" "$D/expected.rules" | strip_thresholds | LC_ALL=C sort > "$D/expected.sorted"
  trace "verify: expected lines"
  # keepalived-owned services the batches drained are keepalived's to program: keep only
  # the applier-owned ones (those in expected.rules) and the removed ones
  { selectors_of "$D/expected.sorted"; cat "$D/removed.selectors" 2>/dev/null; } | LC_ALL=C sort -u > "$D/verify.selectors"
  trace "verify: selectors again"
  # a few services: each listed on its own, a read that costs the change, not the table
  if listed_as_planned "$D/verify.selectors" "$D/expected.sorted" "$D/after.listed"; then
    trace "verify: ipvsadm -L -n --tun-info per service"
    verify_keepalived; return
  fi
  # too many, or read otherwise than planned: the whole save decides (a listing this reader
  # does not know must not roll back a good apply)
  ipvsadm -S -n > "$D/after.rules" || return 1
  trace "verify: ipvsadm -S -n"
  only_selected "$D/verify.selectors" "$D/after.rules" | LC_ALL=C sort > "$D/after.owned"
  trace "verify: live lines"
  if ! cmp -s "$D/expected.sorted" "$D/after.owned"; then
    say "verification failed: the table differs from the plan"
    diff "$D/expected.sorted" "$D/after.owned" 2>/dev/null | sed 's/^/  /' | head -40
    return 1
  fi
  verify_keepalived
}

verify_keepalived() {
  if [ "$KEEPALIVED" != none ] && ! keepalived_pid >/dev/null; then
    sleep 1
    keepalived_pid >/dev/null || { say "verification failed: keepalived is not running"; return 1; }
  fi
  return 0
}

install_keepalived() {
  mkdir -p "$KCONF_DIR"
  for f in "$D"/secrets/*; do
    [ -f "$f" ] || continue
    # cp + chmod + mv, not install: busybox systems lack it; the secret is never world-readable
    (umask 077 && cp "$f" "$KCONF_DIR/$(basename "$f").ipvsc-new" && chmod 600 "$KCONF_DIR/$(basename "$f").ipvsc-new" &&
      mv "$KCONF_DIR/$(basename "$f").ipvsc-new" "$KCONF_DIR/$(basename "$f")") || return 1
  done
  cp "$D/keepalived.conf" "$KCONF_DIR/keepalived.conf.ipvsc-new" && mv "$KCONF_DIR/keepalived.conf.ipvsc-new" "$KCONF_DIR/keepalived.conf"
  if p=$(keepalived_pid); then
    kill -HUP "$p"
  else
    # 9>&-: the daemon must not inherit the lock, or it holds it for as long as it runs
    keepalived -f "$KCONF_DIR/keepalived.conf" -p "$KPID" 9>&- || return 1
  fi
  sleep 1
}

restore() {
  say "restoring the old state"
  ipvsadm -R < "$D/rollback.batch" 2>/dev/null
  if [ "$KEEPALIVED_TOUCHED" = yes ]; then
    if [ -f "$D/old/keepalived.conf" ]; then
      cp "$D/old/keepalived.conf" "$KCONF_DIR/keepalived.conf"
      for f in "$D"/old/secrets/*; do [ -f "$f" ] && (umask 077 && cp "$f" "$KCONF_DIR/$(basename "$f")" && chmod 600 "$KCONF_DIR/$(basename "$f")"); done
      p=$(keepalived_pid) && kill -HUP "$p"
    else
      rm -f "$KCONF_DIR/keepalived.conf"
      p=$(keepalived_pid) && kill "$p"
    fi
    sleep 1
  fi
  if [ "$AS_PLANNED" = listed ]; then
    # the check listed the touched services only (nothing else was changed): they must read
    # back as they were, listed one by one, or else from the whole save
    old="$D/before.sorted"
    listed_as_planned "$D/touched.selectors" "$old" "$D/restored.listed" &&
      finish 11 "the change failed and was rolled back: the director is in its OLD state"
    ipvsadm -S -n > "$D/restored.rules"
    only_selected "$D/touched.selectors" "$D/restored.rules" | LC_ALL=C sort > "$D/restored.sorted"
  else
    old="$D/snapshot.sorted"
    LC_ALL=C sort "$D/snapshot.rules" > "$old"
    ipvsadm -S -n | LC_ALL=C sort > "$D/restored.sorted"
  fi
  if cmp -s "$old" "$D/restored.sorted"; then
    finish 11 "the change failed and was rolled back: the director is in its OLD state"
  fi
  diff "$old" "$D/restored.sorted" 2>/dev/null | sed 's/^/  /' | head -40
  finish 12 "the change failed and the old state could not be restored: the director is in an UNKNOWN state"
}

fail() { say "failed: $*"; restore; }

as_planned() {
  # the plan's starting point, cheaply: where the plan touches few services, those services
  # (each listed on its own) must read exactly as the plan saw them (before.rules, rendered
  # from its read), and keepalived.conf and the ownership records must be unchanged. The
  # rest of the table is not the plan's business: a health checker that moved a weight of
  # another service since is no reason to refuse, and a whole read costs seconds on a big
  # table. 1 when it cannot say (too many services, an older plan, a listing it cannot
  # read, anything that differs): then the whole table's fingerprint decides
  [ -s "$D/context.fingerprint" ] && [ -f "$D/before.rules" ] || return 1
  [ "$(context_fingerprint)" = "$(cat "$D/context.fingerprint")" ] || return 1
  # the batches' services (as verify takes them), and those the host read them with
  batch_selectors "$D/before.selectors" > "$D/touched.selectors"
  strip_thresholds < "$D/before.rules" | LC_ALL=C sort > "$D/before.sorted"
  listed_as_planned "$D/touched.selectors" "$D/before.sorted" "$D/before.listed"
}

worker() {
  # the plan was made on the host (the CLI or the director resource): check its fingerprint
  [ -z "$TRACING" ] || exec 8> "$D/trace"
  trace "worker: start"
  . "$D/params"
  KEEPALIVED_TOUCHED=no
  mkdir -p "$STATE/owners"
  exec 9>> "$STATE/lock"
  flock -n 9 || refuse "another apply holds the lock on this director"
  LOCKED=yes
  trace "worker: locked"
  AS_PLANNED=whole
  if as_planned; then
    AS_PLANNED=listed
    trace "worker: touched services listed, as planned"
  else
    ipvsadm -S -n > "$D/snapshot.rules"
    trace "worker: snapshot"
    now=$(fingerprint "$D/snapshot.rules")
    [ "$now" = "$(cat "$D/fingerprint")" ] || refuse "stale plan: the director changed since the plan was computed (plan again)"
    trace "worker: fingerprint checked"
  fi
  mkdir -p "$D/old/secrets"
  [ -f "$KCONF_DIR/keepalived.conf" ] && cp "$KCONF_DIR/keepalived.conf" "$D/old/keepalived.conf"
  for f in "$KCONF_DIR"/vrrp-auth-*.conf; do [ -f "$f" ] && cp "$f" "$D/old/secrets/"; done
  if [ "$KEEPALIVED" != none ]; then
    # check the new config where it lies, its includes (include or includea) pointing at the
    # staged secrets: a fresh director has no installed secret yet, a changed one the old one
    sed -e "s#include $KCONF_DIR/vrrp-auth-#include $D/secrets/vrrp-auth-#" \
      -e "s#includea $KCONF_DIR/vrrp-auth-#includea $D/secrets/vrrp-auth-#" "$D/keepalived.conf" > "$D/keepalived.check.conf"
    if ! keepalived -t -e -f "$D/keepalived.check.conf" > "$D/keepalived.check" 2>&1; then
      grep -v auth_pass "$D/keepalived.check" | sed 's/^/  /' | head -20
      refuse "keepalived -t rejected the new configuration; the running one is untouched"
    fi
  fi
  trace "worker: old keepalived files saved, new config checked"
  sysctl -p "$D/sysctl.conf" > /dev/null 2>&1 || refuse "could not apply the sysctl baseline"
  trace "worker: sysctl"
  say "applying $(grep -c . "$D/apply.batch" 2>/dev/null || true) ipvsadm change(s)"
  run_batch "$D/apply.batch" || fail "ipvsadm rejected the batch"
  trace "worker: apply batch"
  drain
  trace "worker: drain"
  run_batch "$D/finalize.batch" || fail "ipvsadm rejected the deletes"
  trace "worker: finalize batch"
  if [ "$KEEPALIVED" != none ]; then
    KEEPALIVED_TOUCHED=yes
    say "keepalived: $KEEPALIVED"
    install_keepalived || fail "keepalived did not take the new configuration"
    trace "worker: keepalived $KEEPALIVED"
  fi
  verify || fail "verification"
  trace "worker: verified"
  cp "$D/owned" "$STATE/owners/$OWNER.owned.new" && mv "$STATE/owners/$OWNER.owned.new" "$STATE/owners/$OWNER.owned"
  trace "worker: ownership recorded"
  finish 0 "applied: the director is in its NEW state"
}

follow() {
  # wait for the worker's result, printing its log as it grows. Shell builtins only, apart
  # from sleep: a poll that ran wc and sed took more CPU than the worker on a small director
  while [ ! -f "$D/log" ] && [ ! -f "$D/result" ]; do sleep 0.1; done
  : >> "$D/log" && exec 3< "$D/log" || exit 12
  part=""
  while :; do
    fin=no
    [ -f "$D/result" ] && fin=yes
    # read returns false at the end of the file, with a line not yet finished in $line
    while IFS= read -r line <&3; do printf '%s%s\n' "$part" "$line"; part=""; done
    part="$part$line"
    if [ "$fin" = yes ]; then
      [ -n "$part" ] && printf '%s\n' "$part"
      read -r rc < "$D/result"
      trace "follow: result read"
      [ -z "$TRACING" ] || cat "$D/trace" >&8 2>/dev/null
      exit "$rc"
    fi
    sleep 0.3
  done
}

USAGE="usage: apply.sh run|wait DIR"
mode=""; D=""
[ $# -ge 1 ] && mode=$1
[ $# -ge 2 ] && D=$2
[ -n "$D" ] && [ -d "$D" ] || { echo "$USAGE" >&2; exit 2; }
case "$mode" in run|wait) [ -z "$TRACING" ] || { exec 8>&2; trace "$mode: start"; } ;; esac
case "$mode" in
  run)
    require_tools "$D/params"
    if [ -f "$D/result" ]; then
      # this very plan ran before (same content, same live state). Reattach to that run,
      # unless the director is back in the state the plan was made for (emptied or restored
      # by hand, or rolled back): then replaying the old result would report a change that is
      # not there. Back as the worker checks it: the touched services (a service the plan does
      # not touch may differ), or the whole table
      if (. "$D/params"; as_planned) || [ "$(. "$D/params"; fingerprint)" = "$(cat "$D/fingerprint")" ]; then
        rm -rf "$D/previous" && mkdir "$D/previous" && mv -f "$D/result" "$D/log" "$D/previous/" && { [ ! -d "$D/old" ] || mv "$D/old" "$D/previous/"; } || exit 12
      else
        follow
      fi
      trace "run: fingerprint for a rerun"
    fi
    setsid sh "$0" worker "$D" < /dev/null > "$D/log" 2>&1 8>&- &
    follow ;;
  wait) follow ;;
  worker) worker ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
`;
