#!/usr/bin/env bash
# A real S3 server for development and tests: a single-node Ceph cluster (mon + memstore OSD + RADOS Gateway).
#
#   bash scripts/services/s3.sh start    install Ceph if missing, start it, print the env (idempotent)
#   bash scripts/services/s3.sh env      print S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY lines (if running)
#   bash scripts/services/s3.sh status   exit 0 when the gateway answers, 1 otherwise
#   bash scripts/services/s3.sh stop     stop the daemons and remove the cluster's folder
#
# Why Ceph: no MinIO server can be installed on these machines (not in Debian, not on npm); Ceph's RADOS Gateway
# from Debian is a real S3 implementation (multipart, POST policies, ranges, batch delete). See ENVIRONMENT.md.
# memstore keeps objects in RAM, so a stopped cluster is gone: `start` after a crash builds a fresh one.
#
# Settings (environment): CRUCIBLE_CEPH_DIR (/tmp/crucible-ceph), CRUCIBLE_S3_PORT (7480),
# CRUCIBLE_S3_ACCESS_KEY / CRUCIBLE_S3_SECRET_KEY (fixed dev keys below; the server listens on 127.0.0.1 only).
# Log lines go to stderr; stdout carries only the env lines, so `eval "$(bash s3.sh start)"` or
# `bash s3.sh env > .s3.env` work.
set -euo pipefail

DIR="${CRUCIBLE_CEPH_DIR:-/tmp/crucible-ceph}"
PORT="${CRUCIBLE_S3_PORT:-7480}"
MON_PORT="${CRUCIBLE_CEPH_MON_PORT:-6789}"
ACCESS_KEY="${CRUCIBLE_S3_ACCESS_KEY:-crucible-dev-access}"
SECRET_KEY="${CRUCIBLE_S3_SECRET_KEY:-crucible-dev-secret-key-0123456789}"
ENDPOINT="http://127.0.0.1:${PORT}"
CONF="$DIR/ceph.conf"

log() { echo "[s3] $*" >&2; }
die() { echo "[s3] error: $*" >&2; exit 1; }

# The HTTP probe works without curl too (bash's /dev/tcp), so a bare machine needs nothing extra.
gateway_answers() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null --max-time 2 "$ENDPOINT/"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -c 12 <&3 | grep -q HTTP) \
      2>/dev/null
  fi
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

all_daemons_alive() {
  pid_alive "$DIR/run/mon.a.pid" && pid_alive "$DIR/run/osd.0.pid" && pid_alive "$DIR/run/client.rgw.a.pid"
}

print_env() {
  echo "S3_ENDPOINT=$ENDPOINT"
  echo "S3_REGION=us-east-1"
  echo "S3_ACCESS_KEY=$ACCESS_KEY"
  echo "S3_SECRET_KEY=$SECRET_KEY"
}

ensure_installed() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; run as root or: sudo apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime"
  log "installing Ceph from Debian (missing: ${missing[*]}); this takes about a minute"
  local t0=$SECONDS
  # Lock::Timeout: other installs may hold dpkg's lock on a shared machine; wait instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common uuid-runtime >&2
  log "installed in $((SECONDS - t0)) s"
}

write_conf() {
  local fsid="$1"
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 2147483648
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
# Small machines: the defaults assume dedicated hosts (GiBs of cache per OSD).
osd memory target = 536870912
ms bind ipv6 = false

[mon.a]
mon data = $DIR/mon/a
mon addr = v1:127.0.0.1:$MON_PORT

[osd.0]
osd data = $DIR/osd/0

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
EOF
}

# ceph CLI with a bounded wait, so a dead mon fails the script instead of hanging it.
cephc() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"; }

