# shellcheck shell=bash
# Shared harness of the interop test scripts (stock_to_stock_test.sh,
# volley_interop_test.sh). Source it after testbed.sh; do not run it.
#
# Knobs (environment):
#   MTU (9000), BLOCKSIZE (8800), PORT (1044), RATE_KBPS (200000, stock uftp's -R unit)
#   CAPTURE=0            do not capture / tshark-check the sender's traffic (otherwise a
#                        missing dumpcap or tshark fails the test)
#   KEEP_WORKDIR=1       keep the work directory even when the test passes
#   INTEROP_TMP          where work directories go (default ${TMPDIR:-/tmp})
#   INTEROP_DEADLINE     seconds before the whole script stops itself (240; CTest's TIMEOUT
#                        is 300 and kills without cleanup, so the script must stop first)
# Stock UFTP knobs are fixed here, see il_uftp_sender_args / il_start_uftpd.

IL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MTU=${MTU:-9000}
BLOCKSIZE=${BLOCKSIZE:-8800}
PORT=${PORT:-1044}
RATE_KBPS=${RATE_KBPS:-200000}
IL_PUB_ADDR=230.4.4.1
IL_RECEIVERS=(r1 r2 r3)
IL_FAILS=0
IL_NAME=
IL_WORK=
IL_WATCHDOG=
IL_T0=$SECONDS

il_log() { printf '[%3ds] %s\n' $((SECONDS - IL_T0)) "$*"; }

il_skip() {
  echo "skipped: $*"
  exit 77
}

il_fail() {
  IL_FAILS=$((IL_FAILS + 1))
  il_log "FAIL: $*"
}

# il_preflight TOOL...: skip (exit 77) unless we are root, can create network namespaces and
# have every TOOL.
il_preflight() {
  ((EUID == 0)) || il_skip "interop tests need root (network namespaces)"
  local tool
  for tool in ip ss timeout openssl sha256sum "$@"; do
    command -v "$tool" >/dev/null 2>&1 || il_skip "$tool not installed"
  done
  unshare --net true 2>/dev/null || il_skip "cannot create network namespaces here"
}

# il_capture_wanted: true when the sender's traffic should be captured and checked, which is
# always unless CAPTURE=0. The check is a deliverable (deploy/install-deps.sh installs
# dumpcap and tshark), so a missing tool is a failed check, never a silent skip.
il_capture_wanted() {
  [[ "${CAPTURE:-1}" != 0 ]] || return 1
  local tool
  for tool in dumpcap tshark; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      il_fail "$tool not installed: the tshark check needs it (deploy/install-deps.sh installs it; CAPTURE=0 leaves the check out)"
      return 1
    fi
  done
}

# il_setup TAG LOSS: work directory, testbed IL_NAME (unique per run), source tree, EXIT trap.
il_setup() {
  local tag=$1 loss=$2
  IL_NAME="$tag$$"
  IL_WORK=$(mktemp -d "${INTEROP_TMP:-${TMPDIR:-/tmp}}/volley-interop.$tag.XXXXXX")
  export TB_STATE_ROOT="$IL_WORK"
  trap il_cleanup EXIT
  trap 'exit 130' INT TERM
  # Watchdog: SIGTERM to this script at the deadline (its trap cleans up); the subshell
  # takes its sleep down with it when il_cleanup stops it.
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "${INTEROP_DEADLINE:-240}" &
    sp=$!
    wait "$sp"
    echo "deadline of ${INTEROP_DEADLINE:-240}s reached, stopping" >&2
    kill -TERM $$
  ) &
  IL_WATCHDOG=$!
  il_log "testbed $IL_NAME: MTU $MTU, loss $loss% each way at each receiver, work dir $IL_WORK"
  tb_up "$IL_NAME" "$MTU" "$loss"
  tb_make_tree "$IL_WORK/src"
  local r
  for r in "${IL_RECEIVERS[@]}"; do
    mkdir -p "$IL_WORK/$r/dest" "$IL_WORK/$r/tmp"
  done
}

