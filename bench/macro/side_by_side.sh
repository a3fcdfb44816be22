#!/usr/bin/env bash
# side_by_side.sh [OPTIONS]: Volley against stock uftp/uftpd 4.10.2 on the same testbed, the
# same file and the same session shape, in the same run. See bench/macro/README.md.
#
# For every MTU (9000: block 8800; 1500: block 1300) and loss rate (0 %, 5 % of UDP datagrams
# dropped each way at each receiver), it builds the namespace testbed of tests/interop
# (sender + three receivers on a bridge), then, RUNS times and in rotating order, pushes one
# file of random bytes on tmpfs to a closed group of the three receivers with
#   uftp     stock uftp -R -1 (unpaced), unencrypted, -> stock uftpd x3
#   volley4  volley send -R max --protocol 4 (the same wire protocol) -> volley recv x3
#   volley5  volley send -R max --protocol 5 (Volley's own)         -> volley recv x3
# (with --cipher: all encrypted, ECDH key exchange on P-256 signed with ECDSA, SHA-256, the
# protocol's own for each (UFTP 4's for uftp and volley4, UFTP 5's for volley5), OPEN group).
# and measures the wall time from the sender's start until every receiver is done (stock
# uftpd: the file appears in its destination, which uftpd does when the group is complete;
# volley recv --sessions 1: the process exits), plus the CPU time (user+sys, GNU time) of the
# sender and of the three receivers, and how busy the whole machine was. Every copy is checked
# byte for byte (SHA-256); a run that fails (verification, exit status, timeout) is FAILED and
# not timed. Prints two markdown tables: the figures with Volley/uftp ratios, and what reached
# the receivers (packets, loss as applied, repair overhead, socket-buffer overflows). Before
# each run it waits (up to 30 s) for the machine to be less than 10 % busy.
#
# Options:
#   --quick         smoke run: 256 MiB, 1 run, MTU 9000, 0 % loss (other options still apply)
#   --size MIB      file size (default 1024)
#   --runs N        runs per configuration and implementation (default 3)
#   --mtu 9000|1500|both      (default both)
#   --loss 0|5|both           (default both)
#   --impls LIST    comma-separated subset of uftp,volley4,volley5 (default all three)
#   --timeout SEC   per-run limit (default 180)
#   --deadline SEC  limit for the whole script (default 3600)
#   --buffer BYTES  socket buffer asked of both implementations (default 4194304, see README)
#   --segment       segment GSO batches at the sender's interface (gso_max_segs 1), so every
#                   datagram crosses the bridge, and meets the loss rules, on its own (see README)
#   --cipher none|aes256-gcm|aes128-gcm   (default none: all in the clear) encrypt every
#                   session: stock uftp -Y CIPHER -h sha256 -e ecdh_ecdsa -K prime256v1 to
#                   uftpd -k (a P-256 key each), volley send --cipher CIPHER (a fresh P-256 key)
#                   to volley recv; an OPEN group for all (stock 4.10.2 crashes on -H with
#                   encryption)
#   --out FILE      also write the table to FILE
#   --keep-logs     keep the log directory (kept anyway when a run fails)
# Environment: VOLLEY (default build/bin/volley under the repository root).
# Needs root (network namespaces), uftp/uftpd, nft, GNU time, openssl, iproute2 (ip, ss).
set -uo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.', and sort/awk number formats

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/interop/testbed.sh
source "$ROOT/tests/interop/testbed.sh"

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
}
die() {
  echo "side_by_side: $*" >&2
  exit 2
}

# ---- options --------------------------------------------------------------------------------
QUICK=0
declare -A OPT=()
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --size | --runs | --mtu | --loss | --impls | --timeout | --deadline | --buffer | --out | --cipher)
      (($# >= 2)) || die "$1 needs a value"
      OPT[$1]=$2
      shift
      ;;
    --keep-logs) OPT[--keep-logs]=1 ;;
    --segment) OPT[--segment]=1 ;;
    -h | --help) usage ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
if ((QUICK)); then
  SIZE_MIB=256 RUNS=1 MTU_SEL=9000 LOSS_SEL=0
else
  SIZE_MIB=1024 RUNS=3 MTU_SEL=both LOSS_SEL=both
