#!/bin/bash
# make bench, part 2: pulls from a local registry (Debian's docker-registry on 127.0.0.1), skiff
# vs podman side by side (hyperfine), as an unprivileged user: a busybox image and a Debian image
# made with debootstrap, each cold (nothing in the store) and as a no-op (everything present).
#   bash test/bench/pull.sh            as root (sets up user skiffbench, the registry, the images)
#   SKIFF_BIN=PATH RUNS=10             the skiff to measure; hyperfine runs for the small cases
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-10}
SELF=$(readlink -f "$0")
MAIN=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${SKIFF_BENCH_CACHE:-/var/tmp/skiff-bench-cache}
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "bench-pull: $*" >&2; }
die() { echo "bench-pull: FAIL: $*" >&2; exit 1; }

if [ "${1:-}" != --as-user ]; then
  [ "$(id -u)" = 0 ] || die "run as root: it starts a registry and makes a bench user"
  . "$MAIN/test/bench/lib.sh"
  install_missing hyperfine podman runc docker-registry debootstrap uidmap busybox-static
  ensure_bench_user
  # the root file systems: busybox (static binary + applet links) and Debian (debootstrap, cached)
  ensure_busybox_tar
  if [ ! -s "$CACHE/debian.tar" ]; then
    say "debootstrap --variant=minbase bookworm (once; cached in $CACHE)"
    rm -rf "$CACHE/debian-root"
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    debootstrap --variant=minbase bookworm "$CACHE/debian-root" "${mirror:-http://deb.debian.org/debian}" >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed: $(tail -2 "$CACHE/debootstrap.log")"
    tar -C "$CACHE/debian-root" -cf "$CACHE/debian.tar.tmp" . && mv "$CACHE/debian.tar.tmp" "$CACHE/debian.tar"
  fi
  chmod 755 "$CACHE"; chmod 644 "$CACHE"/*.tar
  WORK=$(mktemp -d /var/tmp/skiff-bench-pull-XXXXXX) || die mktemp
  chmod 755 "$WORK"
  copy_skiff "$WORK"
  cp "$SELF" "$WORK/pull.sh"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/registry"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\nlog:\n  level: error\n' \
    "$WORK/registry" "$port" >"$WORK/registry.yml"
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  rpid=$!
  trap 'kill $rpid 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  chown -R "$BENCH_USER" "$WORK"
  uhome=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  runuser -u "$BENCH_USER" -- env -i HOME="$uhome" PATH="$STDPATH" USER="$BENCH_USER" LOGNAME="$BENCH_USER" \
    SKIFF_BIN="$WORK/bin/skiff" WORK="$WORK" REG="127.0.0.1:$port" CACHE="$CACHE" RUNS="$RUNS" bash "$WORK/pull.sh" --as-user
  exit $?
fi

# --- as the unprivileged user -------------------------------------------------------------------
S=$SKIFF_BIN
cd "$WORK" || die "cd $WORK"
mkdir -p ~/.config/containers
printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >~/.config/containers/containers.conf
# the images in the registry, pushed by skiff from its default store
for img in busybox:1 debian:12; do
  name=${img%%:*}
  "$S" import -q "$CACHE/$name.tar" "bench-$name" >/dev/null || die "import $name"
  "$S" push -q --tls-verify=false "bench-$name" "$REG/bench/$img" || die "push $name"
done
PS="$S --root $WORK/pull-store"  # a store of its own: cold means cold
# podman too: with its usual store, layers an older image still holds would not be pulled again
PP="podman --root $WORK/podman-store --runroot $WORK/podman-run"
bb=$REG/bench/busybox:1 deb=$REG/bench/debian:12
out=$WORK/pull.json
hyperfine -N --export-json "$out.1" -r "$RUNS" -w 1 \
  --prepare "$PS rmi -f $bb" -n "skiff cold busybox" "$PS pull -q --tls-verify=false $bb" \
  --prepare "$PP rmi -f $bb" -n "podman cold busybox" "$PP pull -q --tls-verify=false $bb" >&2 || die "hyperfine busybox"
hyperfine -N --export-json "$out.2" -r 5 -w 1 \
  --prepare "$PS rmi -f $deb" -n "skiff cold debian" "$PS pull -q --tls-verify=false $deb" \
  --prepare "$PP rmi -f $deb" -n "podman cold debian" "$PP pull -q --tls-verify=false $deb" >&2 || die "hyperfine debian"
hyperfine -N --export-json "$out.3" -r "$((RUNS * 2))" -w 2 \
  -n "skiff no-op busybox" "$PS pull -q --tls-verify=false $bb" \
  -n "podman no-op busybox" "$PP pull -q --tls-verify=false $bb" \
  -n "skiff no-op debian" "$PS pull -q --tls-verify=false $deb" \
  -n "podman no-op debian" "$PP pull -q --tls-verify=false $deb" >&2 || die "hyperfine no-op"
python3 - "$out.1" "$out.2" "$out.3" <<'PY'
import json, sys
med = {}
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        med[r["command"]] = r["median"] * 1000
print("== pull from a local registry (medians, ms; rootless)")
print(f"{'case':<10}{'image':<9}{'skiff':>10}{'podman':>10}{'podman/skiff':>14}")
for case in ("cold", "no-op"):
    for img in ("busybox", "debian"):
        s, p = med[f"skiff {case} {img}"], med[f"podman {case} {img}"]
        print(f"{case:<10}{img:<9}{s:>10.1f}{p:>10.1f}{p/s:>13.2f}x")
PY
