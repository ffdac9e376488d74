#!/usr/bin/env bash
# make demo: build a busybox image from Debian's busybox-static and run it.
# Runs as the invoking user (SUDO_USER under sudo); as plain root it runs as root and then as an
# unprivileged demo user with subordinate ids, to show the rootless path.
set -euo pipefail
SKIFF=${1:?usage: demo.sh PATH-TO-SKIFF}
work=$(mktemp -d /var/tmp/skiff-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# a busybox root file system: the static binary and a link per applet
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
tar -C "$root" -cf "$work/busybox.tar" .
chmod 644 "$work/busybox.tar"

bindir=$(dirname "$(readlink -f "$SKIFF")")
demo() { # demo USER: run the demo as USER (or as the current user when empty)
  local as=()
  if [ -n "$1" ]; then
    cp -r "$bindir" "$work/bin" 2>/dev/null || true
    chmod -R a+rX "$work/bin"
    as=(runuser -u "$1" -- env HOME="$(getent passwd "$1" | cut -d: -f6)" PATH=/usr/sbin:/usr/bin:/sbin:/bin)
    SKIFF_RUN=$work/bin/skiff
  else
    SKIFF_RUN=$SKIFF
  fi
  echo "== as ${1:-$(id -un)}: skiff import busybox.tar busybox"
  "${as[@]}" "$SKIFF_RUN" import -q "$work/busybox.tar" busybox >/dev/null
  echo "== as ${1:-$(id -un)}: skiff run --rm busybox echo hello"
  "${as[@]}" "$SKIFF_RUN" run --rm busybox echo hello
}

if [ "$(id -u)" != 0 ]; then
  demo ""
elif [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  demo "$SUDO_USER"
else
  demo ""
  user=skiffdemo
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
  grep -q "^$user:" /etc/subuid || echo "$user:400000:65536" >>/etc/subuid
  grep -q "^$user:" /etc/subgid || echo "$user:400000:65536" >>/etc/subgid
  demo "$user"
fi
