/**
 * The text of the scripts that run on a director. POSIX sh plus ipvsadm, flock, setsid,
 * sha256sum, awk and sort (Debian's or busybox's). The CLI and the Pulumi components run
 * exactly this text; the lab tests run it against a real kernel.
 */

/** Where the applier keeps its files on a director. */
export const STATE_DIR = "/var/lib/ipvsc";

/** Shell functions shared by the read-state and apply scripts, so both compute one fingerprint. */
const COMMON = String.raw`
STATE=${STATE_DIR}
KCONF_DIR=/etc/keepalived
KPID=/run/keepalived.pid

# the fingerprint covers what a plan is computed from: the table, keepalived.conf and the
# ownership records (connection counters and thresholds are left out: they move on their own)
fingerprint() {
  {
    ipvsadm -S -n | LC_ALL=C sort
    echo "==keepalived"
    cat "$KCONF_DIR/keepalived.conf" 2>/dev/null
    echo "==owners"
    for f in "$STATE"/owners/*.owned; do [ -f "$f" ] && { echo "$f"; cat "$f"; }; done
  } | sha256sum | cut -d' ' -f1
}

keepalived_pid() {
  [ -f "$KPID" ] || return 1
  p=$(cat "$KPID" 2>/dev/null) || return 1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
`;

/** Prints the live state in `==ipvsc:NAME==` sections (see src/state/live-state.ts). */
export const READ_STATE_SCRIPT = String.raw`#!/bin/sh
# ipvsc read-state: prints what the planner needs; changes nothing
set -u
${COMMON}
[ $# -ge 1 ] && KCONF_DIR=$1
echo "==ipvsc:fingerprint=="
fingerprint
echo "==ipvsc:save=="
ipvsadm -S -n
echo "==ipvsc:thresholds=="
ipvsadm -L -n --thresholds
echo "==ipvsc:list=="
ipvsadm -L -n
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
echo "==ipvsc:end=="
`;

/**
 * The apply script. Usage on the director:
 *   sh apply.sh run DIR    start the worker detached (it survives a dropped SSH session),
 *                          follow its log, exit with its result
 *   sh apply.sh wait DIR   reattach after a dropped connection
 * DIR holds the staged files: params, fingerprint, apply.batch, drain.list, finalize.batch,
 * rollback.batch, expected.rules, sysctl.conf, owned, and keepalived.conf + secrets/ when
 * keepalived is managed. Results (DIR/result): 0 applied; 10 refused, nothing changed;
 * 11 failed and restored to the old state; 12 failed and the old state could not be restored.
 */
