#!/usr/bin/env bash
# volley_interop_test.sh MODE [LOSS_PCT]
#
# Volley against Debian's stock UFTP 4.10.2 (protocol 4.0, unencrypted) on the namespace
# testbed: MTU 9000, block size 8800, closed group of three receivers, LOSS_PCT % (default 0)
# UDP loss in each direction at each receiver.
#   MODE volley-to-uftpd   `volley send` in the sender namespace, stock uftpd x3
#   MODE uftp-to-volley    stock uftp in the sender namespace, `volley recv` x3
# Passes when the sender exits 0 (for volley: every receiver got every file), every
# receiver's tree is byte-exact, every `volley recv` exits 0 after its one session (every
# stock uftpd is still running), and tshark decodes every packet seen at the sender as clean
# UFTP4 (unless CAPTURE=0; a missing dumpcap or tshark fails the test).
# Exit 77 (skip) when the volley binary is not built, when not root, or tools are missing.
#
# VOLLEY (default build/bin/volley, relative to the working directory) is the binary.
# VOLLEY_LOG_LEVEL (info) is passed as --log-level. See interop_lib.sh for other knobs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/testbed.sh
source "$HERE/testbed.sh"
# shellcheck source=SCRIPTDIR/interop_lib.sh
source "$HERE/interop_lib.sh"

