#!/bin/bash
# make bench: `skiff run --rm bb true` side by side with podman and bwrap (hyperfine), as an
# unprivileged user, on one busybox rootfs; then one SKIFF_TRACE=1 run showing per-step timings.
#   bash test/bench/bench.sh            as root (sets up user skiffbench) or as any user
#   SKIFF_BIN=PATH                      the skiff to measure (default: bin/skiff of this checkout)
#   RUNS=30 WARMUP=3                    hyperfine's runs and warm-up runs
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
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
  id "$BENCH_USER" >/dev/null 2>&1 || useradd -m -d "/home/$BENCH_USER" -s /bin/bash "$BENCH_USER" || die "useradd $BENCH_USER"
  grep -q "^$BENCH_USER:" /etc/subuid || echo "$BENCH_USER:300000:65536" >>/etc/subuid
  grep -q "^$BENCH_USER:" /etc/subgid || echo "$BENCH_USER:300000:65536" >>/etc/subgid
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
    SKIFF_BIN="$WORK/bin/skiff" BENCH_WORK="$WORK" RUNS="$RUNS" WARMUP="$WARMUP" bash "$WORK/bench.sh" --as-user
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

echo "== setup (user $(id -un), skiff $S)"
"$S" rmi -f bb >/dev/null 2>&1
"$S" import "$T" bb >/dev/null || die "skiff import failed"

names=() cmds=()
if out=$("$S" run --rm --network none bb true 2>&1); then
  names+=(skiff) cmds+=("$S run --rm --network none bb true")
else
  echo "skiff run failed, not measured: $out"
fi

if command -v podman >/dev/null; then
  mkdir -p ~/.config/containers
  printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >~/.config/containers/containers.conf
  podman rmi -f bb >/dev/null 2>&1
  if ! out=$(podman import "$T" bb 2>&1); then
    echo "podman import failed, podman not measured: $(echo "$out" | tail -3)"
  elif ! out=$(podman run --rm --network=none bb true 2>&1); then
    echo "podman run failed, podman not measured: $(echo "$out" | tail -3)"
  else
    names+=(podman) cmds+=("podman run --rm --network=none bb true")
  fi
else
  echo "podman is not installed, not measured"
fi

if command -v bwrap >/dev/null; then
  BW="bwrap --unshare-all --die-with-parent --bind $R / --proc /proc --dev /dev true"
  if out=$($BW 2>&1); then
    names+=(bwrap) cmds+=("$BW")
  else
    echo "bwrap failed, not measured: $(echo "$out" | tail -3)"
  fi
else
  echo "bwrap is not installed, not measured"
fi

[ ${#cmds[@]} -gt 0 ] || die "nothing to measure"
J=$W/bench.json
args=()
for i in "${!cmds[@]}"; do args+=(--command-name "${names[$i]}" "${cmds[$i]}"); done
echo "== hyperfine -N -w $WARMUP -r $RUNS"
hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$J" "${args[@]}" || echo "hyperfine failed"

if [ -s "$J" ]; then
  cp "$J" "${BENCH_JSON:-/tmp/skiff-bench-$(id -u).json}" 2>/dev/null && echo "JSON: ${BENCH_JSON:-/tmp/skiff-bench-$(id -u).json}"
  echo "== medians"
  if command -v python3 >/dev/null; then
    python3 - "$J" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print("%-8s %10s %10s %10s %10s" % ("tool", "median ms", "mean ms", "min ms", "max ms"))
for name, r in res.items():
    print("%-8s %10.1f %10.1f %10.1f %10.1f" % (name, r["median"]*1e3, r["mean"]*1e3, r["min"]*1e3, r["max"]*1e3))
med = {k: v["median"] for k, v in res.items()}
def ratio(a, b):
    if a in med and b in med and med[b] > 0:
        print("%s/%s = %.2fx" % (a, b, med[a] / med[b]))
    else:
        print("%s/%s = n/a (%s not measured)" % (a, b, a if a not in med else b))
ratio("skiff", "bwrap")
ratio("podman", "skiff")
PY
  else
    echo "(no python3: medians are in $J)"
  fi
fi

echo "== SKIFF_TRACE=1 skiff run --rm bb true (per-step timings on stderr)"
SKIFF_TRACE=1 "$S" run --rm --network none bb true
echo "exit $?"
exit 0
