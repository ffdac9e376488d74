#!/bin/bash
# make bench, part 3: a 10-step Dockerfile on busybox, skiff build vs buildah bud side by side
# (hyperfine), as an unprivileged user: cold (no cache: --no-cache for skiff, a fresh store for
# buildah's --layers cache) and fully cached.
#   bash test/bench/build.sh           as root (installs buildah, makes the bench user)
#   SKIFF_BIN=PATH RUNS=5              the skiff to measure; hyperfine runs per case
set -u
BENCH_USER=${BENCH_USER:-skiffbench}
RUNS=${RUNS:-5}
SELF=$(readlink -f "$0")
MAIN=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${SKIFF_BENCH_CACHE:-/var/tmp/skiff-bench-cache}
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "bench-build: $*" >&2; }
die() { echo "bench-build: FAIL: $*" >&2; exit 1; }

if [ "${1:-}" != --as-user ]; then
  [ "$(id -u)" = 0 ] || die "run as root: it installs buildah and makes a bench user"
  . "$MAIN/test/bench/lib.sh"
  install_missing hyperfine buildah uidmap busybox-static
  ensure_bench_user
  ensure_busybox_tar
  chmod 755 "$CACHE"; chmod 644 "$CACHE"/*.tar
  WORK=$(mktemp -d /var/tmp/skiff-bench-build-XXXXXX) || die mktemp
  chmod 755 "$WORK"
  trap 'rm -rf "$WORK" 2>/dev/null' EXIT
  copy_skiff "$WORK"
  cp "$SELF" "$WORK/build.sh"
  chown -R "$BENCH_USER" "$WORK"
  uhome=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  runuser -u "$BENCH_USER" -- env -i HOME="$uhome" PATH="$STDPATH" USER="$BENCH_USER" LOGNAME="$BENCH_USER" \
    SKIFF_BIN="$WORK/bin/skiff" WORK="$WORK" CACHE="$CACHE" RUNS="$RUNS" bash "$WORK/build.sh" --as-user
  rc=$?
  # buildah's store holds files of subordinate ids: remove it inside the user's namespace
  runuser -u "$BENCH_USER" -- buildah unshare rm -rf "$WORK/buildah-root" 2>/dev/null
  exit $rc
fi

# --- as the unprivileged user -------------------------------------------------------------------
S=$SKIFF_BIN
cd "$WORK" || die "cd $WORK"
mkdir -p ctx ~/.config/containers
printf '[engine]\nruntime="runc"\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' >~/.config/containers/containers.conf
for i in 1 2 3; do echo "file $i" >"ctx/f$i.txt"; done
cat >ctx/Dockerfile <<'DF'
FROM localhost/benchbb
ARG GREETING=hi
ENV APP=/app
WORKDIR /app
COPY f1.txt f2.txt ./
RUN echo $GREETING > greet && cat f1.txt f2.txt > both
COPY f3.txt /app/
RUN mkdir -p /out && cp /app/* /out/
LABEL bench=build
USER 1000
CMD ["cat", "/out/both"]
DF
SR="$S --root $WORK/skiff-root"
BR="buildah --root $WORK/buildah-root --runroot $WORK/buildah-run --storage-driver overlay"
$SR import -q "$CACHE/busybox.tar" benchbb >/dev/null || die "skiff import"
# no registry here: buildah takes the same image from an archive skiff saves
$SR save -o "$WORK/bb.tar" benchbb >/dev/null 2>&1 || die "skiff save"
$BR pull -q "docker-archive:$WORK/bb.tar" >/dev/null 2>&1 || $BR pull -q "oci-archive:$WORK/bb.tar" >/dev/null || die "buildah pull of the archive"
$BR tag "$($BR images -q | head -1)" localhost/benchbb >/dev/null 2>&1 || die "buildah tag"
out=$WORK/build.json
hyperfine -N --export-json "$out.1" -r "$RUNS" -w 1 \
  -n "skiff cold" "$SR build -q --no-cache -t benchimg ctx" \
  -n "buildah cold" "$BR bud -q --layers --no-cache -t benchimg ctx" >&2 || die "hyperfine cold"
hyperfine -N --export-json "$out.2" -r "$((RUNS * 2))" -w 1 \
  -n "skiff cached" "$SR build -q -t benchimg ctx" \
  -n "buildah cached" "$BR bud -q --layers -t benchimg ctx" >&2 || die "hyperfine cached"
python3 - "$out.1" "$out.2" <<'PY'
import json, sys
med = {}
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        med[r["command"]] = r["median"] * 1000
print("== build of a 10-step Dockerfile on busybox (medians, ms; rootless)")
print(f"{'case':<10}{'skiff':>10}{'buildah':>10}{'skiff/buildah':>15}   goal")
goals = {"cold": "skiff/buildah <= 1", "cached": "skiff/buildah <= 0.1"}
for case in ("cold", "cached"):
    s, b = med[f"skiff {case}"], med[f"buildah {case}"]
    print(f"{case:<10}{s:>10.1f}{b:>10.1f}{s/b:>14.3f}    {goals[case]}")
PY
