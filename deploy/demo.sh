#!/usr/bin/env bash
# Volley's main job on the embedded default (kernel sockets): one sender pushes a generated file
# to three receivers by multicast, encrypted (UFTP 5 key exchange: ECDH P-256 signed with ECDSA,
# then AES-256-GCM), then every copy is checked byte for byte.
#
# Everything runs inside a private network namespace (its own loopback, multicast enabled), so
# no packet leaves this machine. Needs root (for the namespace).
#
#   deploy/demo.sh [SIZE_MIB] [RATE]     defaults: 256 MiB at max rate
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
RATE=${2:-max}
VOLLEY=${VOLLEY:-build/bin/volley}
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: needs root (it creates a network namespace)" >&2; exit 3; }
[[ -x $VOLLEY ]] || { echo "demo.sh: $VOLLEY not built (cmake --build build --target volley)" >&2; exit 3; }
VOLLEY=$(realpath "$VOLLEY")

NS=volley-demo-$$
WORK=$(mktemp -d /dev/shm/volley-demo.XXXXXX 2>/dev/null || mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up multicast on
ip -n "$NS" route add 224.0.0.0/4 dev lo
in_ns() { ip netns exec "$NS" "$@"; }

echo "== generating a ${SIZE_MIB} MiB file of random bytes in $WORK"
mkdir -p "$WORK/src" "$WORK"/r{1,2,3}
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/src/payload.bin"
want=$(sha256sum <"$WORK/src/payload.bin" | cut -d' ' -f1)

for i in 1 2 3; do
  in_ns "$VOLLEY" recv -D "$WORK/r$i" -I lo -U "0x0a63000$i" --sessions 1 -q \
    --status-file "$WORK/r$i.jsonl" &
  PIDS+=($!)
done
sleep 0.3
echo "== sending to 3 receivers (multicast 230.4.4.1 / private group, AES-256-GCM, block 8800, rate $RATE)"
start=$(date +%s.%N)
set +e
in_ns "$VOLLEY" send -I lo -b 8800 -R "$RATE" -H 0x0a630001,0x0a630002,0x0a630003 \
  --status-file "$WORK/send.jsonl" "$WORK/src/payload.bin"
send_rc=$?
set -e
end=$(date +%s.%N)
rx_rc=0
for p in "${PIDS[@]}"; do wait "$p" || rx_rc=1; done
PIDS=()

ok=1
for i in 1 2 3; do
  got=$(sha256sum <"$WORK/r$i/payload.bin" 2>/dev/null | cut -d' ' -f1 || true)
  if [[ $got == "$want" ]]; then echo "receiver $i: sha256 matches ($want)"; else echo "receiver $i: MISMATCH"; ok=0; fi
done
awk -v s="$start" -v e="$end" -v m="$SIZE_MIB" 'BEGIN {
  t = e - s; printf "== %d MiB to 3 receivers in %.2f s (whole session): %.2f Gbit/s\n", m, t, m * 8388608 / t / 1e9 }'
if [[ $ok -eq 1 && $send_rc -eq 0 && $rx_rc -eq 0 ]]; then
  echo "== verified: all 3 copies byte-exact"
else
  echo "== FAILED: sender exit $send_rc, receivers ok=$((1 - rx_rc)), copies ok=$ok"
  exit 1
fi
