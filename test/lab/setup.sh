#!/usr/bin/env bash
# Director lab setup: installs what the lab needs and builds the director image
# (Debian 12's own 6.1 kernel + a small gzip initramfs) into
#   ${IPVS_LAB_CACHE:-$HOME/.cache/pulumi-ipvs-lab}/<hash of the build inputs>/
# and points <cache>/current at it. Rebuilds only when the inputs change: this script's
# text, test/lab/guest/*, the kernel package version, and the bytes of every binary,
# library and module copied into the image.
#
# Run by `npm run lab:setup`, and by CI as root on a fresh Debian 12 machine.
# Environment:
#   IPVS_LAB_CACHE    cache directory (default ~/.cache/pulumi-ipvs-lab)
#   IPVS_LAB_OFFLINE=1  no apt-get update/install/download: use what is installed and cached
#   IPVS_LAB_REBUILD=1  rebuild even when an image with the same inputs exists
#
# Also makes sure keepalived's sample configurations are on this machine (the corpus of
# test/import/corpus.test.ts): /usr/share/doc/keepalived/samples, or <cache>/keepalived-samples
# where dpkg is told to leave out /usr/share/doc.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${IPVS_LAB_CACHE:-$HOME/.cache/pulumi-ipvs-lab}
OFFLINE=${IPVS_LAB_OFFLINE:-0}

# host packages: the emulator, the userland copied into the image, and the build tools
PACKAGES=(qemu-system-x86 keepalived ipvsadm busybox-static openssh-server openssh-client
  iproute2 cpio kmod util-linux perl-base gzip xz-utils libgcc-s1)

# kernel modules, loaded in this order (each after its modules.dep dependencies);
# crc32c_generic first: libcrc32c needs it but modules.dep does not say so
MODULES_REQUIRED=(crc32c_generic virtio_pci virtio_net virtio_rng
  ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
  ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip
  veth dummy tunnel4 tunnel6 ipip ip6_tunnel gre ip_gre)
MODULES_OPTIONAL=(ip_vs_twos fou fou6 ip6_gre macvlan)