export const APPLY_SCRIPT = String.raw`#!/bin/sh
# ipvsc apply: lock, check the plan's fingerprint, snapshot, check keepalived's config,
# apply the batch, drain, delete, reload keepalived, verify, record ownership; restore on failure
set -u
${COMMON}

say() { echo "ipvsc: $*"; }

finish() {
  echo "$1" > "$D/result.tmp" && mv "$D/result.tmp" "$D/result"
  say "result $1: $2"
  exit "$1"
}

refuse() { say "refused: $*"; finish 10 "nothing was changed (old state)"; }

selectors_of() {
  # the service selector of each rule line: "-A -t X -s ..." and "-a -t X -r ..." -> "-t X"
  awk '{ s=""; for (i = 2; i <= NF; i++) { if ($i == "-s" || $i == "-r") break; s = s (s == "" ? "" : " ") $i } print s }' "$@"
}

strip_thresholds() {
  sed -e 's/ -x [0-9]*//' -e 's/ -y [0-9]*//'
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

verify() {
  # the applier-owned services must read back exactly as expected; removed ones must be gone
  ipvsadm -S -n > "$D/after.rules" || return 1
  { selectors_of "$D/expected.rules"; cat "$D/removed.selectors" 2>/dev/null; } | LC_ALL=C sort -u > "$D/verify.selectors"
  awk 'NR == FNR { want[$0] = 1; next }
       { s = ""; for (i = 2; i <= NF; i++) { if ($i == "-s" || $i == "-r") break; s = s (s == "" ? "" : " ") $i } if (s in want) print }' \
    "$D/verify.selectors" "$D/after.rules" | LC_ALL=C sort > "$D/after.owned"
  strip_thresholds < "$D/expected.rules" | LC_ALL=C sort > "$D/expected.sorted"
  if ! cmp -s "$D/expected.sorted" "$D/after.owned"; then
    say "verification failed: the table differs from the plan"
    diff "$D/expected.sorted" "$D/after.owned" 2>/dev/null | sed 's/^/  /' | head -40
    return 1
  fi
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
    install -m 600 "$f" "$KCONF_DIR/$(basename "$f")"
  done
  cp "$D/keepalived.conf" "$KCONF_DIR/keepalived.conf.ipvsc-new" && mv "$KCONF_DIR/keepalived.conf.ipvsc-new" "$KCONF_DIR/keepalived.conf"
  if p=$(keepalived_pid); then
    kill -HUP "$p"
  else
    keepalived -f "$KCONF_DIR/keepalived.conf" -p "$KPID" || return 1
  fi
  sleep 1
}

restore() {
  say "restoring the old state"
  ipvsadm -R < "$D/rollback.batch" 2>/dev/null
  if [ "$KEEPALIVED_TOUCHED" = yes ]; then
    if [ -f "$D/old/keepalived.conf" ]; then
      cp "$D/old/keepalived.conf" "$KCONF_DIR/keepalived.conf"
      for f in "$D"/old/secrets/*; do [ -f "$f" ] && install -m 600 "$f" "$KCONF_DIR/$(basename "$f")"; done
      p=$(keepalived_pid) && kill -HUP "$p"
    else
      rm -f "$KCONF_DIR/keepalived.conf"
      p=$(keepalived_pid) && kill "$p"
    fi
    sleep 1
  fi
  ipvsadm -S -n | LC_ALL=C sort > "$D/restored.sorted"
  if cmp -s "$D/snapshot.sorted" "$D/restored.sorted"; then
    finish 11 "the change failed and was rolled back: the director is in its OLD state"
  fi
  diff "$D/snapshot.sorted" "$D/restored.sorted" 2>/dev/null | sed 's/^/  /' | head -40
  finish 12 "the change failed and the old state could not be restored: the director is in an UNKNOWN state"
}

fail() { say "failed: $*"; restore; }

worker() {
  . "$D/params"
  KEEPALIVED_TOUCHED=no
  mkdir -p "$STATE/owners"
  exec 9>> "$STATE/lock"
  flock -n 9 || refuse "another apply holds the lock on this director"
  now=$(fingerprint)
  [ "$now" = "$(cat "$D/fingerprint")" ] || refuse "stale plan: the director changed since the plan was computed (plan again)"
  ipvsadm -S -n | LC_ALL=C sort > "$D/snapshot.sorted"
  mkdir -p "$D/old/secrets"
  [ -f "$KCONF_DIR/keepalived.conf" ] && cp "$KCONF_DIR/keepalived.conf" "$D/old/keepalived.conf"
  for f in "$KCONF_DIR"/vrrp-auth-*.conf; do [ -f "$f" ] && cp "$f" "$D/old/secrets/"; done
  if [ "$KEEPALIVED" != none ]; then
    # check the new config where it lies, its includes pointing at the staged secrets
    sed "s#include $KCONF_DIR/vrrp-auth-#include $D/secrets/vrrp-auth-#" "$D/keepalived.conf" > "$D/keepalived.check.conf"
    if ! keepalived -t -e -f "$D/keepalived.check.conf" > "$D/keepalived.check" 2>&1; then
      sed 's/^/  /' "$D/keepalived.check" | head -20
      refuse "keepalived -t rejected the new configuration; the running one is untouched"
    fi
  fi
  sysctl -p "$D/sysctl.conf" > /dev/null 2>&1 || refuse "could not apply the sysctl baseline"
  say "applying $(grep -c . "$D/apply.batch" 2>/dev/null || echo 0) ipvsadm change(s)"
  run_batch "$D/apply.batch" || fail "ipvsadm rejected the batch"
  drain
  run_batch "$D/finalize.batch" || fail "ipvsadm rejected the deletes"
  if [ "$KEEPALIVED" != none ]; then
    KEEPALIVED_TOUCHED=yes
    say "keepalived: $KEEPALIVED"
    install_keepalived || fail "keepalived did not take the new configuration"
  fi
  verify || fail "verification"
  cp "$D/owned" "$STATE/owners/$OWNER.owned.new" && mv "$STATE/owners/$OWNER.owned.new" "$STATE/owners/$OWNER.owned"
  finish 0 "applied: the director is in its NEW state"
}

follow() {
  # wait for the worker's result, printing its log as it grows
  shown=0
  while :; do
    if [ -f "$D/log" ]; then
      lines=$(wc -l < "$D/log")
      if [ "$lines" -gt "$shown" ]; then sed -n "$((shown + 1)),$lines"p "$D/log"; shown=$lines; fi
    fi
    if [ -f "$D/result" ]; then
      sleep 0.2
      lines=$(wc -l < "$D/log")
      [ "$lines" -gt "$shown" ] && sed -n "$((shown + 1)),$lines"p "$D/log"
      exit "$(cat "$D/result")"
    fi
    sleep 0.3
  done
}

mode=""; D=""
[ $# -ge 1 ] && mode=$1
[ $# -ge 2 ] && D=$2
[ -n "$D" ] && [ -d "$D" ] || { echo "usage: apply.sh run|wait DIR" >&2; exit 2; }
case "$mode" in
  run)
    [ -f "$D/result" ] && follow
    setsid sh "$0" worker "$D" < /dev/null > "$D/log" 2>&1 &
    follow ;;
  wait) follow ;;
  worker) worker ;;
  *) echo "usage: apply.sh run|wait DIR" >&2; exit 2 ;;
esac
`;
