#!/bin/sh
# Runs once as busybox init's sysinit inside each director VM: mounts, modules, eth0/eth1,
# sshd. Per-VM settings come from /etc/lab/config, appended to the initramfs by lab.ts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/sshd /run/netns /run/lab /run/keepalived

LAB_NAME=director LAB_LINK_V4= LAB_LINK_V6=
[ -r /etc/lab/config ] && . /etc/lab/config
hostname "$LAB_NAME"
up() { read -r u _ </proc/uptime; echo "lab: $LAB_NAME: $* (uptime $u)"; }
up "loading modules"

while read -r m; do
  [ -n "$m" ] || continue
  insmod "/lib/modules/$m" 2>/tmp/insmod.err || echo "lab: insmod $m failed: $(cat /tmp/insmod.err)"
done </lib/modules/load-order

up "modules loaded"
sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
ip link set lo up
# eth0: QEMU user network (restrict=on), only for the host's forwarded ssh port; no default route
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
if [ -n "$LAB_LINK_V4" ]; then
  if [ -e /sys/class/net/eth1 ]; then
    ip link set eth1 up
    ip addr add "$LAB_LINK_V4" dev eth1
    [ -n "$LAB_LINK_V6" ] && ip -6 addr add "$LAB_LINK_V6" dev eth1 nodad
  else
    echo "lab: $LAB_NAME: eth1 missing"
  fi
fi
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

up "network up"
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
/usr/sbin/sshd -E /run/lab/sshd.log || echo "lab: $LAB_NAME: sshd failed"
echo "LAB-READY $LAB_NAME uptime=$(cut -d' ' -f1 /proc/uptime)"