usage() {
  echo "usage: $0 volley-to-uftpd|uftp-to-volley [LOSS_PCT]" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
MODE=$1
LOSS=${2:-0}
[[ "$MODE" == volley-to-uftpd || "$MODE" == uftp-to-volley ]] || usage
[[ "$LOSS" =~ ^[0-9]+$ ]] || usage

VOLLEY=${VOLLEY:-build/bin/volley}
if [[ ! -f "$VOLLEY" || ! -x "$VOLLEY" ]]; then
  il_skip "volley binary not built ($VOLLEY)"
fi
VOLLEY=$(cd "$(dirname "$VOLLEY")" && pwd)/$(basename "$VOLLEY") # the namespaces share our cwd, but be explicit
VOLLEY_LOG_LEVEL=${VOLLEY_LOG_LEVEL:-info}

tools=(uftp uftpd)
((LOSS == 0)) || tools+=(nft)
il_preflight "${tools[@]}"
if [[ "$MODE" == volley-to-uftpd ]]; then
  il_setup vu "$LOSS"
else
  il_setup uv "$LOSS"
fi

# `volley send` with the same session shape as the stock sender in il_uftp_sender_args:
# rate in bits/s (200M = stock's -R 200000 Kbps), protocol 4.0 for stock uftpd.
volley_send_args() {
  printf '%s\n' send -I eth0 -M "$IL_PUB_ADDR" -p "$PORT" -R "$((RATE_KBPS / 1000))M" \
    -b "$BLOCKSIZE" -H "$(il_ids)" --protocol 4 --robust 10 --grtt 0.05:0.01:1.0 \
    --status-file "$IL_WORK/sender.status" --log-level "$VOLLEY_LOG_LEVEL"
  # CIPHER (e.g. aes256-gcm): UFTP 4's ECDH + ECDSA key exchange, then AES-GCM both ways.
  if [[ -n "${CIPHER:-}" ]]; then printf '%s\n' --cipher "$CIPHER"; else printf '%s\n' --no-encrypt; fi
  [[ -z "${CLIENT_AUTH:-}" ]] || printf '%s\n' --client-auth
}

# `volley recv` for one session, with the same directories and ID as il_start_uftpd.
# With CLIENT_AUTH=1 each receiver holds a signing key to prove (uftp -c).
start_volley_recv() {
  local r=$1 key_args=()
  if [[ -n "${CLIENT_AUTH:-}" ]]; then
    "$VOLLEY" keys gen ec:P-256 -o "$IL_WORK/$r.pem" >/dev/null || il_fail "$r: keys gen failed"
    key_args=(--key "$IL_WORK/$r.pem")
  fi
  tb_bg "$IL_NAME" "$r" "$IL_WORK/$r.log" "$VOLLEY" recv -I eth0 -M "$IL_PUB_ADDR" \
    -p "$PORT" -U "$(tb_id "$IL_NAME" "$r")" -D "$IL_WORK/$r/dest" -T "$IL_WORK/$r/tmp" \
    --sessions 1 --status-file "$IL_WORK/$r.status" --log-level "$VOLLEY_LOG_LEVEL" "${key_args[@]}"
  IL_PID[$r]=$TB_LAST_PID
}

# JSON-lines status files: every line must parse (checked with jq when it is installed).
check_json_lines() {
  local f=$1 who=$2
  if [[ ! -s "$f" ]]; then
    il_fail "$who: status file $f missing or empty"
  elif command -v jq >/dev/null 2>&1 && ! jq -e . "$f" >/dev/null 2>&1; then
    il_fail "$who: status file $f is not valid JSON lines"
  fi
}

for r in "${IL_RECEIVERS[@]}"; do
  if [[ "$MODE" == volley-to-uftpd ]]; then
    il_start_uftpd "$r"
  else
    start_volley_recv "$r"
  fi
done
il_wait_receivers_listening
il_capture_start

t0=$SECONDS
rc=0
if [[ "$MODE" == volley-to-uftpd ]]; then
  mapfile -t sender_args < <(volley_send_args)
  il_log "volley ${sender_args[*]} src"
  il_run_sender "$IL_WORK/sender.log" 90 "$VOLLEY" "${sender_args[@]}" "$IL_WORK/src" || rc=$?
  il_log "volley send exited $rc after $((SECONDS - t0)) s"
  ((rc == 0)) || il_fail "volley send exit status $rc"
else
  mapfile -t sender_args < <(il_uftp_sender_args)
  il_log "uftp ${sender_args[*]} src"
  il_run_sender "$IL_WORK/sender.log" 90 uftp "${sender_args[@]}" "$IL_WORK/src" || rc=$?
  il_log "uftp exited $rc after $((SECONDS - t0)) s"
  ((rc == 0)) || il_fail "uftp exit status $rc"
fi
settle=15 # seconds the receivers get to finish the group after the sender is done
((rc == 0)) || settle=1

if [[ "$MODE" == volley-to-uftpd ]]; then
  check_json_lines "$IL_WORK/sender.status" "volley send"
  for r in "${IL_RECEIVERS[@]}"; do
    il_check_tree "$r" "$settle"
    kill -0 "${IL_PID[$r]}" 2>/dev/null || il_fail "$r: uftpd is no longer running"
  done
else
  il_check_uftp_status
  for r in "${IL_RECEIVERS[@]}"; do
    # --sessions 1: each receiver exits by itself once the session is over.
    rrc=0
    tb_wait_pid "${IL_PID[$r]}" "$((settle + 5))" || rrc=$?
    if ((rrc == 0)); then
      il_log "$r: volley recv exited 0"
    else
      il_fail "$r: volley recv exit status $rrc (124: still running)"
    fi
    il_check_tree "$r" 1
    check_json_lines "$IL_WORK/$r.status" "$r volley recv"
  done
fi
il_capture_check uftp4
if [[ -n "${CIPHER:-}" ]] && il_capture_wanted; then
  # Encrypted for real: data and file info only inside ENCRYPTED, none in the clear.
  pcap=$IL_WORK/sender.pcapng
  enc=$(tshark -r "$pcap" -d "udp.port==$PORT,uftp" -Y 'uftp4.func == 18' 2>/dev/null | wc -l)
  clear=$(tshark -r "$pcap" -d "udp.port==$PORT,uftp" \
    -Y 'uftp4.func == 7 || uftp4.func == 9 || uftp4.func == 10' 2>/dev/null | wc -l)
  il_log "encrypted session: $enc ENCRYPTED packets, $clear FILEINFO/FILESEG/DONE in the clear"
  ((enc > 100)) || il_fail "only $enc ENCRYPTED packets in an encrypted session"
  ((clear == 0)) || il_fail "$clear FILEINFO/FILESEG/DONE packets in the clear"
  if [[ -n "${CLIENT_AUTH:-}" ]]; then
    ck=$(tshark -r "$pcap" -d "udp.port==$PORT,uftp" -Y 'uftp4.func == 3' 2>/dev/null | wc -l)
    il_log "client authentication: $ck CLIENT_KEY packets"
    ((ck >= 3)) || il_fail "only $ck CLIENT_KEY packets for 3 receivers"
  fi
fi
il_finish