fi
SIZE_MIB=${OPT[--size]:-$SIZE_MIB}
RUNS=${OPT[--runs]:-$RUNS}
MTU_SEL=${OPT[--mtu]:-$MTU_SEL}
LOSS_SEL=${OPT[--loss]:-$LOSS_SEL}
IMPL_SEL=${OPT[--impls]:-uftp,volley4,volley5}
RUN_TIMEOUT=${OPT[--timeout]:-180}
DEADLINE=${OPT[--deadline]:-3600}
BUF=${OPT[--buffer]:-4194304}
OUT=${OPT[--out]:-}
KEEP_LOGS=${OPT[--keep-logs]:-0}
SEGMENT=${OPT[--segment]:-0}
CIPHER=${OPT[--cipher]:-none}

# is_int VALUE MIN MAX: VALUE is a decimal integer in [MIN, MAX].
is_int() { [[ "$1" =~ ^[0-9]{1,12}$ ]] && (($1 >= $2 && $1 <= $3)); }
is_int "$SIZE_MIB" 1 100000 || die "--size: MiB, a positive integer"
is_int "$RUNS" 1 100 || die "--runs: a positive integer"
is_int "$RUN_TIMEOUT" 10 86400 || die "--timeout: seconds, >= 10"
is_int "$DEADLINE" 60 604800 || die "--deadline: seconds, >= 60"
is_int "$BUF" 65536 104857600 || die "--buffer: bytes, 65536-104857600 (stock uftp's range)"
case $MTU_SEL in
  9000) MTUS=(9000) ;;
  1500) MTUS=(1500) ;;
  both) MTUS=(9000 1500) ;;
  *) die "--mtu: 9000, 1500 or both" ;;
esac
case $LOSS_SEL in
  0) LOSSES=(0) ;;
  5) LOSSES=(5) ;;
  both) LOSSES=(0 5) ;;
  *) die "--loss: 0, 5 or both" ;;
esac
case $CIPHER in
  none | aes256-gcm | aes128-gcm) ;;
  *) die "--cipher: none, aes256-gcm or aes128-gcm" ;;
esac
ENCRYPT=0
[[ "$CIPHER" != none ]] && ENCRYPT=1
IFS=, read -r -a IMPLS <<<"$IMPL_SEL"
((${#IMPLS[@]} >= 1)) || die "--impls: empty"
for impl in "${IMPLS[@]}"; do
  [[ "$impl" == uftp || "$impl" == volley4 || "$impl" == volley5 ]] ||
    die "--impls: '$impl' is not one of uftp, volley4, volley5"
done

block_for_mtu() { if (($1 == 9000)); then echo 8800; else echo 1300; fi; }
impl_label() {
  case $1 in
    uftp) echo "stock uftp 4.10.2" ;;
    volley4) echo "volley, protocol 4" ;;
    volley5) echo "volley, protocol 5" ;;
  esac
}

# ---- preflight ------------------------------------------------------------------------------
((EUID == 0)) || die "needs root (network namespaces)"
need=(ip ss nft timeout openssl pgrep awk)
for impl in "${IMPLS[@]}"; do [[ "$impl" == uftp ]] && need+=(uftp uftpd); done
if ((ENCRYPT)) && [[ " ${IMPLS[*]} " == *" uftp "* ]]; then need+=(uftp_keymgt); fi
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (deploy/install-deps.sh)"
done
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time, Debian package 'time') not installed"
VOLLEY=${VOLLEY:-$ROOT/build/bin/volley}
if [[ " ${IMPLS[*]} " == *" volley"* ]]; then
  [[ -x "$VOLLEY" ]] ||
    die "$VOLLEY not built (cd $ROOT && cmake --build build --target volley)"
  VOLLEY=$(cd "$(dirname "$VOLLEY")" && pwd)/$(basename "$VOLLEY")
fi
avail_kib=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
((avail_kib / 1024 >= SIZE_MIB * 5)) ||
  die "/dev/shm has $((avail_kib / 1024)) MiB free; need $((SIZE_MIB * 5)) (source + 3 copies + slack)"

