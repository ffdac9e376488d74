#!/bin/bash
# make bench, part 4: networking, as an unprivileged user.
#  - run --rm with the default network (pasta) vs --network none, skiff and podman (hyperfine)
#  - run --rm with --network slirp4netns (skiff), which is podman 4.3's default here
#  - throughput of a published TCP port: a file of SIZE_MB served by busybox httpd in the
#    container, fetched by curl on the host through -p 127.0.0.1:PORT:80 (median of 3), skiff vs
#    podman. Debian's podman 4.3 has no pasta support: it publishes through slirp4netns and
#    rootlesskit's port driver (its rootlessport). skiff is measured both ways: with pasta (its
#    default) and with --network slirp4netns, which uses the same two helpers as podman.
#   bash test/bench/net.sh             as root (installs podman, curl; makes the bench user)
#   SKIFF_BIN=PATH RUNS=20 SIZE_MB=300
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-20}
SIZE_MB=${SIZE_MB:-300}
SELF=$(readlink -f "$0")
MAIN=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${SKIFF_BENCH_CACHE:-/var/tmp/skiff-bench-cache}
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "bench-net: $*" >&2; }
die() { echo "bench-net: FAIL: $*" >&2; exit 1; }

if [ "${1:-}" != --as-user ]; then
  [ "$(id -u)" = 0 ] || die "run as root: it installs podman and makes a bench user"
  . "$MAIN/test/bench/lib.sh"
  install_missing hyperfine podman runc slirp4netns passt uidmap busybox-static curl
  [ -c /dev/net/tun ] && chmod 666 /dev/net/tun
  ensure_bench_user
  ensure_busybox_tar
  chmod 755 "$CACHE"; chmod 644 "$CACHE"/*.tar
  WORK=$(mktemp -d /var/tmp/skiff-bench-net-XXXXXX) || die mktemp
  chmod 755 "$WORK"
  trap 'rm -rf "$WORK" 2>/dev/null' EXIT
  copy_skiff "$WORK"
  cp "$SELF" "$WORK/net.sh"
  chown -R "$BENCH_USER" "$WORK"
  uhome=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  runuser -u "$BENCH_USER" -- env -i HOME="$uhome" PATH="$STDPATH" USER="$BENCH_USER" LOGNAME="$BENCH_USER" \
    XDG_RUNTIME_DIR="$WORK/xdg" SKIFF_BIN="$WORK/bin/skiff" WORK="$WORK" CACHE="$CACHE" RUNS="$RUNS" SIZE_MB="$SIZE_MB" \
    bash "$WORK/net.sh" --as-user
  rc=$?
  runuser -u "$BENCH_USER" -- podman --root "$WORK/podman-root" --runroot "$WORK/podman-run" unshare rm -rf "$WORK/podman-root" 2>/dev/null
  exit $rc
fi

# --- as the unprivileged user -------------------------------------------------------------------
S="$SKIFF_BIN --root $WORK/skiff-root"
mkdir -p "$WORK/xdg" "$WORK/www" ~/.config/containers && chmod 700 "$WORK/xdg"
# podman configured for this host in a config of its own (runc, cgroupfs), its store in WORK
export CONTAINERS_CONF="$WORK/containers.conf"
printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >"$CONTAINERS_CONF"
P="podman --root $WORK/podman-root --runroot $WORK/podman-run"
$S import -q "$CACHE/busybox.tar" benchbb >/dev/null || die "skiff import"
PODMAN=1
$P import -q "$CACHE/busybox.tar" localhost/benchbb >/dev/null 2>&1 && $P run --rm localhost/benchbb true >/dev/null 2>&1 || { PODMAN=; say "podman does not run here: not measured"; }

out=$WORK/run.json
cmds=(-n "skiff none" "$S run --rm --network none benchbb true" -n "skiff default" "$S run --rm benchbb true"
  -n "skiff slirp4netns" "$S run --rm --network slirp4netns benchbb true")
[ -n "$PODMAN" ] && cmds+=(-n "podman none" "$P run --rm --network=none localhost/benchbb true" -n "podman default" "$P run --rm localhost/benchbb true")
hyperfine -N -w 3 -r "$RUNS" --export-json "$out" "${cmds[@]}" >/dev/null 2>&1 || die "hyperfine run"

# throughput: the same file through each tool's published port
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero >"$WORK/www/big" && chmod -R a+rX "$WORK/www"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
speed() { # TOOL: MB/s of three fetches, median
  local i v
  for i in 1 2 3; do
    v=$(curl -s -o /dev/null -m 120 -w '%{speed_download}' "http://127.0.0.1:$port/big") || v=0
    echo "$v"
  done | sort -n | sed -n 2p
}
wait_port() { local i; for i in $(seq 100); do curl -fs -o /dev/null -m 1 -r 0-0 "http://127.0.0.1:$port/big" && return 0; sleep 0.1; done; return 1; }
$S run -d --name netbench -p "127.0.0.1:$port:80" -v "$WORK/www:/www:ro" benchbb httpd -f -p 80 -h /www >/dev/null || die "skiff run -p"
wait_port || die "skiff's published port does not answer"
ss=$(speed); $S rm -f netbench >/dev/null
$S run -d --name netbench --network slirp4netns -p "127.0.0.1:$port:80" -v "$WORK/www:/www:ro" benchbb httpd -f -p 80 -h /www >/dev/null || die "skiff run --network slirp4netns -p"
wait_port || die "skiff's published port (slirp4netns) does not answer"
sl=$(speed); $S rm -f netbench >/dev/null
ps_=0
if [ -n "$PODMAN" ]; then
  $P run -d --name netbench -p "127.0.0.1:$port:80" -v "$WORK/www:/www:ro" localhost/benchbb httpd -f -p 80 -h /www >/dev/null 2>&1 &&
    wait_port && ps_=$(speed)
  $P rm -f -t0 netbench >/dev/null 2>&1
fi
python3 - "$out" "$ss" "$ps_" "$SIZE_MB" "$sl" <<'PY'
import json, sys
med = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
ss, ps, size, sl = float(sys.argv[2]) / 1e6, float(sys.argv[3]) / 1e6, sys.argv[4], float(sys.argv[5]) / 1e6
print("== networking (rootless; medians)")
print(f"{'case':<34}{'skiff':>10}{'podman':>10}   goal")
def g(k): return med.get(k)
f = lambda x: f"{x:>10.1f}" if x else f"{'n/a':>10}"
print(f"{'run --rm, --network none (ms)':<34}{f(g('skiff none'))}{f(g('podman none'))}")
print(f"{'run --rm, default network (ms)':<34}{f(g('skiff default'))}{f(g('podman default'))}")
r = lambda a, b: f"{a/b:>10.2f}" if a and b else f"{'n/a':>10}"
print(f"{'default / none':<34}{r(g('skiff default'), g('skiff none'))}{r(g('podman default'), g('podman none'))}   skiff <= 1.5")
print(f"{'run --rm, slirp4netns (ms)':<34}{f(g('skiff slirp4netns'))}{f(g('podman default'))}   (podman's default is slirp4netns)")
port = f"published TCP port, {size} MB"
print(f"{port + ' (MB/s)':<34}{f(ss)}{f(ps)}   skiff (pasta) / podman {ss/ps:.2f}" if ps else f"{port + ' (MB/s)':<34}{f(ss)}{'n/a':>10}")
print(f"{'  same helpers: slirp4netns':<34}{f(sl)}{f(ps)}   skiff/podman {sl/ps:.2f} (slirp4netns + rootlesskit's port driver)" if ps else
      f"{'  same helpers: slirp4netns':<34}{f(sl)}{'n/a':>10}")
PY