il_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$IL_WATCHDOG" ]]; then kill -TERM "$IL_WATCHDOG" 2>/dev/null || true; fi
  if [[ -n "$IL_NAME" ]]; then tb_down "$IL_NAME"; fi
  if [[ -n "$IL_WORK" && -d "$IL_WORK" ]]; then
    if ((rc == 0)) && [[ "${KEEP_WORKDIR:-0}" == 0 ]]; then
      rm -rf "$IL_WORK"
    else
      echo "work directory kept: $IL_WORK"
    fi
  fi
  exit "$rc"
}

# il_run_sender LOG SECONDS CMD...: run CMD in the sender namespace, bounded by SECONDS,
# output to LOG; returns its exit status (124: timed out). It runs in the background and
# is collected with `wait`, which, unlike a foreground command, lets the deadline's SIGTERM
# trap run at once.
il_run_sender() {
  local log=$1 limit=$2 rc=0
  shift 2
  TB_BG_TIMEOUT=$limit tb_bg "$IL_NAME" s "$log" "$@"
  wait "$TB_LAST_PID" || rc=$?
  return "$rc"
}

# il_ids: the three receivers' IDs, comma separated (uftp's -H syntax).
il_ids() {
  local r ids=()
  for r in "${IL_RECEIVERS[@]}"; do ids+=("$(tb_id "$IL_NAME" "$r")"); done
  (
    IFS=,
    printf '%s\n' "${ids[*]}"
  )
}

# Stock uftp, unencrypted (-Y none is the default; explicit here), protocol 4.0 (the only one
# 4.10.2 speaks), closed group -H, jumbo blocks, short GRTT (-r init:min:max) and the
# smallest robustness factor (-s 10) so lost control messages are retried quickly,
# quit-on-error (-q) so a dropped receiver fails the run, status lines to -S.
# With CIPHER set: ECDH_ECDSA key exchange with a fresh P-256 signing key, SHA-256, and an
# OPEN group — stock 4.10.2 aborts ("double free or corruption") when a closed group (-H) meets
# encryption, so the receivers are then whoever answers (all three, checked by the tests).
il_uftp_sender_args() {
  local members=(-H "$(il_ids)") crypto=(-Y none)
  if [[ -n "${CIPHER:-}" ]]; then
    members=()
    crypto=(-Y "$CIPHER" -h sha256 -e ecdh_ecdsa -K prime256v1)
    # CLIENT_AUTH=1: receivers must prove their keys (CLIENT_KEY).
    [[ -z "${CLIENT_AUTH:-}" ]] || crypto+=(-c)
  fi
  printf '%s\n' "${crypto[@]}" -I eth0 -M "$IL_PUB_ADDR" -p "$PORT" -b "$BLOCKSIZE" \
    -R "$RATE_KBPS" "${members[@]}" -r 0.05:0.01:1.0 -s 10 -q -x 2 -B 4194304 \
    -S "$IL_WORK/sender.status"
}

# il_start_uftpd HOST: stock uftpd in the foreground (-d), unencrypted sessions allowed (the
# default; -E would demand encryption), explicit ID (-U), temp dir (-T) on the same
# filesystem as the destination (-D), no DNS lookups (-q), status lines to -F.
declare -A IL_PID=()
# With CIPHER set (an encrypted session is coming), each uftpd gets an EC P-256 key of its own:
# stock 4.10.2 refuses ECDH_ECDSA sessions unless it holds a key on the sender's curve.
il_start_uftpd() {
  local r=$1 key_args=()
  if [[ -n "${CIPHER:-}" ]]; then
    uftp_keymgt -g ec:prime256v1 "$IL_WORK/$r.key" >/dev/null 2>&1 ||
      il_fail "$r: uftp_keymgt could not make a key"
    key_args=(-k "$IL_WORK/$r.key")
  fi
  tb_bg "$IL_NAME" "$r" "$IL_WORK/$r.log" uftpd -d -q -x 2 -I eth0 -M "$IL_PUB_ADDR" \
    -p "$PORT" -U "$(tb_id "$IL_NAME" "$r")" -D "$IL_WORK/$r/dest" -T "$IL_WORK/$r/tmp" \
    -F "$IL_WORK/$r.status" -B 4194304 "${key_args[@]}"
  # shellcheck disable=SC2034 # read by the test scripts
  IL_PID[$r]=$TB_LAST_PID
}