# ---- state, cleanup -------------------------------------------------------------------------
T_START=$SECONDS
WORK=$(mktemp -d /dev/shm/volley-sbs.XXXXXX) || die "mktemp in /dev/shm failed"
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/volley-sbs-logs.XXXXXX") || die "mktemp failed"
export TB_STATE_ROOT=$LOGS
TB_NAME=
WATCHDOG=
FAILED_RUNS=0
exec {SLEEP_FD}<> <(:) # `read -t` on this never gets data: a sleep without a fork

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$WATCHDOG" ]]; then kill -TERM "$WATCHDOG" 2>/dev/null || true; fi
  if [[ -n "$TB_NAME" ]]; then tb_down "$TB_NAME"; fi
  rm -rf "$WORK"
  if ((KEEP_LOGS || FAILED_RUNS || rc != 0)); then
    echo "logs kept: $LOGS" >&2
  else
    rm -rf "$LOGS"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$DEADLINE" &
  sp=$!
  wait "$sp"
  echo "side_by_side: deadline of ${DEADLINE}s reached, stopping" >&2
  kill -TERM $$
) &
WATCHDOG=$!

log() { printf '[%4ds] %s\n' $((SECONDS - T_START)) "$*" >&2; }

# now_us: microseconds since the epoch in REPLY (no fork).
now_us() { REPLY=${EPOCHREALTIME/./}; }

# cpu_ticks: "busy total" jiffies of the whole machine (every CPU) in REPLY, from /proc/stat.
cpu_ticks() {
  local _cpu user nice sys idle iowait irq softirq steal _rest
  read -r _cpu user nice sys idle iowait irq softirq steal _rest </proc/stat
  REPLY="$((user + nice + sys + irq + softirq + steal)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
}

# descendant_named PID COMM: the PID of a descendant of PID whose comm is COMM.
descendant_named() {
  local pid=$1 comm=$2 c
  for c in $(pgrep -P "$pid" 2>/dev/null); do
    if [[ "$(cat "/proc/$c/comm" 2>/dev/null)" == "$comm" ]]; then
      echo "$c"
      return 0
    fi
    descendant_named "$c" "$comm" && return 0
  done
  return 1
}

# cpu_of TIMEFILE: user+sys seconds from GNU time's last line ("%e %U %S"), or "" if none.
cpu_of() {
  [[ -s "$1" ]] || return 0
  tail -n 1 "$1" | awk 'NF == 3 && $2 ~ /^[0-9.]+$/ { printf "%.2f", $2 + $3 }'
}

# The binary under test, copied: a rebuild of build/ during the run changes nothing here.
VOLLEY_BUILD="-"
if [[ " ${IMPLS[*]} " == *" volley"* ]]; then
  cp "$VOLLEY" "$WORK/volley" || die "could not copy $VOLLEY"
  VOLLEY_BUILD="binary built $(date -u -r "$VOLLEY" '+%Y-%m-%d %H:%M UTC')"
  VOLLEY_BUILD+=" (sha256 $(openssl dgst -sha256 -r "$WORK/volley" | cut -c1-12)…), repository at"
  VOLLEY_BUILD+=" $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) when the run started"
  VOLLEY=$WORK/volley
fi

# ---- the payload ----------------------------------------------------------------------------
FILE=payload.bin
mkdir -p "$WORK/src"
log "writing $SIZE_MIB MiB of random bytes to $WORK/src/$FILE (tmpfs)"
key=$(openssl rand -hex 16)
head -c $((SIZE_MIB * 1024 * 1024)) /dev/zero |
  openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 \
    >"$WORK/src/$FILE" || die "could not write the payload"
SRC_SHA=$(openssl dgst -sha256 -r "$WORK/src/$FILE" | cut -c1-64)
SIZE_BYTES=$((SIZE_MIB * 1024 * 1024))
RX=(r1 r2 r3)

# Encrypted: stock uftpd refuses an ECDH_ECDSA session unless it holds an EC key on the
# sender's curve, so each gets a P-256 key of its own (made once, loaded at every start).
# volley recv needs none (it makes its ECDH key per session).
if ((ENCRYPT)) && [[ " ${IMPLS[*]} " == *" uftp "* ]]; then
  mkdir -p "$WORK/keys"
  for r in "${RX[@]}"; do
    uftp_keymgt -g ec:prime256v1 "$WORK/keys/$r.key" >/dev/null 2>&1 ||
      die "uftp_keymgt could not make a P-256 key for $r"
  done
