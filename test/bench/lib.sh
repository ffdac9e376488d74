# Set-up shared by the benchmark scripts' root stage (sourced; the script defines say and die).

# install_missing installs the Debian packages of its arguments that are missing.
install_missing() {
  local p missing=""
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  say "installing$missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null 2>&1; } ||
    die "apt-get install$missing failed"
}

# ensure_bench_user makes the unprivileged user $BENCH_USER with subordinate ids.
ensure_bench_user() {
  id "$BENCH_USER" >/dev/null 2>&1 || useradd -m -d "/home/$BENCH_USER" -s /bin/bash "$BENCH_USER" || die "useradd $BENCH_USER"
  grep -q "^$BENCH_USER:" /etc/subuid || echo "$BENCH_USER:300000:65536" >>/etc/subuid
  grep -q "^$BENCH_USER:" /etc/subgid || echo "$BENCH_USER:300000:65536" >>/etc/subgid
}

# ensure_busybox_tar makes $CACHE/busybox.tar (the static busybox and its applet links) once.
ensure_busybox_tar() {
  mkdir -p "$CACHE"
  if [ ! -s "$CACHE/busybox.tar" ]; then
    local r a
    r=$(mktemp -d); mkdir -p "$r"/{bin,etc,tmp,root,proc,sys,dev}
    cp /bin/busybox "$r/bin/"; for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
    tar -C "$r" -cf "$CACHE/busybox.tar" . && rm -rf "$r"
  fi
}

# copy_skiff copies the skiff binaries (${SKIFF_BIN:-$MAIN/bin/skiff} and its helpers) to
# $1/bin, where the bench user can run them.
copy_skiff() {
  local bin=${SKIFF_BIN:-$MAIN/bin/skiff}
  [ -x "$bin" ] || die "no skiff binary at $bin (make build first)"
  mkdir -p "$1/bin"; cp "$(dirname "$bin")"/skiff* "$1/bin/"; chmod -R a+rX "$1/bin"
}