log() { echo "lab-setup: $*" >&2; }
die() { echo "lab-setup: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

[ -r /etc/debian_version ] || die "the lab is built from Debian packages: run on Debian 12"

# ---------------------------------------------------------------- 1. host packages
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$OFFLINE" != 1 ]; then
  log "apt-get update"
  as_root apt-get update -qq || die "apt-get update failed (run as root, or set IPVS_LAB_OFFLINE=1)"
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    # keep package scripts from starting daemons (sshd, keepalived) on this machine
    guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      guard=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$guard" >/dev/null
      as_root chmod 755 "$guard"
    fi
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" || rc=$?
    [ -z "$guard" ] || as_root rm -f "$guard"
    [ "$rc" = 0 ] || die "apt-get install failed"
  fi
elif [ ${#missing[@]} -gt 0 ]; then
  die "missing packages (offline): ${missing[*]}"
fi

# ---------------------------------------------------------------- 2. kernel package
mkdir -p "$CACHE/debs"
if [ "$OFFLINE" != 1 ]; then
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.[0-9.]+-[0-9]+-amd64$/ { print $2; exit }')
  [ -n "$kpkg" ] || die "cannot find the linux-image-6.1.*-amd64 package linux-image-amd64 depends on"
  kdebver=$(apt-cache show --no-all-versions "$kpkg" | awk '/^Version:/ { print $2; exit }')
  [ -n "$kdebver" ] || die "no version for $kpkg"
  deb="$CACHE/debs/${kpkg}_${kdebver//:/%3a}_amd64.deb"
  if [ ! -s "$deb" ]; then
    log "apt-get download $kpkg=$kdebver"
    tmpd=$(mktemp -d "$CACHE/debs/dl.XXXXXX")
    # as root, apt drops to _apt for downloads, which cannot write into a private dir
    sandbox=()
    [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$tmpd" && apt-get download -qq "${sandbox[@]}" "$kpkg=$kdebver") || { rm -rf "$tmpd"; die "apt-get download $kpkg failed"; }
    mv "$tmpd"/*.deb "$deb"
    rm -rf "$tmpd"
    find "$CACHE/debs" -maxdepth 1 -name 'linux-image-*.deb' ! -path "$deb" -delete
  fi
else
  deb=$(ls -1t "$CACHE"/debs/linux-image-6.1.*-amd64_*.deb 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || die "no cached kernel package in $CACHE/debs (offline)"
fi
log "kernel package $(basename "$deb")"

# ---------------------------------------------------------------- 2b. keepalived's sample configurations
# test/import/corpus.test.ts imports the samples the keepalived package ships. Images that
# keep dpkg out of /usr/share/doc (a path-exclude in /etc/dpkg/dpkg.cfg.d) lack them even
# with keepalived installed: unpack them from the package into the cache instead.
SAMPLES=/usr/share/doc/keepalived/samples
if compgen -G "$SAMPLES/keepalived.conf.*" >/dev/null; then
  log "keepalived samples: $SAMPLES"
elif compgen -G "$CACHE/keepalived-samples/keepalived.conf.*" >/dev/null; then
  log "keepalived samples: $CACHE/keepalived-samples"
elif [ "$OFFLINE" = 1 ]; then
  log "warning: no keepalived samples in $SAMPLES and none cached (offline): the corpus test will skip or fail"
else
  kaver=$(dpkg-query -W -f '${Version}' keepalived)
  log "apt-get download keepalived=$kaver (its samples are not installed under $SAMPLES)"
  tmpd=$(mktemp -d "$CACHE/debs/dl.XXXXXX")
  sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$tmpd" && apt-get download -qq "${sandbox[@]}" "keepalived=$kaver") || { rm -rf "$tmpd"; die "apt-get download keepalived failed"; }
  dpkg-deb --fsys-tarfile "$tmpd"/keepalived_*.deb | tar -x -C "$tmpd" ".$SAMPLES"
  rm -rf "$CACHE/keepalived-samples"
  mv "$tmpd$SAMPLES" "$CACHE/keepalived-samples"
  rm -rf "$tmpd"
  log "keepalived samples: $CACHE/keepalived-samples"
fi

# ---------------------------------------------------------------- 3. what goes in the image
BINARIES=()
for b in bash ipvsadm keepalived sshd ssh-keygen ip ss flock perl; do
  p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$b") || die "$b not found"
  BINARIES+=("$(readlink -f "$p")")
done
BUSYBOX=$(readlink -f /bin/busybox)
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not busybox-static"

LIBS=()
while read -r l; do LIBS+=("$l"); done < <(
  for b in "${BINARIES[@]}"; do ldd "$b"; done |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | LC_ALL=C sort -u
  # dlopened by glibc for thread cancellation
  echo /lib/x86_64-linux-gnu/libgcc_s.so.1
)
PERL_FILES=()
while read -r f; do
  PERL_FILES+=("$f")
  # XS modules live under auto/<Module>/
  case "$f" in /usr/lib/x86_64-linux-gnu/perl-base/*)
    rel=${f#/usr/lib/x86_64-linux-gnu/perl-base/}; rel=${rel%.pm}
    if [ -d "/usr/lib/x86_64-linux-gnu/perl-base/auto/$rel" ]; then
      while read -r x; do PERL_FILES+=("$x"); done < <(find "/usr/lib/x86_64-linux-gnu/perl-base/auto/$rel" -type f)
    fi ;;
  esac
done < <(perl "$LAB_DIR/guest/labnet.pl" --print-inc)

script_files() { echo setup.sh; (cd "$LAB_DIR/guest" && LC_ALL=C ls -1) | sed 's|^|guest/|'; }
scripts_hash=$(cd "$LAB_DIR" && script_files | while read -r f; do cat "$f"; done | sha256sum | cut -d' ' -f1)
inputs_hash=$(
  {
    echo "scripts $scripts_hash"
    echo "kernel $(basename "$deb") $(stat -c %s "$deb")"
    sha256sum "$BUSYBOX" "${BINARIES[@]}" "${LIBS[@]}" "${PERL_FILES[@]}"
  } | sha256sum | cut -c1-16
)
OUT="$CACHE/$inputs_hash"

point_current() {
  ln -sfn "$inputs_hash" "$CACHE/current.tmp"
  mv -T "$CACHE/current.tmp" "$CACHE/current"
}

if [ "${IPVS_LAB_REBUILD:-0}" != 1 ] && [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/manifest.json" ] &&
  { [ -s "$OUT/vmlinux" ] || [ -s "$OUT/vmlinuz" ]; }; then
  point_current
  log "image up to date: $OUT"
  exit 0
fi

# ---------------------------------------------------------------- 4. build
log "building image $inputs_hash"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
kroot="$work/kernel"
mkdir -p "$root" "$kroot"

dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kroot" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*'
KVER=$(ls "$kroot/lib/modules")
[ -n "$KVER" ] && [ -d "$kroot/lib/modules/$KVER/kernel" ] || die "no modules in $deb"
depmod -b "$kroot" "$KVER"
MODDIR="$kroot/lib/modules/$KVER"

# name (dashes as underscores) -> path relative to MODDIR
declare -A MODPATH=()
while IFS=: read -r rel _; do
  n=$(basename "$rel"); n=${n%%.ko*}; n=${n//-/_}
  MODPATH[$n]=$rel
done <"$MODDIR/modules.dep"

declare -A SEEN=()
ORDER=()
visit() {
  local rel=$1 d
  [ -n "${SEEN[$rel]:-}" ] && return 0
  SEEN[$rel]=1
  for d in $(awk -v m="$rel:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$MODDIR/modules.dep"); do
    visit "$d"
  done
  ORDER+=("$rel")
}
MISSING_OPTIONAL=()
for m in "${MODULES_REQUIRED[@]}"; do
  [ -n "${MODPATH[$m]:-}" ] || die "kernel module $m not in $KVER"
  visit "${MODPATH[$m]}"
done
for m in "${MODULES_OPTIONAL[@]}"; do
  if [ -n "${MODPATH[$m]:-}" ]; then visit "${MODPATH[$m]}"; else MISSING_OPTIONAL+=("$m"); fi
done
[ ${#MISSING_OPTIONAL[@]} -eq 0 ] || log "not in $KVER (skipped): ${MISSING_OPTIONAL[*]}"

mkdir -p "$root/lib/modules/$KVER"
: >"$root/lib/modules/load-order"
for rel in "${ORDER[@]}"; do
  mkdir -p "$root/lib/modules/$KVER/$(dirname "$rel")"
  case "$rel" in
    *.ko.xz) xz -dc "$MODDIR/$rel" >"$root/lib/modules/$KVER/${rel%.xz}"; rel=${rel%.xz} ;;
    *.ko.zst) zstd -qdc "$MODDIR/$rel" >"$root/lib/modules/$KVER/${rel%.zst}"; rel=${rel%.zst} ;;
    *) cp "$MODDIR/$rel" "$root/lib/modules/$KVER/$rel" ;;
  esac
  echo "$KVER/$rel" >>"$root/lib/modules/load-order"
done
cp "$MODDIR"/modules.order "$MODDIR"/modules.builtin "$MODDIR"/modules.builtin.modinfo "$root/lib/modules/$KVER/"
depmod -b "$root" "$KVER"
# QEMU boots the uncompressed ELF vmlinux through its PVH entry (CONFIG_PVH): that skips
# the bzImage's own xz decompression, about 4 s under TCG. Fall back to the bzImage.
KERNEL_FILE=vmlinuz
cp "$kroot/boot/vmlinuz-$KVER" "$work/vmlinuz"
if grep -q '^CONFIG_PVH=y' "$kroot/boot/config-$KVER" 2>/dev/null; then
  off=$(LC_ALL=C grep -abo $'\xfd''7zXZ' "$work/vmlinuz" | head -n1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$work/vmlinuz" | xz -dc >"$work/vmlinux" 2>/dev/null || true
    if [ "$(head -c 4 "$work/vmlinux" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
      KERNEL_FILE=vmlinux
      rm -f "$work/vmlinuz"
    else
      rm -f "$work/vmlinux"
    fi
  fi
fi

# userland
for d in bin sbin usr/bin usr/sbin lib/x86_64-linux-gnu lib64 etc/ssh etc/lab etc/keepalived \
  root/.ssh proc sys dev run tmp var/log var/empty lab mnt; do
  mkdir -p "$root/$d"
done
chmod 700 "$root/root" "$root/root/.ssh"
chmod 1777 "$root/tmp"
ln -s ../run "$root/var/run"
cp "$BUSYBOX" "$root/bin/busybox"
for f in "${BINARIES[@]}" "${LIBS[@]}" "${PERL_FILES[@]}"; do
  mkdir -p "$root$(dirname "$f")"
  cp -L "$f" "$root$f"
done
# applets: never over busybox itself, never over a real tool copied above. /bin/sh is
# bash: Debian's busybox-static prefers its own applets over PATH, so under busybox ash
# `ip` would be busybox's ip (no netns) even with iproute2's ip installed.
for a in $("$BUSYBOX" --list); do
  case "$a" in busybox|sh|ip|ss|flock) continue ;; esac
  [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
for f in "${BINARIES[@]}"; do
  b=$(basename "$f")
  for d in bin sbin usr/bin usr/sbin; do
    [ -e "$root/$d/$b" ] || [ -L "$root/$d/$b" ] || ln -s "$f" "$root/$d/$b"
  done
done
ln -s "$(readlink -f /bin/bash)" "$root/bin/sh"
ln -s bin/busybox "$root/init"
for f in "$LAB_DIR"/guest/*; do cp "$f" "$root/lab/"; done
chmod 755 "$root"/lab/*

cat >"$root/etc/inittab" <<'EOF'
::sysinit:/lab/boot.sh
::ctrlaltdel:/bin/poweroff -f
::shutdown:/bin/sync
EOF
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
chmod 600 "$root/etc/shadow"
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files
EOF
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
cat >"$root/etc/ssh/sshd_config" <<'EOF'
Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 64
MaxStartups 64:30:128
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
SetEnv PATH=/usr/sbin:/usr/bin:/sbin:/bin
EOF
printf 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n' >"$root/etc/profile"

# newc entries for device nodes (no mknod, so the build also works without root)
newc() { # name mode rdevmajor rdevminor
  local name=$1 mode=$2 maj=$3 min=$4 n hdr pad
  n=$((${#name} + 1))
  hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    0 "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$n" 0)
  printf '%s%s\0' "$hdr" "$name"
  pad=$(((4 - (110 + n) % 4) % 4))
  [ "$pad" = 0 ] || head -c "$pad" /dev/zero
}

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$work/initrd.gz"
{
  newc dev/console $((0020600)) 5 1
  newc dev/null $((0020666)) 1 3
  newc TRAILER!!! 0 0 0
} | gzip -9 >>"$work/initrd.gz"

kdebver_file=$(basename "$deb")
{
  echo '{'
  echo "  \"hash\": \"$inputs_hash\","
  echo "  \"scriptsHash\": \"$scripts_hash\","
  echo "  \"kernel\": \"$KERNEL_FILE\","
  echo "  \"kernelPackage\": \"$kdebver_file\","
  echo "  \"kernelVersion\": \"$KVER\","
  echo "  \"initrdBytes\": $(stat -c %s "$work/initrd.gz"),"
  echo "  \"modules\": [$(for rel in "${ORDER[@]}"; do b=$(basename "$rel"); printf '"%s",' "${b%%.ko*}"; done | sed 's/,$//')],"
  echo "  \"missingOptionalModules\": [$(for m in "${MISSING_OPTIONAL[@]}"; do printf '"%s",' "$m"; done | sed 's/,$//')],"
  echo "  \"packages\": {$(dpkg-query -W -f '"${Package}": "${Version}",' "${PACKAGES[@]}" | sed 's/,$//')},"
  echo "  \"builtAt\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""
  echo '}'
} >"$work/manifest.json"

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$work/$KERNEL_FILE" "$work/initrd.gz" "$work/manifest.json" "$OUT/"
cp "$root/lib/modules/load-order" "$OUT/load-order"
point_current
# keep only the current image and the kernel package
for d in "$CACHE"/*/; do
  d=${d%/}
  [ -L "$d" ] && continue
  case "$(basename "$d")" in "$inputs_hash"|debs) ;; build.*) ;; *) [ -s "$d/manifest.json" ] && rm -rf "$d" ;; esac
done
log "image ready: $OUT ($(($(stat -c %s "$OUT/initrd.gz") / 1024 / 1024)) MB initramfs, kernel $KVER)"