fi
# The session's membership and encryption, as both implementations are told (see run_one).
if ((ENCRYPT)); then
  GROUP_DESC="open group: stock 4.10.2 crashes on -H with encryption"
  CRYPTO_DESC="encrypted ($CIPHER after an ECDH key exchange on P-256 signed with ECDSA, SHA-256)"
else
  GROUP_DESC="closed group"
  CRYPTO_DESC="unencrypted"
fi

# results.tsv, one line per run: mtu loss impl run status wall_s sender_exit_s sender_cpu_s
# receivers_cpu_s note in_place_s rx_pkts rx_bytes drop_pkts drop_bytes (those four summed
# over the receivers' nftables input hooks; see count_setup) busy_pct (whole machine, every
# CPU, from the sender's start until every receiver was done) background_busy_pct (the same,
# over the half second before the run) rcvbuf_errors (Σ3 receivers: UDP datagrams their kernels
# dropped for a full socket buffer)
RESULTS=$LOGS/results.tsv
: >"$RESULTS"

# ---- what the receivers' input hooks see ---------------------------------------------------
# count_setup: in each receiver namespace, a table counting every incoming UDP packet before
# the testbed's loss rule (priority -200 < -150). A GSO batch that crosses the veth pairs whole
# is one packet there, and meets the loss rule as one.
count_setup() {
  local r
  for r in "${RX[@]}"; do
    tb_exec "$TB_NAME" "$r" nft -f - <<'EOF' || return 1
table inet sbs_count {
  chain in {
    type filter hook input priority -200; policy accept;
    meta l4proto udp counter
  }
}
EOF
  done
}

# count_read: "packets bytes dropped_packets dropped_bytes rcvbuf_errors" summed over the
# receivers since the testbed came up: their input hooks, then the UDP datagrams their kernels
# dropped because a socket's receive buffer was full (Udp RcvbufErrors, per namespace).
# (%.0f, not %d: mawk's %d stops at 2^31.)
count_read() {
  local r
  for r in "${RX[@]}"; do
    tb_exec "$TB_NAME" "$r" cat /proc/net/snmp 2>/dev/null |
      awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else v = $(col["RcvbufErrors"]) }
           END { printf "%.0f ", v }' 
    tb_exec "$TB_NAME" "$r" nft list chain inet sbs_count in 2>/dev/null |
      awk '/counter packets/ { for (i = 1; i < NF; i++) { if ($i == "packets") p = $(i + 1); if ($i == "bytes") b = $(i + 1) } }
           END { printf "%.0f %.0f ", p, b }'
    tb_exec "$TB_NAME" "$r" nft list chain inet volley_loss in 2>/dev/null |
      awk '/counter packets/ { for (i = 1; i < NF; i++) { if ($i == "packets") p = $(i + 1); if ($i == "bytes") b = $(i + 1) } }
           END { printf "%.0f %.0f\n", p, b }'
  done | awk '{ e += $1; p += $2; b += $3; dp += $4; db += $5 }
              END { printf "%.0f %.0f %.0f %.0f %.0f\n", p, b, dp, db, e }'
}

# background_busy: how busy the machine is (%, every CPU) over half a second with nothing of ours
# running; in REPLY. Other work on the machine (a build, tests) skews every figure here.
background_busy() {
  local a b
  cpu_ticks
  a=$REPLY
  read -r -t 0.5 -u "$SLEEP_FD" || true
  cpu_ticks
  b=$REPLY
  REPLY=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
}

