#!/bin/bash
# make bench: skiff side by side with podman and bwrap (hyperfine), as an unprivileged user, on
# one busybox rootfs, in one table: run --rm, --version, images (20 images), 20 parallel runs,
# run -d + rm -f, and store growth over many create/remove cycles; then one SKIFF_TRACE=1 run.
# podman runs with runc and cgroupfs from a temporary HOME (nothing of the user's is touched).
#   bash test/bench/bench.sh            as root (sets up user skiffbench) or as any user
#   SKIFF_BIN=PATH                      the skiff to measure (default: bin/skiff of this checkout)
#   RUNS=30 WARMUP=3 ROUNDS=3           hyperfine's runs (over all rounds) and warm-up runs
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-30}
CYCLES=${CYCLES:-1000}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
SELF=$(readlink -f "$0")
MAIN=$(cd "$(dirname "$SELF")/../.." && pwd)
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "bench: $*" >&2; }
die() { echo "bench: FAIL: $*" >&2; exit 1; }

# --- stage 1, as root: tools, user, files readable by the user; then again as the user ---------
if [ "${1:-}" != --as-user ] && [ "$(id -u)" = 0 ]; then
  missing=""
  command -v hyperfine >/dev/null || missing="$missing hyperfine"
  command -v podman >/dev/null || missing="$missing podman"
  command -v runc >/dev/null || missing="$missing runc"
  command -v bwrap >/dev/null || missing="$missing bubblewrap"
  command -v newuidmap >/dev/null || missing="$missing uidmap"
  [ -x /bin/busybox ] || missing="$missing busybox-static"
  if [ -n "$missing" ]; then
    say "installing$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null 2>&1; } ||
      say "apt-get install$missing failed; going on with what is there"
  fi
  . "$MAIN/test/bench/lib.sh"
  ensure_bench_user
  [ -c /dev/net/tun ] && chmod 666 /dev/net/tun
  WORK=$(mktemp -d /var/tmp/skiff-bench-XXXXXX) || die "mktemp"
  chmod 755 "$WORK"
  trap 'rm -rf "$WORK"' EXIT
  bin=${SKIFF_BIN:-$MAIN/bin/skiff}
  [ -x "$bin" ] || die "no skiff binary at $bin (make build first, or set SKIFF_BIN)"
  # the user must reach the binary and its shim: copy them to a 0755 directory
  mkdir -p "$WORK/bin"
  cp "$bin" "$WORK/bin/skiff"
  for f in "$(dirname "$bin")"/*; do [ -f "$f" ] && [ "$f" != "$bin" ] && cp "$f" "$WORK/bin/"; done
  chmod -R a+rX "$WORK/bin"; chmod 755 "$WORK/bin"/*
  cp "$SELF" "$WORK/bench.sh"; chmod 755 "$WORK/bench.sh"
  chown "$BENCH_USER" "$WORK"
  uhome=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  runuser -u "$BENCH_USER" -- env -i HOME="$uhome" PATH="$STDPATH" USER="$BENCH_USER" LOGNAME="$BENCH_USER" \
    SKIFF_BIN="$WORK/bin/skiff" BENCH_WORK="$WORK" RUNS="$RUNS" WARMUP="$WARMUP" ROUNDS="$ROUNDS" CYCLES="$CYCLES" bash "$WORK/bench.sh" --as-user
  exit $?
fi

# --- stage 2, as the unprivileged user ----------------------------------------------------------
[ "$(id -u)" = 0 ] && die "stage 2 must not run as root"
S=${SKIFF_BIN:-$MAIN/bin/skiff}
[ -x "$S" ] || die "no skiff binary at $S (make build first, or set SKIFF_BIN)"
S=$(readlink -f "$S")
if [ -z "${BENCH_WORK:-}" ]; then
  BENCH_WORK=$(mktemp -d /var/tmp/skiff-bench-XXXXXX) || die "mktemp"
  trap 'chmod -R u+w "$BENCH_WORK" 2>/dev/null; rm -rf "$BENCH_WORK"' EXIT
fi
W=$BENCH_WORK/u
mkdir -p "$W" || die "mkdir $W"
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"
[ -x /bin/busybox ] || die "no /bin/busybox (apt-get install busybox-static)"
# both tools keep their stores and configuration in a temporary HOME
export HOME=$W/home XDG_RUNTIME_DIR=$W/run
unset XDG_DATA_HOME XDG_CONFIG_HOME
mkdir -p "$HOME/.config/containers" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >"$HOME/.config/containers/containers.conf"

# the busybox rootfs, as the acceptance checks build it
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n' >"$R/etc/group"
chmod 1777 "$R/tmp"
T=$W/busybox-rootfs.tar
tar --owner=0 --group=0 --numeric-owner -C "$R" -cf "$T" . || die "tar"

echo "== setup (user $(id -un), skiff $S, $(nproc) CPUs, $(uname -r))"
"$S" import "$T" bb >/dev/null || die "skiff import failed"
"$S" run --rm --network none bb true || die "skiff run failed"
# 20 images: the same layer with 20 configs
for i in $(seq 2 20); do "$S" import -c "LABEL n=$i" "$T" "bb$i" >/dev/null || die "skiff import bb$i"; done
PODMAN=""
if command -v podman >/dev/null; then
  if out=$(podman import -q "$T" localhost/bb 2>&1) && out=$(podman run --rm --network=none localhost/bb true 2>&1); then
    PODMAN=podman
    for i in $(seq 2 20); do podman import -q --change "LABEL n=$i" "$T" "localhost/bb$i" >/dev/null 2>&1; done
  else
    echo "podman does not work here, not measured: $(echo "$out" | tail -2)"
  fi
else
  echo "podman is not installed, not measured"
fi
BWRAP=""
BW="bwrap --unshare-all --die-with-parent --bind $R / --proc /proc --dev /dev true"
if command -v bwrap >/dev/null && $BW >/dev/null 2>&1; then BWRAP=bwrap; else echo "bwrap does not work here, not measured"; fi

# hyperfine SCENARIO TOOL COMMAND...: one round of measurements of a tool, JSON in
# $W/h-SCENARIO-TOOL-N.json. The VM's speed drifts over minutes, so each scenario runs in
# ROUNDS rounds that alternate the tools, and the table takes the median of all their runs.
bench() {
  local sc=$1 tool=$2; shift 2
  local n; n=$(ls "$W"/h-"$sc"-"$tool"-*.json 2>/dev/null | wc -l)
  hyperfine -N -w "$WARMUP" -r "$(( (RUNS + ROUNDS - 1) / ROUNDS ))" --export-json "$W/h-$sc-$tool-$n.json" "$@" >/dev/null 2>&1 ||
    echo "hyperfine $sc $tool failed"
}
# the wall time of 20 runs at once, and how many failed
parallel() {
  local tool=$1; shift
  local start end fails=0 pids=()
  start=$(date +%s%N)
  for i in $(seq 20); do "$@" >/dev/null 2>&1 & pids+=($!); done
  for j in "${pids[@]}"; do wait "$j" || fails=$((fails + 1)); done
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000 )) $fails" >>"$W/par-$tool.txt"
}

echo "== measuring (hyperfine -N -w $WARMUP -r $RUNS)"
for round in $(seq "$ROUNDS"); do
  bench run skiff "$S run --rm --network none bb true"
  [ -n "$PODMAN" ] && bench run podman "podman run --rm --network=none localhost/bb true"
  [ -n "$BWRAP" ] && bench run bwrap "$BW"
  bench version skiff "$S --version"
  [ -n "$PODMAN" ] && bench version podman "podman --version"
  [ -n "$BWRAP" ] && bench version bwrap "bwrap --version"
  bench images skiff "$S images"
  [ -n "$PODMAN" ] && bench images podman "podman images"
done
for r in 1 2 3 4 5; do
  parallel skiff "$S" run --rm --network none bb true
  [ -n "$PODMAN" ] && parallel podman podman run --rm --network=none localhost/bb true
done
[ -n "$BWRAP" ] && for r in 1 2 3 4 5; do parallel bwrap $BW; done
for round in $(seq "$ROUNDS"); do
  bench detach skiff "bash -c '$S rm -f \$($S run -d --network none bb sleep 100)'"
  [ -n "$PODMAN" ] && bench detach podman "bash -c 'podman rm -f -t0 \$(podman run -d --network=none localhost/bb sleep 100)'"
done

# store growth: CYCLES runs with --rm, then CYCLES/10 named runs removed with rm
store=$HOME/.local/share/skiff/storage
# the median of 11 runs of ps -a, in microseconds (one run is at the mercy of the VM's noise)
ps_ms() {
  local i s e
  for i in $(seq 11); do s=$(date +%s%N); "$S" ps -a >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done |
    sort -n | sed -n 6p
}
# ps first: like every command, it sweeps what the last rm left for it (a removed container's
# few directories)
ps0=$(ps_ms); size0=$(du -sk "$store" | cut -f1); files0=$(find "$store" | wc -l)
for i in $(seq "$CYCLES"); do "$S" run --rm --network none bb true || echo "cycle $i failed"; done
for i in $(seq $((CYCLES / 10))); do "$S" run --name "c$i" --network none bb true && "$S" rm "c$i" >/dev/null || echo "named cycle $i failed"; done
ps1=$(ps_ms); size1=$(du -sk "$store" | cut -f1); files1=$(find "$store" | wc -l)
mounts=$(grep -c "$store" /proc/self/mountinfo)
echo "$CYCLES $size0 $size1 $files0 $files1 $ps0 $ps1 $mounts" >"$W/growth.txt"

J=${BENCH_JSON:-/tmp/skiff-bench-$(id -u).json}
python3 - "$W" "$J" <<'PY'
import glob, json, os, statistics, sys
w, out = sys.argv[1], sys.argv[2]
def med(sc, tool):
    times = []
    for p in glob.glob(os.path.join(w, f"h-{sc}-{tool}-*.json")):
        times += json.load(open(p))["results"][0]["times"]
    return statistics.median(times) * 1e3 if times else None
def par(tool):
    p = os.path.join(w, f"par-{tool}.txt")
    if not os.path.exists(p):
        return None, None
    rows = [l.split() for l in open(p)]
    return statistics.median(int(r[0]) for r in rows) / 1e3, sum(int(r[1]) for r in rows)
rows, data = [], {}
def row(name, s, p, b, goal):
    data[name] = {"skiff_ms": s, "podman_ms": p, "bwrap_ms": b}
    f = lambda x: "%9.1f" % x if x is not None else "      n/a"
    r1 = "%7.2fx" % (s / b) if s and b else "     n/a"
    r2 = "%7.1fx" % (p / s) if s and p else "     n/a"
    rows.append("%-26s %s %s %s %s %s   %s" % (name, f(s), f(p), f(b), r1, r2, goal))
row("run --rm (median ms)", med("run", "skiff"), med("run", "podman"), med("run", "bwrap"), "skiff/bwrap <= 2, podman/skiff >= 18")
row("--version", med("version", "skiff"), med("version", "podman"), med("version", "bwrap"), "skiff < 10 ms")
row("images (20 images)", med("images", "skiff"), med("images", "podman"), None, "skiff < 10 ms")
(ps, pf), (pp, ppf), (pb, pbf) = par("skiff"), par("podman"), par("bwrap")
row("20 parallel run --rm (wall)", ps, pp, pb, "skiff <= podman/10, 0 failures (skiff %s, podman %s)" % (pf, ppf))
row("run -d + rm -f", med("detach", "skiff"), med("detach", "podman"), None, "skiff <= podman/10")
print("%-26s %9s %9s %9s %8s %8s   %s" % ("scenario", "skiff", "podman", "bwrap", "s/bwrap", "podman/s", "goal"))
print("\n".join(rows))
g = open(os.path.join(w, "growth.txt")).read().split()
cycles, s0, s1, f0, f1, p0, p1, mounts = (int(x) for x in g)
print(f"store growth over {cycles} run --rm and {cycles//10} run+rm: {s0} -> {s1} KiB, {f0} -> {f1} files, "
      f"ps -a {p0/1e3:.1f} -> {p1/1e3:.1f} ms, {mounts} mounts of the store left")
data["growth"] = {"cycles": cycles, "kib_before": s0, "kib_after": s1, "files_before": f0, "files_after": f1,
                  "ps_ms_before": p0 / 1e3, "ps_ms_after": p1 / 1e3, "mounts_left": mounts,
                  "parallel_failures": {"skiff": pf, "podman": ppf}}
json.dump(data, open(out, "w"), indent=2)
print("JSON:", out)
PY

echo "== SKIFF_TRACE=1 skiff run --rm bb true (per-step timings on stderr)"
SKIFF_TRACE=1 "$S" run --rm --network none bb true
echo "exit $?"
exit 0
