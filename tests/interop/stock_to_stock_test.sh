#!/usr/bin/env bash
# stock_to_stock_test.sh [LOSS_PCT]
#
# Validates the testbed itself: Debian's stock uftp (4.10.2, protocol 4.0, unencrypted) in
# the sender namespace sends the test tree to three stock uftpd in the receiver namespaces,
# closed group by client ID, block size 8800 on MTU 9000, LOSS_PCT % (default 0) UDP loss in
# each direction at each receiver. Passes when uftp exits 0, its status file shows all
# three receivers done with every file copied, every receiver's tree is byte-exact, every
# uftpd is still running, and tshark decodes every captured packet as clean UFTP4 (unless
# CAPTURE=0; a missing dumpcap or tshark fails the test). Exit 77 (skip) when not root, or
# when uftp, uftpd (or, with loss, nft) is missing.
# See interop_lib.sh for the environment knobs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/testbed.sh
source "$HERE/testbed.sh"
# shellcheck source=SCRIPTDIR/interop_lib.sh
source "$HERE/interop_lib.sh"

LOSS=${1:-0}
[[ "$LOSS" =~ ^[0-9]+$ ]] || {
  echo "usage: $0 [LOSS_PCT]" >&2
  exit 2
}

tools=(uftp uftpd)
((LOSS == 0)) || tools+=(nft)
il_preflight "${tools[@]}"
il_setup ss "$LOSS"

for r in "${IL_RECEIVERS[@]}"; do
  il_start_uftpd "$r"
done
il_wait_receivers_listening
il_capture_start

mapfile -t sender_args < <(il_uftp_sender_args)
il_log "uftp ${sender_args[*]} src"
t0=$SECONDS
rc=0
il_run_sender "$IL_WORK/sender.log" 90 uftp "${sender_args[@]}" "$IL_WORK/src" || rc=$?
il_log "uftp exited $rc after $((SECONDS - t0)) s"
settle=15 # seconds the receivers get to finish the group after the sender is done
((rc == 0)) || {
  il_fail "uftp exit status $rc"
  settle=1
}

il_check_uftp_status
for r in "${IL_RECEIVERS[@]}"; do
  il_check_tree "$r" "$settle"
  kill -0 "${IL_PID[$r]}" 2>/dev/null || il_fail "$r: uftpd is no longer running"
done
il_capture_check uftp4
il_finish