# ---- one run --------------------------------------------------------------------------------
# run_one MTU LOSS IMPL RUN: appends one line to RESULTS.
run_one() {
  local mtu=$1 loss=$2 impl=$3 run=$4 block r i
  block=$(block_for_mtu "$mtu")
  local tag="m$mtu-l$loss-$impl-$run" ids
  local dir="$LOGS/$tag"
  mkdir -p "$dir"
  ids=$(for r in "${RX[@]}"; do tb_id "$TB_NAME" "$r"; done | paste -sd,)
  for r in "${RX[@]}"; do
    rm -rf "${WORK:?}/$r"
    mkdir -p "$WORK/$r/dest" "$WORK/$r/tmp"
  done

  # Wait (up to 30 s) for other work on the machine to calm down; record what was left.
  local bg tries
  for ((tries = 0; tries < 60; tries++)); do
    background_busy
    bg=$REPLY
    ((bg <= 10)) && break
    ((tries == 0)) && log "machine $bg% busy before the run (other work); waiting up to 30 s for it to calm down"
  done
  local -a rpid=()
  # shellcheck disable=SC2034 # read by tb_bg (testbed.sh): every process's hard bound
  TB_BG_TIMEOUT=$((RUN_TIMEOUT + 30))
  local -a ukey=()
  for r in "${RX[@]}"; do
    if [[ "$impl" == uftp ]]; then
      ukey=()
      ((ENCRYPT)) && ukey=(-k "$WORK/keys/$r.key")
      tb_bg "$TB_NAME" "$r" "$dir/$r.log" /usr/bin/time -o "$dir/$r.time" -f '%e %U %S' \
        uftpd -d -q -x 1 -I eth0 -M 230.4.4.1 -p 1044 -U "$(tb_id "$TB_NAME" "$r")" \
        -D "$WORK/$r/dest" -T "$WORK/$r/tmp" -B "$BUF" "${ukey[@]}"
    else
      tb_bg "$TB_NAME" "$r" "$dir/$r.log" /usr/bin/time -o "$dir/$r.time" -f '%e %U %S' \
        "$VOLLEY" recv -I eth0 -M 230.4.4.1 -p 1044 -U "$(tb_id "$TB_NAME" "$r")" \
        -D "$WORK/$r/dest" -T "$WORK/$r/tmp" --sessions 1 --buffer "$BUF" -q
    fi
    rpid+=("$TB_LAST_PID")
  done
  local note="" ok=1
  for r in "${RX[@]}"; do
    if ! tb_listening "$TB_NAME" "$r" 1044 10; then
      note="$r not listening"
      ok=0
      break
    fi
  done
  sleep 0.3 # the multicast join follows the bind

  # Unencrypted: a closed group (-H, the receivers' IDs). Encrypted: an open group (whoever
  # answers the ANNOUNCEs; all three must, or a copy is missing and the run FAILS).
  # Volley is told --cipher either way: it encrypts by default (since acb19fe), stock does not.
  local -a scmd members=(-H "$ids") ucrypto=(-Y none) vcrypto=(--cipher "$CIPHER")
  if ((ENCRYPT)); then
    members=()
    ucrypto=(-Y "$CIPHER" -h sha256 -e ecdh_ecdsa -K prime256v1)
  fi
  if [[ "$impl" == uftp ]]; then
    scmd=(uftp "${ucrypto[@]}" -I eth0 -M 230.4.4.1 -p 1044 -b "$block" -R -1 "${members[@]}"
      -s 10 -r 0.05:0.01:1.0 -B "$BUF" -x 1 "$WORK/src/$FILE")
  else
    scmd=("$VOLLEY" send -I eth0 -M 230.4.4.1 -p 1044 -b "$block" -R max "${members[@]}"
      --protocol "${impl#volley}" "${vcrypto[@]}" --robust 10 --grtt 0.05:0.01:1.0
      --buffer "$BUF" -q "$WORK/src/$FILE")
  fi
  printf '%s\n' "${scmd[*]}" >"$dir/sender.cmd"

  local t0 spid send_end=0 now all c0 c1 k0 k1="" busy=""
  local -a rx_end=(0 0 0) in_place=(0 0 0)
  c0=$(count_read)
  cpu_ticks
  k0=$REPLY
  now_us
  t0=$REPLY
  if ((ok)); then
    tb_bg "$TB_NAME" s "$dir/s.log" /usr/bin/time -o "$dir/s.time" -f '%e %U %S' "${scmd[@]}"
    spid=$TB_LAST_PID
    # Poll every 10 ms: the sender's exit, and each receiver's end (stock uftpd: the file in
    # dest, moved there from -T at group completion; volley recv: the process exits).
    while :; do
      now_us
      now=$REPLY
      if ((!send_end)) && ! kill -0 "$spid" 2>/dev/null; then send_end=$now; fi
      all=1
      for i in 0 1 2; do
        if ((!in_place[i])) && [[ -e "$WORK/${RX[i]}/dest/$FILE" ]]; then in_place[i]=$now; fi
        if ((!rx_end[i])); then
          if [[ "$impl" == uftp ]]; then
            [[ -e "$WORK/${RX[i]}/dest/$FILE" ]] && rx_end[i]=$now
          else
            kill -0 "${rpid[i]}" 2>/dev/null || rx_end[i]=$now
          fi
        fi
        ((rx_end[i])) || all=0
      done
      if ((all && send_end)); then
        cpu_ticks
        k1=$REPLY
        break
      fi
      if ((send_end && now - send_end > 15000000)); then
        note="receivers not done 15 s after the sender exited"
        ok=0
        break
      fi
      if ((now - t0 > RUN_TIMEOUT * 1000000)); then
        note="timed out after ${RUN_TIMEOUT}s"
        ok=0
        break
      fi
      read -r -t 0.01 -u "$SLEEP_FD" || true
    done
    local src=0
    tb_wait_pid "$spid" 1 || src=$?
    if ((src != 0)); then
      ok=0
      [[ -n "$note" ]] || note="sender exit status $src"
    fi
  fi

  # Receivers: volley recv has exited (or is stopped now); stock uftpd runs until stopped, so
  # SIGTERM it (the daemon itself, not GNU time above it, which must live to report its CPU).
  local rrc upid
  if [[ "$impl" == uftp ]]; then
    for i in 0 1 2; do
      upid=$(descendant_named "${rpid[i]}" uftpd) && kill -TERM "$upid" 2>/dev/null
    done
  fi
  for i in 0 1 2; do
    rrc=0
    if [[ "$impl" == uftp ]]; then
      tb_wait_pid "${rpid[i]}" 10 || true
    else
      tb_wait_pid "${rpid[i]}" 2 || rrc=$?
      if ((rrc != 0 && ok)); then
        ok=0
        note="${RX[i]}: volley recv exit status $rrc"
      fi
    fi
  done

  # Verification: every copy byte-exact (three hashes in parallel; ~1 s/GiB each).
  local -a hp=()
  for r in "${RX[@]}"; do
    (openssl dgst -sha256 -r "$WORK/$r/dest/$FILE" 2>/dev/null | cut -c1-64 >"$dir/$r.sha256") &
    hp+=($!)
  done
  for i in 0 1 2; do wait "${hp[i]}" 2>/dev/null || true; done
  for r in "${RX[@]}"; do
    if [[ "$(cat "$dir/$r.sha256" 2>/dev/null)" != "$SRC_SHA" ]]; then
      if ((ok)); then note="$r: copy missing or not byte-exact"; fi
      ok=0
    fi
  done
  rm -rf "${WORK:?}/r1" "${WORK:?}/r2" "${WORK:?}/r3"
  c1=$(count_read)
  if [[ -n "$k1" ]]; then
    busy=$(awk -v a="$k0" -v b="$k1" 'BEGIN { split(a, x, " "); split(b, y, " ");
      if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
  fi
  local counts
  counts=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f\t%.0f\t%.0f\t%.0f", y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }')
  local rcvbuf
  rcvbuf=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", y[5] - x[5] }')

  local scpu rcpu="" c wall="" sexit="" placed=""
  scpu=$(cpu_of "$dir/s.time")
  for r in "${RX[@]}"; do
    c=$(cpu_of "$dir/$r.time")
    if [[ -z "$c" ]]; then
      rcpu=""
      break
    fi
    rcpu=$(awk -v a="${rcpu:-0}" -v b="$c" 'BEGIN { printf "%.2f", a + b }')
  done
  if ((ok)); then
    local last=0
    for i in 0 1 2; do ((rx_end[i] > last)) && last=${rx_end[i]}; done
    wall=$(awk -v a="$last" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
    sexit=$(awk -v a="$send_end" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
    last=0
    for i in 0 1 2; do ((in_place[i] > last)) && last=${in_place[i]}; done
    placed=$(awk -v a="$last" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
    if [[ -z "$scpu" || -z "$rcpu" ]]; then
      ok=0
      note="no CPU figures from GNU time"
    fi
  fi
  local status=OK
  if ((!ok)); then
    status=FAILED
    FAILED_RUNS=$((FAILED_RUNS + 1))
    wall="" sexit="" placed=""
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mtu" "$loss" "$impl" "$run" \
    "$status" "$wall" "$sexit" "$scpu" "$rcpu" "${note:--}" "${placed:--}" "$counts" "${busy:--}" \
    "$bg" "$rcvbuf" >>"$RESULTS"
  if ((ok)); then
    log "$(printf 'MTU %-4s loss %s%% %-8s run %d: %7.3f s (files in place %.3f s, sender exit %.3f s) %6.2f Gbit/s, CPU sender %s s, receivers %s s, machine %s%% busy (%s%% before)' \
      "$mtu" "$loss" "$impl" "$run" "$wall" "$placed" "$sexit" \
      "$(awk -v w="$wall" -v b="$SIZE_BYTES" 'BEGIN { print b * 8 / w / 1e9 }')" "$scpu" "$rcpu" "$busy" "$bg")"
  else
    log "MTU $mtu loss $loss% $impl run $run: FAILED ($note); logs in $dir"
  fi
}

# ---- the matrix -----------------------------------------------------------------------------
log "Volley vs stock uftp: $SIZE_MIB MiB, $RUNS run(s), MTU ${MTUS[*]}, loss ${LOSSES[*]}%," \
  "implementations ${IMPLS[*]}, $CRYPTO_DESC, $GROUP_DESC, socket buffers $BUF bytes," \
  "per-run limit ${RUN_TIMEOUT}s," \
  "GSO batches $( ((SEGMENT)) && echo "segmented at the sender" || echo "whole across the bridge")"
for mtu in "${MTUS[@]}"; do
  for loss in "${LOSSES[@]}"; do
    TB_NAME="sbs$$-$mtu-$loss"
    log "testbed $TB_NAME: MTU $mtu, block $(block_for_mtu "$mtu"), loss $loss% each way at each receiver"
    tb_up "$TB_NAME" "$mtu" "$loss" || die "tb_up failed"
    count_setup || die "could not add the counting table"
    if ((SEGMENT)); then
      tb_exec "$TB_NAME" s ip link set dev eth0 gso_max_segs 1 ||
        die "ip link set ... gso_max_segs 1 failed (iproute2 too old?)"
    fi
    for ((run = 1; run <= RUNS; run++)); do
      # Rotate the order, so no implementation always goes first (page cache, CPU clocks).
      n=${#IMPLS[@]}
      for ((k = 0; k < n; k++)); do
        run_one "$mtu" "$loss" "${IMPLS[(k + run - 1) % n]}" "$run"
      done
    done
    tb_down "$TB_NAME"
    TB_NAME=
  done
done

# ---- the table ------------------------------------------------------------------------------
make_table() {
  echo "Volley vs stock uftp 4.10.2 — $SIZE_MIB MiB file of random bytes on tmpfs, 1 sender → 3 receivers" \
    "($GROUP_DESC), max rate, $CRYPTO_DESC, socket buffers $BUF B; median of $RUNS run(s); $(nproc) CPU(s);" \
    "GSO batches $( ((SEGMENT)) && echo "segmented at the sender (--segment)" || echo "cross the bridge whole")."
  echo "Volley: $VOLLEY_BUILD. Kernel $(uname -r)."
  echo
  echo "| MTU | block | loss | implementation | ok runs | wall s (median) | wall min–max | Gbit/s | sender CPU s | receivers CPU s (Σ3) | machine busy | Gbit/s ÷ uftp | sender CPU ÷ uftp | receivers CPU ÷ uftp |"
  echo "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local mtu loss impl
  for mtu in "${MTUS[@]}"; do
    for loss in "${LOSSES[@]}"; do
      for impl in "${IMPLS[@]}"; do
        awk -F'\t' -v mtu="$mtu" -v loss="$loss" -v impl="$impl" -v runs="$RUNS" \
          -v bytes="$SIZE_BYTES" -v block="$(block_for_mtu "$mtu")" \
          -v label="$(impl_label "$impl")" '
          function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
          }
          function ratio(x, ref) { return (ref > 0 && x != "") ? sprintf("%.2f", x / ref) : "n/a" }
          $1 == mtu && $2 == loss && $5 == "OK" {
            if ($3 == impl) { n++; w[n] = $6; s[n] = $8; r[n] = $9; if ($16 != "-") { nb++; bz[nb] = $16 } }
            if ($3 == "uftp") { un++; uw[un] = $6; us[un] = $8; ur[un] = $9 }
          }
          END {
            printf "| %s | %d | %s %% | %s | %d/%d |", mtu, block, loss, label, n, runs
            if (n == 0) { print " FAILED | FAILED | FAILED | FAILED | FAILED | n/a | n/a | n/a | n/a |"; exit }
            mw = median(w, n); ms = median(s, n); mr = median(r, n)
            lo = w[1]; hi = w[n]  # sorted by median()
            gb = bytes * 8 / mw / 1e9
            printf " %.2f | %.2f–%.2f | %.2f | %.2f | %.2f |", mw, lo, hi, gb, ms, mr
            if (nb) printf " %.0f %% |", median(bz, nb); else printf " n/a |"
            if (impl == "uftp") { print " 1 (ref) | 1 (ref) | 1 (ref) |"; exit }
            if (un == 0) { print " n/a | n/a | n/a |"; exit }
            umw = median(uw, un); ums = median(us, un); umr = median(ur, un)
            printf " %s | %s | %s |\n", ratio(gb, bytes * 8 / umw / 1e9), ratio(ms, ums), ratio(mr, umr)
          }' "$RESULTS"
      done
    done
  done
  echo
  echo "What the receivers' nftables input hooks saw (Σ3 receivers, median over the OK runs, or over all runs if none):"
  echo
  echo "| MTU | loss | implementation | UDP packets in | bytes/packet | packets dropped | bytes dropped | bytes in ÷ (3 × file) | dropped for a full socket buffer |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|"
  for mtu in "${MTUS[@]}"; do
    for loss in "${LOSSES[@]}"; do
      for impl in "${IMPLS[@]}"; do
        awk -F'\t' -v mtu="$mtu" -v loss="$loss" -v impl="$impl" -v label="$(impl_label "$impl")" \
          -v file="$SIZE_BYTES" '
          function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
          }
          $1 == mtu && $2 == loss && $3 == impl && $12 > 0 {
            an++; ap[an] = $12; ab[an] = $13; adp[an] = $14; adb[an] = $15; ae[an] = $18
            if ($5 == "OK") { n++; p[n] = $12; b[n] = $13; dp[n] = $14; db[n] = $15; e[n] = $18 }
          }
          END {
            if (n == 0) { n = an; for (i = 1; i <= n; i++) { p[i] = ap[i]; b[i] = ab[i]; dp[i] = adp[i]; db[i] = adb[i]; e[i] = ae[i] } }
            if (n == 0) { printf "| %s | %s %% | %s | n/a | n/a | n/a | n/a | n/a | n/a |\n", mtu, loss, label; exit }
            mp = median(p, n); mb = median(b, n); mdp = median(dp, n); mdb = median(db, n); me = median(e, n)
            printf "| %s | %s %% | %s | %.0f | %.0f | %.0f (%.2f %%) | %.2f %% | %.2f | %.0f |\n", mtu, loss, label, mp, mb / mp, mdp, 100 * mdp / mp, 100 * mdb / mb, mb / (3 * file), me
          }' "$RESULTS"
      done
    done
  done
  echo
  local fails
  fails=$(awk -F'\t' '$5 == "FAILED"' "$RESULTS")
  if [[ -n "$fails" ]]; then
    echo "Failed runs (MTU, loss, implementation, run: reason):"
    echo
    awk -F'\t' '$5 == "FAILED" { printf "- MTU %s, %s %% loss, %s, run %s: %s\n", $1, $2, $3, $4, $10 }' "$RESULTS"
    echo
  fi
  awk -F'\t' '$17 > m { m = $17 } END { if (m > 10) printf "WARNING: the machine was up to %d %% busy before a run (other work running): the figures are skewed.\n\n", m
    else printf "Background load before each run: at most %d %% of the machine.\n\n", m }' "$RESULTS"
  echo "Total runtime: $((SECONDS - T_START)) s."
}

echo
make_table | tee "$LOGS/table.md"
if [[ -n "$OUT" ]]; then cp "$LOGS/table.md" "$OUT"; fi
exit 0