wait_for() {
  local what="$1" limit="$2"; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - t0 < limit)) || { log "timed out after ${limit}s waiting for $what; logs in $DIR/log"; tail -n 20 "$DIR"/log/*.log >&2 || true; return 1; }
    sleep 0.5
  done
}

stop_daemons() {
  local name pidf pids=()
  for name in client.rgw.a osd.0 mon.a; do
    pidf="$DIR/run/$name.pid"
    if pid_alive "$pidf"; then
      pids+=("$(cat "$pidf")")
      kill -TERM "$(cat "$pidf")" 2>/dev/null || true
    fi
  done
  local t0=$SECONDS pid
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS - t0 > 15)); then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  done
}

start() {
  if gateway_answers && all_daemons_alive && [[ -f "$DIR/ready" ]]; then
    log "already running at $ENDPOINT ($DIR)"
    print_env
    return 0
  fi
  ensure_installed
  if gateway_answers && ! all_daemons_alive; then
    die "port $PORT already answers but not with our cluster in $DIR; stop it or set CRUCIBLE_S3_PORT"
  fi
  local t0=$SECONDS try rc
  # A daemon that dies while starting (seen once on a CI machine: the OSD's fork exited 250, -ENXIO, with no output)
  # gets one more try on a cluster built from nothing; each failure prints the daemons' logs and the disk space.
  for try in 1 2; do
    set +e
    (set -e; build_cluster)
    rc=$?
    set -e
    ((rc == 0)) && break
    log "building the cluster failed (exit $rc, try $try of 2); the daemons' logs:"
    tail -n 15 "$DIR"/log/*.log "$DIR"/log/*.out >&2 2>/dev/null || true
    df -h "$DIR" /tmp >&2 || true
    stop_daemons
    ((try == 2)) && die "Ceph did not start; see the logs above (they stay in $DIR/log)"
  done
  print_env >"$DIR/env"
  touch "$DIR/ready"
  log "ready in $((SECONDS - t0)) s"
  print_env
}

build_cluster() {
  # A half-started or crashed cluster (memstore lost its objects anyway): start from nothing.
  [[ -d "$DIR" ]] && { stop_daemons; rm -rf "$DIR"; }
  # Daemons of an earlier cluster in this folder whose pid files are gone would hold its ports and memory.
  pkill -KILL -f -- "-c $CONF( |\$)" 2>/dev/null || true
  port_taken "$MON_PORT" && die "port $MON_PORT (Ceph monitor) is taken by another process; stop it or set CRUCIBLE_CEPH_MON_PORT"
  mkdir -p "$DIR"/{run,log,mon/a,osd/0,rgw}
  : >"$DIR/keyring"
  local fsid osd_uuid
  fsid="$(uuidgen)"
  osd_uuid="$(uuidgen)"
  write_conf "$fsid"

  log "creating monitor"
  monmaptool --create --clobber --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >&2
  ceph-mon -c "$CONF" -i a 9>&- || die "ceph-mon did not start (exit $?)"
  wait_for "the monitor" 30 cephc mon stat

  log "creating OSD (memstore)"
  local osd_id
  osd_id="$(cephc osd new "$osd_uuid")"
  [[ "$osd_id" == "0" ]] || die "expected osd id 0, got '$osd_id'"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.out" 2>&1 \
    || { cat "$DIR/log/osd-mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
  ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/osd-start.out" 9>&- || die "ceph-osd did not start (exit $?)"
  wait_for "the OSD to come up" 60 bash -c "timeout 10 ceph -c '$CONF' osd dump 2>/dev/null | grep -q '^osd.0 up'"

  log "starting RADOS Gateway on $ENDPOINT"
  radosgw -c "$CONF" -n client.rgw.a 9>&- || die "radosgw did not start (exit $?)"
  wait_for "the gateway" 90 gateway_answers

  # The user is created after the gateway made its pools; `create` on an existing uid would fail, so look first.
  if ! timeout 30 radosgw-admin -c "$CONF" user info --uid crucible >/dev/null 2>&1; then
    timeout 60 radosgw-admin -c "$CONF" user create --uid crucible --display-name "Crucible" \
      --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >/dev/null
  fi
}

# start and stop take one lock: two concurrent starts (two test runs at once) would each build a cluster in the same
# folder and on the same monitor port, and the OSD of one would register with the monitor of the other ("wrong fsid").
# The daemons are started with fd 9 closed (`9>&-`): they outlive this script and would otherwise hold the lock forever.
with_lock() {
  exec 9>"${DIR%/}.lock"
  flock -w 300 9 || die "another start/stop of $DIR is still running"
  "$@"
}

# memstore keeps every object in RAM within "memstore device bytes"; tests leave their objects behind, so a cluster
# kept across many full runs fills up, and then every S3 write hangs (HEALTH_ERR full osd). Say so, with the fix.
warn_if_full() {
  local health
  health="$(cephc health 2>/dev/null || true)"
  if [[ "$health" == *full* ]]; then
    log "warning: the OSD is (nearly) full, S3 writes will hang: $health"
    log "restart it empty with: bash scripts/services/s3.sh stop && bash scripts/services/s3.sh start"
  fi
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd="${1:-}"
case "$cmd" in
  start) with_lock start ;;
  stop)
    if [[ -d "$DIR" ]]; then with_lock stop_daemons; rm -rf "$DIR"; log "stopped"; else log "not running"; fi
    ;;
  status)
    if gateway_answers && all_daemons_alive; then log "running at $ENDPOINT"; else log "not running"; exit 1; fi
    warn_if_full
    ;;
  env)
    { gateway_answers && [[ -f "$DIR/ready" ]]; } || die "not running; start it with: bash scripts/services/s3.sh start"
    print_env
    ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
