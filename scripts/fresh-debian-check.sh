#!/usr/bin/env bash
# Acceptance check: runs the README's two quick-start commands from a fresh clone inside a fresh
# Debian 12 root made with debootstrap (no container engine needed). Needs root and network access
# to a Debian mirror. Usage:
#   scripts/fresh-debian-check.sh WORKDIR [MIRROR]
# WORKDIR/base is the pristine debootstrap (made once and reused); every run copies it to
# WORKDIR/root, clones this repository's HEAD into it and runs the commands there. The transcript is
# written to WORKDIR/transcript.log.
set -euo pipefail
work=${1:?usage: fresh-debian-check.sh WORKDIR [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap
fi
if [ ! -x "$work/base/bin/bash" ]; then
  debootstrap --variant=minbase bookworm "$work/base" "$mirror"
fi

root="$work/root"
cleanup() {
  for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
rm -rf "$root"
cp -a "$work/base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

# A fresh clone of the committed HEAD (git is not in the fresh root; clone outside, copy in).
git clone -q --no-hardlinks "$repo" "$root/root/wattson"
if [ -d "$repo/../shared" ]; then
  echo "(../shared exists beside the repo here; it is NOT copied into the fresh root)"
fi

log="$work/transcript.log"
: >"$log"
run() {
  echo "### $*" | tee -a "$log"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb /bin/bash -c "$*" 2>&1 | tee -a "$log"
  return "${PIPESTATUS[0]}"
}
run 'cat /etc/debian_version; for t in cmake g++ clang; do command -v $t || echo "$t: not installed"; done'
run 'cd /root/wattson && ./scripts/test.sh'
run 'cd /root/wattson && ./scripts/run.sh --version'
echo "fresh-debian-check: both commands succeeded; transcript in $log"
