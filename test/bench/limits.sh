#!/bin/bash
# make bench, part 5: the price of resource limits. `run --rm` with --memory 64m --pids-limit 100
# against the same run without, rootless (skiff on the subtree `skiff system cgroups delegate`
# hands the bench user) and as root, skiff beside podman as root (hyperfine medians).
#   bash test/bench/limits.sh          as root (installs podman, hyperfine; makes the bench user)
#   SKIFF_BIN=PATH RUNS=20
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-20}
SELF=$(readlink -f "$0")
MAIN=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${SKIFF_BENCH_CACHE:-/var/tmp/skiff-bench-cache}
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "bench-limits: $*" >&2; }
die() { echo "bench-limits: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: it delegates cgroups and runs podman as root"
. "$MAIN/test/bench/lib.sh"
install_missing hyperfine podman runc uidmap busybox-static
ensure_bench_user
ensure_busybox_tar
chmod 755 "$CACHE"; chmod 644 "$CACHE"/*.tar
WORK=$(mktemp -d /var/tmp/skiff-bench-limits-XXXXXX) || die mktemp
chmod 755 "$WORK"
trap 'rm -rf "$WORK" 2>/dev/null' EXIT
copy_skiff "$WORK"
S="$WORK/bin/skiff"
"$S" system cgroups delegate "$BENCH_USER" >/dev/null || die "skiff system cgroups delegate $BENCH_USER"
uhome=$(getent passwd "$BENCH_USER" | cut -d: -f6)
as_user() { runuser -u "$BENCH_USER" -- env -i HOME="$uhome" PATH="$STDPATH" USER="$BENCH_USER" LOGNAME="$BENCH_USER" XDG_RUNTIME_DIR="$WORK/xdg" bash -c "$*"; }
mkdir -p "$WORK/xdg" "$WORK/user-root" && chown "$BENCH_USER" "$WORK/xdg" "$WORK/user-root" && chmod 700 "$WORK/xdg"
US="$S --root $WORK/user-root"; RS="$S --root $WORK/root-root"
as_user "$US import -q $CACHE/busybox.tar benchbb" >/dev/null || die "skiff import (rootless)"
$RS import -q "$CACHE/busybox.tar" benchbb >/dev/null || die "skiff import (root)"
# podman as root, in stores and a configuration of its own (runc, cgroupfs); --ulimit host
# because root here cannot raise a hard rlimit, which podman's defaults would (runc still sets
# RLIMIT_NPROC on this machine and fails: then podman is reported as not measured, with its error)
export CONTAINERS_CONF="$WORK/containers.conf"
printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >"$CONTAINERS_CONF"
P="podman --root $WORK/podman-root --runroot $WORK/podman-run"
PODMAN=1
$P import -q "$CACHE/busybox.tar" localhost/benchbb >/dev/null 2>&1 &&
  $P run --rm --ulimit host --network none --memory 64m --pids-limit 100 localhost/benchbb true >/dev/null 2>&1 ||
  { PODMAN=; say "podman as root does not run here: not measured ($($P run --rm --ulimit host --network none localhost/benchbb true 2>&1 | tail -1))"; }
LIM="--memory 64m --pids-limit 100"
as_user "hyperfine -N -w 3 -r $RUNS --export-json $WORK/xdg/user.json \
  -n 'rootless skiff' '$US run --rm --network none benchbb true' \
  -n 'rootless skiff limits' '$US run --rm --network none $LIM benchbb true'" >/dev/null 2>"$WORK/err" || die "hyperfine (rootless): $(tail -3 "$WORK/err")"
cmds=(-n "root skiff" "$RS run --rm --network none benchbb true" -n "root skiff limits" "$RS run --rm --network none $LIM benchbb true")
[ -n "$PODMAN" ] && cmds+=(-n "root podman" "$P run --rm --ulimit host --network none localhost/benchbb true"
  -n "root podman limits" "$P run --rm --ulimit host --network none $LIM localhost/benchbb true")
(cd /tmp && hyperfine -N -w 3 -r "$RUNS" --export-json "$WORK/root.json" "${cmds[@]}" >/dev/null 2>&1) || die "hyperfine (root)"
$P rm -fa >/dev/null 2>&1; rm -rf "$WORK/podman-root" 2>/dev/null
python3 - "$WORK/xdg/user.json" "$WORK/root.json" <<'PY'
import json, sys
med = {}
for f in sys.argv[1:]:
    med.update({r["command"]: r["median"] * 1000 for r in json.load(open(f))["results"]})
print("== resource limits: run --rm with --memory 64m --pids-limit 100 against without (medians, ms)")
print(f"{'case':<22}{'without':>10}{'limits':>10}{'ratio':>8}   goal")
for who in ["rootless skiff", "root skiff", "root podman"]:
    a, b = med.get(who), med.get(who + " limits")
    if a and b:
        goal = "<= 1.2" if "skiff" in who else ""
        print(f"{who:<22}{a:>10.1f}{b:>10.1f}{b/a:>8.2f}   {goal}")
    else:
        print(f"{who:<22}{'n/a':>10}{'n/a':>10}{'':>8}")
PY