# il_wait_receivers_listening: every receiver has bound PORT (or the test fails now).
il_wait_receivers_listening() {
  local r
  for r in "${IL_RECEIVERS[@]}"; do
    if ! tb_listening "$IL_NAME" "$r" "$PORT" 10; then
      il_fail "$r is not listening on UDP $PORT"
      il_finish
    fi
  done
  sleep 0.3 # the multicast join follows the bind
}

IL_CAPTURE_PID=
il_capture_start() {
  if il_capture_wanted; then
    tb_capture_start "$IL_NAME" s "$IL_WORK/sender.pcapng" "$PORT"
    # shellcheck disable=SC2153 # set by tb_capture_start (testbed.sh)
    IL_CAPTURE_PID=$TB_CAPTURE_PID
  else
    il_log "no capture and no tshark check (CAPTURE=0, or a tool is missing)"
  fi
}

# il_capture_check EXPECT: stop the capture and run tshark_check.sh on it.
il_capture_check() {
  local expect=$1 rc=0
  [[ -n "$IL_CAPTURE_PID" ]] || return 0
  sleep 0.5 # late replies
  tb_capture_stop "$IL_CAPTURE_PID"
  IL_CAPTURE_PID=
  il_log "tshark check of the sender-side capture:"
  bash "$IL_DIR/tshark_check.sh" --port "$PORT" --expect "$expect" "$IL_WORK/sender.pcapng" || rc=$?
  case $rc in
    0) ;;
    77) il_fail "tshark check could not run (tshark missing)" ;;
    *) il_fail "tshark_check.sh exit $rc (capture kept: $IL_WORK/sender.pcapng)" ;;
  esac
}

# il_check_tree HOST SECONDS: poll until HOST's dest/src equals the source tree (stock uftpd
# moves a session's files out of its temp dir only when the whole group is done), then
# report any difference, and any regular file left behind in HOST's temp dir.
il_check_tree() {
  local r=$1 limit=$2 i dest="$IL_WORK/$1/dest/src"
  for ((i = 0; i < limit * 5; i++)); do
    tb_compare "$IL_WORK/src" "$dest" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if tb_compare "$IL_WORK/src" "$dest" >"$IL_WORK/$r.diff" 2>&1; then
    il_log "$r: tree byte-exact"
  else
    il_fail "$r: tree differs from the source:"
    head -n 40 "$IL_WORK/$r.diff"
  fi
  local left
  left=$(find "$IL_WORK/$r/tmp" -type f | head -n 5)
  if [[ -n "$left" ]]; then
    il_fail "$r: files left in the temp dir: $left"
  fi
}

# il_check_uftp_status: the stock sender's -S file shows every receiver connected and done.
il_check_uftp_status() {
  local f="$IL_WORK/sender.status" r id
  for r in "${IL_RECEIVERS[@]}"; do
    id=$(tb_id "$IL_NAME" "$r")
    # Stock prints the IDs it was given (-H) as given, and those that joined an open group in
    # upper case: compare without case.
    grep -qix "CONNECT;success;$id" "$f" || il_fail "sender status: no CONNECT;success for $id"
    grep -qi "^STATS;$id;" "$f" || il_fail "sender status: no STATS line for $id"
  done
  if grep '^RESULT;' "$f" | grep -v -q ';copy;'; then
    il_fail "sender status: a RESULT other than copy:"
    grep '^RESULT;' "$f" | grep -v ';copy;' | head -n 5
  fi
}

# il_finish: summary, log tails on failure, exit 0 or 1.
il_finish() {
  if ((IL_FAILS == 0)); then
    il_log "PASS"
    exit 0
  fi
  local log
  for log in "$IL_WORK"/*.log; do
    [[ -f "$log" ]] || continue
    echo "----- last lines of $(basename "$log") -----"
    tail -n 25 "$log"
  done
  il_log "FAILED ($IL_FAILS checks)"
  exit 1
}
