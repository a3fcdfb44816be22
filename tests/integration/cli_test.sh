#!/usr/bin/env bash
# cli_test.sh CASE: the `volley` binary end to end, one CTest per CASE (tests/integration/
# CMakeLists.txt). Real processes, real sockets, real files; every wait is bounded.
#
#   help              --help of volley / send / recv; no command, an unknown command
#   usage_errors      bad options exit 2 with a message naming the problem
#   setup_errors      a missing path to send, a missing destination: exit 3
#   unicast           recv + send over 127.0.0.1: byte-exact tree, both status files
#   multicast_v5      3 receivers in a private namespace, protocol 5 (0x50), tshark check
#   multicast_v4      the same with protocol 4 (0x40)
#   multicast_v5_loss5, multicast_v4_loss5
#                     the same with 5 % of the datagrams to port 1044 dropped (nftables)
#   closed_group_absent
#                     -H names two receivers, one runs: sender exit 1, never_registered
#   recv_interrupt_resume
#                     SIGINT a receiver mid-file: .part/.state kept, exit 130; a second send
#                     resumes (fewer data packets than the whole file)
#   send_interrupt    SIGINT the sender mid-file: exit 130, the receiver's session fails,
#                     nothing at the final name
#
# Traffic stays on 127.0.0.1 (help, usage, setup and unicast cases, which need no root) or
# inside a network namespace the case creates (loopback only, 10.99.0.1/24 on lo, multicast
# routed on lo). Namespace cases need root and exit 77 (skipped) without it; the multicast
# cases FAIL when dumpcap, tshark or nft are missing (deploy/install-deps.sh installs them).
#
# Environment: VOLLEY (default build/bin/volley), CLI_TEST_DEADLINE (100 s; the case stops
# itself then, before CTest's TIMEOUT of 120 s, so its EXIT trap can clean up), KEEP_WORKDIR=1
# (keep the work directory even when the case passes; a failing case always keeps it).
# shellcheck disable=SC2317 # cleanup runs from a trap, the case functions as "case_$CASE"
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../interop/testbed.sh
source "$HERE/../interop/testbed.sh" # tb_make_tree, tb_compare, tb_wait_pid, _tb_prng
# shellcheck source=SCRIPTDIR/../interop/interop_lib.sh
source "$HERE/../interop/interop_lib.sh" # il_log, il_fail, il_skip, il_finish (IL_WORK)
CHECK_STATUS=(python3 "$HERE/check_status.py")
TSHARK_CHECK=$HERE/../interop/tshark_check.sh

CASE=${1:-}
VOLLEY=${VOLLEY:-build/bin/volley}
WORK=
NS=
PIDS=()
WATCHDOG=
IDS=(0x0a630001 0x0a630002 0x0a630003)
ID_LIST=0x0a630001,0x0a630002,0x0a630003

log() { il_log "$@"; }
fail() { il_fail "$@"; }
die() {
  il_fail "$@"
  il_finish
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  if [[ -n "$WATCHDOG" ]]; then kill -TERM "$WATCHDOG" 2>/dev/null || true; fi
  # Only what this script started, by PID (each is a `timeout --foreground` wrapper, which
  # passes the signal on to its one child and kills it itself when it outlives -k).
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do tb_wait_pid "$pid" 10 >/dev/null 2>&1 || true; done
  if [[ -n "$NS" ]] && [[ -e "/run/netns/$NS" ]]; then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns delete "$NS" 2>/dev/null || true
  fi
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if ((rc == 0 || rc == 77)) && [[ "${KEEP_WORKDIR:-0}" == 0 ]]; then
      rm -rf "$WORK"
    else
      echo "work directory kept: $WORK"
    fi
  fi
  exit "$rc"
}

# setup: work directory, EXIT trap, and a watchdog that stops this script at the deadline.
setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/volley-cli.$CASE.XXXXXX")
  IL_WORK=$WORK # il_finish prints the tails of $WORK/*.log on failure
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  (
    trap 'kill "$!" 2>/dev/null; exit 0' TERM # $!: the sleep
    sleep "${CLI_TEST_DEADLINE:-100}" &
    wait "$!"
    echo "deadline of ${CLI_TEST_DEADLINE:-100}s reached, stopping" >&2
    kill -TERM $$
  ) &
  WATCHDOG=$!
}

# bg LOG LIMIT CMD...: start CMD in the background, stdout+stderr to LOG, stdin from
# /dev/null, killed after LIMIT seconds; its PID in BG_PID. `timeout --foreground` so that a
# signal sent to BG_PID reaches the command exactly once (plain timeout also signals its
# whole process group, and a second SIGINT makes volley exit at once, skipping its cleanup).
bg() {
  local log=$1 limit=$2
  shift 2
  timeout --foreground -k 5 "$limit" "$@" </dev/null >"$log" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# expect_rc WHAT WANT GOT
expect_rc() {
  if [[ "$3" == "$2" ]]; then log "$1: exit $3"; else fail "$1: exit $3, want $2"; fi
}

# wait_rc WHAT WANT PID LIMIT: wait up to LIMIT seconds for PID (from bg), expect status WANT.
wait_rc() {
  local rc=0
  tb_wait_pid "$3" "$4" || rc=$?
  expect_rc "$1" "$2" "$rc"
}

# expect_grep WHAT FILE FIXED-STRING
expect_grep() {
  if grep -qF -- "$3" "$2"; then
    log "$1: says '$3'"
  else
    fail "$1: '$3' not in its output:"
    head -n 20 "$2"
  fi
}

# run_cli NAME WANT_RC NEEDLE ARGS...: run volley (bounded), expect its exit status and
# NEEDLE (fixed string) in its stdout+stderr.
run_cli() {
  local name=$1 want=$2 needle=$3 rc=0
  shift 3
  timeout -k 5 20 "$VOLLEY" "$@" </dev/null >"$WORK/$name.out" 2>&1 || rc=$?
  expect_rc "volley $*" "$want" "$rc"
  expect_grep "volley $*" "$WORK/$name.out" "$needle"
}

free_udp_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# need_root_netns TOOL...: skip unless root and able to create namespaces; FAIL when a TOOL
# is missing (the namespace cases depend on them by design).
need_root_netns() {
  ((EUID == 0)) || il_skip "needs root (network namespaces)"
  command -v ip >/dev/null 2>&1 || il_skip "ip (iproute2) not installed"
  unshare --net true 2>/dev/null || il_skip "cannot create network namespaces here"
  local tool
  for tool in openssl "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (deploy/install-deps.sh installs it)"
  done
}

# ns_up: a private namespace whose loopback carries multicast (like deploy/demo.sh), with
# 10.99.0.1/24 as the source of everything sent to a group. UDP GSO is off on lo (gso_max_segs
# 1) so that a capture sees every datagram as its own frame, as it would on a wire: a GSO
# super-packet shows as one frame whose later segments tshark never decodes.
ns_up() {
  NS="volley-cli-$CASE-$$"
  ip netns add "$NS"
  ip -n "$NS" link set lo up multicast on
  ip -n "$NS" link set lo gso_max_segs 1
  ip -n "$NS" addr add 10.99.0.1/24 dev lo
  ip -n "$NS" route add 224.0.0.0/4 dev lo src 10.99.0.1
}

in_ns() { ip netns exec "$NS" "$@"; }

# ns_listening PORT N: N sockets in $NS have bound UDP PORT (bounded: 10 s).
ns_listening() {
  local i
  for ((i = 0; i < 100; i++)); do
    (($(in_ns ss -Hlun "sport = :$1" 2>/dev/null | wc -l) >= $2)) && return 0
    sleep 0.1
  done
  return 1
}

# A tree with every kind of entry: tb_make_tree's files (empty ones, exact block multiples,
# more than one section at block size 1300, nested directories, a name with spaces) plus a
# symlink to a file and one to a directory.
make_tree() {
  local dir=$1
  tb_make_tree "$dir"
  ln -s dir1/a.bin "$dir/link_to_a"
  ln -s dir1/dir2 "$dir/link_to_dir2"
  touch -h -d @1700000000 "$dir/link_to_a" "$dir/link_to_dir2" "$dir"
}

# check_tree SRC DEST: byte-exact copy, link targets included, and an empty temp dir.
# same_tree SRC DEST WHO: DEST/<basename SRC> is byte-exact with SRC.
same_tree() {
  local src=$1 dest=$2 who=$3
  if tb_compare "$src" "$dest/$(basename "$src")" >"$WORK/$who.diff" 2>&1; then
    log "$who: tree byte-exact"
  else
    fail "$who: tree differs from the source:"
    head -n 30 "$WORK/$who.diff"
  fi
}

# wait_udp_port PORT: until something here listens on UDP PORT (at most 5 s).
wait_udp_port() {
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]] && return 0
    sleep 0.1
  done
  return 1
}

check_tree() {
  local src=$1 dest=$2 who=$3
  same_tree "$src" "$dest" "$who"
  local l want got
  for l in link_to_a:dir1/a.bin link_to_dir2:dir1/dir2; do
    want=${l#*:}
    got=$(readlink "$dest/$(basename "$src")/${l%%:*}" 2>/dev/null || echo "(no link)")
    [[ "$got" == "$want" ]] || fail "$who: ${l%%:*} -> $got, want -> $want"
  done
  local left
  left=$(find "$dest/.volley-tmp" -mindepth 1 2>/dev/null | head -n 5)
  [[ -z "$left" ]] || fail "$who: left in the temp dir: $left"
}

check_status() {
  local who=$1
  shift
  if "${CHECK_STATUS[@]}" "$@" 2>"$WORK/$who.check"; then
    log "$who: status file checked ($1)"
  else
    fail "$who: status file check failed:"
    cat "$WORK/$who.check"
  fi
}

status_get() { "${CHECK_STATUS[@]}" get "$@"; }

# wait_capturing LOG: dumpcap has opened the interface (bounded).
wait_capturing() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'Capturing on' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "dumpcap did not start:"
  cat "$1"
  return 1
}

# stop_capture PID PCAP: let dumpcap drain the kernel buffer (the file stops growing), then
# stop it; it writes its statistics to its log on the way out.
stop_capture() {
  local pid=$1 pcap=$2 i prev=-1 size
  for ((i = 0; i < 50; i++)); do
    size=$(stat -c %s "$pcap" 2>/dev/null || echo 0)
    [[ "$size" == "$prev" ]] && break
    prev=$size
    sleep 0.4
  done
  kill -TERM "$pid" 2>/dev/null || true
  tb_wait_pid "$pid" 15 || true
}

# wait_part_growing DEST BYTES LIMIT: a .part file in DEST/.volley-tmp holds at least BYTES
# of data (allocated blocks: the receiver preallocates the file at full size, sparse).
wait_part_growing() {
  local dest=$1 bytes=$2 limit=$3 i f
  for ((i = 0; i < limit * 10; i++)); do
    for f in "$dest"/.volley-tmp/*.part; do
      [[ -f "$f" ]] || continue
      if (($(stat -c %b "$f") * 512 >= bytes)); then
        log "$(basename "$f"): $(($(stat -c %b "$f") * 512 / 1048576)) MiB received"
        return 0
      fi
    done
    sleep 0.1
  done
  fail "no .part file with $bytes bytes in $dest/.volley-tmp after ${limit}s"
  return 1
}

# ---------------------------------------------------------------------------------------------

case_help() {
  run_cli help_top 0 "Examples" --help
  run_cli help_send 0 "Examples" send --help
  expect_grep "volley send --help" "$WORK/help_send.out" "--rate"
  expect_grep "volley send --help" "$WORK/help_send.out" "Exit status"
  run_cli help_recv 0 "Examples" recv --help
  expect_grep "volley recv --help" "$WORK/help_recv.out" "--dest"
  run_cli version 0 "volley 0.1.0" --version
  run_cli none 2 "A subcommand is required"
  expect_grep "volley (no command)" "$WORK/none.out" "Run with --help"
  run_cli bogus 2 "unknown command 'bogus'" bogus
  expect_grep "volley bogus" "$WORK/bogus.out" "Run with --help"
  run_cli bogus_opt 2 "--no-such-option" send --no-such-option x
}

case_keys() {
  local k=$WORK/sender.pem r=$WORK/receiver.pem
  run_cli keys_gen 0 "ECDSA, curve prime256v1" keys gen ec:P-256 -o "$k"
  if [[ $(stat -c %a "$k") == 600 ]]; then log "key file mode 0600"; else fail "key file mode $(stat -c %a "$k")"; fi
  run_cli keys_again 3 "refusing to overwrite" keys gen ec:P-384 -o "$k"
  run_cli keys_rsa 0 "RSA, 2048 bits" keys gen rsa:2048 -o "$r"
  run_cli keys_bad_curve 2 "unknown curve 'P-999'" keys gen ec:P-999 -o "$WORK/x.pem"
  run_cli keys_bad_type 2 "is not a key type" keys gen dsa:1024 -o "$WORK/x.pem"
  run_cli keys_missing 3 "$WORK/none.pem" keys show "$WORK/none.pem"
  # The fingerprint is the one stock UFTP prints for the same file (and expects in its lists).
  local f stock
  for f in "$k" "$r"; do
    run_cli keys_show 0 "SHA-256" keys show "$f"
    stock=$(uftp_keymgt "$f" 2>&1 | sed -n 's/.*fingerprint: //p' | tail -n 1)
    [[ -n "$stock" ]] || fail "uftp_keymgt printed no fingerprint for $f"
    expect_grep "volley keys show $f" "$WORK/keys_show.out" "fingerprint (UFTP, SHA-1): $stock"
  done
}

# Every cipher, hash and curve choice, both protocols, end to end over 127.0.0.1: the receiver
# accepts whatever the signed ANNOUNCE says and the tree arrives byte-exact.
case_crypto_choices() {
  local src=$WORK/src port combo
  mkdir -p "$src/sub"
  _tb_prng 700000 choices >"$src/a.bin"
  echo "x" >"$src/sub/b.txt"
  for combo in "--protocol 5 --hash sha384 --curve P-384" "--protocol 5 --hash sha512 --curve P-521" \
    "--protocol 5 --cipher aes128-gcm" "--protocol 4 --hash sha384 --curve P-384" \
    "--protocol 4 --cipher aes128-gcm --curve P-521"; do
    port=$(free_udp_port)
    rm -rf "$WORK/dest" && mkdir -p "$WORK/dest"
    bg "$WORK/recv.log" 30 "$VOLLEY" recv -M 127.0.0.1 -p "$port" -U 0x0a630001 -D "$WORK/dest" \
      --sessions 1
    local rpid=$BG_PID
    wait_udp_port "$port" || die "the receiver is not listening on UDP $port"
    # shellcheck disable=SC2086 # the combination is a list of options
    bg "$WORK/send.log" 30 "$VOLLEY" send -M 127.0.0.1 -p "$port" -R 500M $combo "$src"
    wait_rc "send $combo" 0 "$BG_PID" 30
    wait_rc "recv ($combo)" 0 "$rpid" 20
    expect_grep "send $combo" "$WORK/send.log" "encrypted:"
    log "$combo:"
    same_tree "$src" "$WORK/dest" receiver
  done
  # A receiver that requires encryption does not join a session in the clear.
  port=$(free_udp_port)
  rm -rf "$WORK/dest" && mkdir -p "$WORK/dest"
  bg "$WORK/recv.log" 30 "$VOLLEY" recv -M 127.0.0.1 -p "$port" -U 0x0a630001 -D "$WORK/dest" \
    --require-encryption
  local rpid=$BG_PID
  sleep 0.5
  bg "$WORK/send.log" 30 "$VOLLEY" send -M 127.0.0.1 -p "$port" --no-encrypt --robust 10 \
    --grtt 0.05:0.01:1 "$src"
  wait_rc "send --no-encrypt to a receiver requiring encryption" 1 "$BG_PID" 30
  expect_grep "send --no-encrypt" "$WORK/send.log" "no receivers registered"
  if [[ -e "$WORK/dest/src" ]]; then fail "files arrived in the clear"; else log "nothing received in the clear"; fi
  kill -INT "$rpid" 2>/dev/null || true
}

case_usage_errors() {
  # Each would send to 127.0.0.1 on an unused port if the check were missing: never further.
  local port f=$WORK/file
  port=$(free_udp_port)
  echo data >"$f"
  local to=(-M 127.0.0.1 -p "$port")
  run_cli rate 2 "--rate '10X': expected e.g. 800M, 10G or max" send "${to[@]}" -R 10X "$f"
  run_cli grtt 2 "--grtt '0.5:2:1': give INIT alone or INIT:MIN:MAX with MIN <= INIT <= MAX" \
    send "${to[@]}" --grtt 0.5:2:1 "$f"
  run_cli grtt_text 2 "--grtt 'fast'" send "${to[@]}" --grtt fast "$f"
  run_cli hosts 2 "--hosts: '0' is not a receiver ID" send "${to[@]}" -H 0,zz "$f"
  run_cli hosts2 2 "--hosts: 'zz' is not a receiver ID" send "${to[@]}" -H 0x0a630001,zz "$f"
  run_cli hosts_file 2 "cannot read host list $WORK/no-hosts" \
    send "${to[@]}" -H "@$WORK/no-hosts" "$f"
  run_cli block 2 "--block-size: Value 9000 not in range 256 to 8800" \
    send "${to[@]}" -b 9000 "$f"
  run_cli protocol 2 "--protocol" send "${to[@]}" --protocol 3 "$f"
  run_cli nothing 2 "nothing to send" send "${to[@]}"
  run_cli loglevel 2 "unknown log level 'loud'" send "${to[@]}" --log-level loud "$f"
  run_cli no_dest 2 "--dest is required" recv -M 127.0.0.1 -p "$port"
  run_cli recv_id 2 "--id '0' is not an ID" recv -D "$WORK" -M 127.0.0.1 -p "$port" -U 0
  run_cli recv_pub 2 "--public: 'nowhere' is not an address" recv -D "$WORK" -M nowhere -p "$port"
}

case_setup_errors() {
  local port
  port=$(free_udp_port)
  run_cli missing_path 3 "$WORK/no/such/file" send -M 127.0.0.1 -p "$port" "$WORK/no/such/file"
  expect_grep "send of a missing path" "$WORK/missing_path.out" "No such file or directory"
  run_cli missing_dest 3 "$WORK/no-such-dir" recv -D "$WORK/no-such-dir" -M 127.0.0.1 -p "$port"
  run_cli bad_status 3 "cannot open status file $WORK/no-dir/s.jsonl" \
    send -M 127.0.0.1 -p "$port" --status-file "$WORK/no-dir/s.jsonl" "$HERE/cli_test.sh"
}

case_unicast() {
  command -v openssl >/dev/null 2>&1 || die "openssl not installed (the test tree needs it)"
  local port src=$WORK/src dest=$WORK/dest rpid
  make_tree "$src"
  mkdir -p "$dest"
  port=$(free_udp_port)
  log "unicast over 127.0.0.1 port $port"
  bg "$WORK/recv.log" 60 "$VOLLEY" recv -M 127.0.0.1 -p "$port" -U 0x0a630001 -D "$dest" \
    --sessions 1 --status-file "$WORK/recv.jsonl"
  rpid=$BG_PID
  wait_udp_port "$port" || die "the receiver is not listening on UDP $port"
  bg "$WORK/send.log" 60 "$VOLLEY" send -M 127.0.0.1 -p "$port" -R 500M \
    --status-file "$WORK/send.jsonl" "$src"
  wait_rc sender 0 "$BG_PID" 60
  wait_rc receiver 0 "$rpid" 20
  check_tree "$src" "$dest" receiver
  check_status sender sender "$WORK/send.jsonl" --tree "$src" --ids 0x0a630001
  local group
  group=$(status_get "$WORK/send.jsonl" session group) || group=
  check_status receiver receiver "$WORK/recv.jsonl" --tree "$src" --group "$group"
}

# multicast PROTOCOL BLOCKSIZE LOSS_PCT: three receivers, a capture, the tshark check.
case_multicast() { # case_multicast PROTOCOL BLOCKSIZE LOSS_PCT [RATE]
  local proto=$1 bs=$2 loss=$3 rate=${4:-200M}
  need_root_netns dumpcap tshark nft
  ns_up
  local src=$WORK/src expect=uftp$proto
  make_tree "$src"
  if ((loss > 0)); then
    # Datagrams to the receivers' port only (never the receivers' replies), at random, on the
    # way in: one multicast datagram is dropped for all three receivers at once.
    in_ns nft -f - <<EOF
table inet volley_loss {
  chain in {
    type filter hook input priority -150; policy accept;
    udp dport 1044 numgen random mod 100 < $loss counter drop
  }
}
EOF
  fi
  bg "$WORK/dumpcap.log" 90 ip netns exec "$NS" dumpcap -q -B 128 -i lo -f 'udp port 1044' \
    -w "$WORK/capture.pcapng" -a duration:80
  local cap=$BG_PID
  wait_capturing "$WORK/dumpcap.log" || il_finish
  local i rpids=()
  for i in 1 2 3; do
    mkdir -p "$WORK/r$i"
    bg "$WORK/r$i.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[i - 1]}" \
      -D "$WORK/r$i" --sessions 1 --status-file "$WORK/r$i.jsonl"
    rpids+=("$BG_PID")
  done
  ns_listening 1044 3 || die "receivers are not listening on UDP 1044"
  sleep 0.3 # the multicast joins follow the binds
  log "protocol $proto, block $bs, loss $loss %: 3 receivers"
  local rc
  # In the clear, so the capture can count every FILESEG (encrypted_trust_* checks encryption).
  bg "$WORK/send.log" 60 ip netns exec "$NS" "$VOLLEY" send --no-encrypt -I lo -R "$rate" -b "$bs" \
    --protocol "$proto" -H "$ID_LIST" --status-file "$WORK/send.jsonl" "$src"
  wait_rc sender 0 "$BG_PID" 60
  for i in 1 2 3; do
    wait_rc "receiver r$i" 0 "${rpids[i - 1]}" 20
  done
  stop_capture "$cap" "$WORK/capture.pcapng"
  local repairs=no lossy=()
  ((loss == 0)) || repairs=yes lossy=(--lossy)
  for i in 1 2 3; do
    check_tree "$src" "$WORK/r$i" "r$i"
    check_status "r$i" receiver "$WORK/r$i.jsonl" --tree "$src" "${lossy[@]}"
  done
  check_status sender sender "$WORK/send.jsonl" --tree "$src" --blocksize "$bs" \
    --ids "$ID_LIST" --repairs "$repairs"
  if ((loss > 0)); then
    local dropped
    dropped=$(in_ns nft list table inet volley_loss | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
    if [[ "$dropped" =~ ^[0-9]+$ ]] && ((dropped > 0)); then
      log "nftables dropped $dropped datagrams"
    else
      fail "nftables dropped nothing ('$dropped'): the loss variant tested no loss"
    fi
  fi

  # The wire check: dumpcap saw every datagram (no drops), tshark decodes every frame as clean
  # UFTP of this version, and it counts exactly as many FILESEGs as the sender sent.
  local stats
  stats=$(grep -o "Packets received/dropped on interface[^(]*" "$WORK/dumpcap.log" || true)
  if [[ "$stats" =~ :\ ([0-9]+)/0\ *$ ]] && ((BASH_REMATCH[1] > 0)); then
    log "dumpcap: $stats"
  else
    fail "dumpcap dropped packets or reported nothing: '$stats'"
  fi
  rc=0
  bash "$TSHARK_CHECK" --expect "$expect" "$WORK/capture.pcapng" >"$WORK/tshark.out" 2>&1 || rc=$?
  cat "$WORK/tshark.out"
  expect_rc "tshark_check.sh --expect $expect" 0 "$rc"
  local segs sent
  segs=$(awk -v p="$expect" '$1 == p && $2 == "FILESEG" { print $3 }' "$WORK/tshark.out")
  sent=$(status_get "$WORK/send.jsonl" session data_packets) || sent=
  if [[ -n "$segs" && "$segs" == "$sent" ]]; then
    log "tshark decoded all $segs FILESEGs the sender sent"
  else
    fail "tshark decoded ${segs:-no} FILESEGs, the sender sent ${sent:-?}"
  fi
}

# Encrypted (UFTP 4 key exchange, AES-256-GCM) with trust: r1 pins the sender's key and gets the
# files; r2 pins another key and refuses the session, naming the sender's ID and both
# fingerprints; the capture shows the data only inside ENCRYPTED.
case_encrypted_trust() { # case_encrypted_trust PROTOCOL (4 or 5)
  local proto=$1
  need_root_netns
  ns_up
  local src=$WORK/src sender_key=$WORK/sender.pem other=$WORK/other.pem fp wrong
  mkdir -p "$src/sub" "$WORK/r1" "$WORK/r2"
  _tb_prng 2000000 enc >"$src/a.bin"
  echo "secret" >"$src/sub/x.txt"
  "$VOLLEY" keys gen ec:P-256 -o "$sender_key" >/dev/null || die "keys gen failed"
  "$VOLLEY" keys gen ec:P-256 -o "$other" >/dev/null || die "keys gen failed"
  fp=$("$VOLLEY" keys show "$sender_key" | sed -n 's/.*fingerprint (UFTP, SHA-1): //p')
  wrong=$("$VOLLEY" keys show "$other" | sed -n 's/.*fingerprint (UFTP, SHA-1): //p')
  bg "$WORK/r1.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[0]}" -D "$WORK/r1" \
    --sessions 1 --server-key "0x0a6300ff=$fp"
  local r1=$BG_PID
  bg "$WORK/r2.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[1]}" -D "$WORK/r2" \
    --server-key "0x0a6300ff=$wrong"
  local r2=$BG_PID
  ns_listening 1044 2 || die "the receivers are not listening on UDP 1044"
  sleep 0.3
  ip netns exec "$NS" dumpcap -q -i lo -f 'udp port 1044' -w "$WORK/enc.pcapng" -a duration:30 \
    >"$WORK/dumpcap.log" 2>&1 &
  local cap=$!
  PIDS+=("$cap")
  sleep 1
  bg "$WORK/send.log" 60 ip netns exec "$NS" "$VOLLEY" send -I lo -R 200M --protocol "$proto" \
    --cipher aes256-gcm --key "$sender_key" --server-id 0x0a6300ff --robust 10 --grtt 0.05:0.01:1 "$src"
  wait_rc sender 0 "$BG_PID" 60
  wait_rc "receiver r1" 0 "$r1" 20
  kill -INT "$r2" 2>/dev/null || true
  kill -INT "$cap" 2>/dev/null || true
  wait "$cap" 2>/dev/null || true
  same_tree "$src" "$WORK/r1" r1
  if [[ -e "$WORK/r2/src" ]]; then fail "r2 received files"; else log "r2: received nothing"; fi
  expect_grep "receiver r2" "$WORK/r2.log" "sender 0x0a6300ff"
  expect_grep "receiver r2" "$WORK/r2.log" "$fp"
  expect_grep "receiver r2" "$WORK/r2.log" "$wrong"
  expect_grep "receiver r1" "$WORK/r1.log" "encrypted, sender key $fp"
  local enc clear
  enc=$(tshark -r "$WORK/enc.pcapng" -d udp.port==1044,uftp -Y "uftp$proto.func == 18" 2>/dev/null | wc -l)
  clear=$(tshark -r "$WORK/enc.pcapng" -d udp.port==1044,uftp \
    -Y "uftp$proto.func == 7 || uftp$proto.func == 9 || uftp$proto.func == 10" 2>/dev/null | wc -l)
  log "capture: $enc ENCRYPTED, $clear FILEINFO/FILESEG/DONE in the clear"
  ((enc > 100)) || fail "only $enc ENCRYPTED packets"
  ((clear == 0)) || fail "$clear file packets in the clear"
}

# Client authentication from a host file: "ID|FINGERPRINT" lines admit only those receivers with
# those keys. r1 holds its listed key; r2 holds another key than the one listed for it.
case_client_auth() {
  need_root_netns
  ns_up
  local src=$WORK/src fp1 fp2 other
  mkdir -p "$src" "$WORK/r1" "$WORK/r2"
  _tb_prng 500000 ca >"$src/a.bin"
  for k in r1 r2 listed2; do
    "$VOLLEY" keys gen ec:P-256 -o "$WORK/$k.pem" >/dev/null || die "keys gen failed"
  done
  fp1=$("$VOLLEY" keys show "$WORK/r1.pem" | sed -n 's/.*fingerprint (UFTP, SHA-1): //p')
  fp2=$("$VOLLEY" keys show "$WORK/r2.pem" | sed -n 's/.*fingerprint (UFTP, SHA-1): //p')
  other=$("$VOLLEY" keys show "$WORK/listed2.pem" | sed -n 's/.*fingerprint (UFTP, SHA-1): //p')
  printf '# receivers and their keys\n%s|%s\n%s|%s\n' "${IDS[0]}" "$fp1" "${IDS[1]}" "$other" \
    >"$WORK/hosts"
  bg "$WORK/r1.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[0]}" -D "$WORK/r1" \
    --key "$WORK/r1.pem" --sessions 1
  local r1=$BG_PID
  bg "$WORK/r2.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[1]}" -D "$WORK/r2" \
    --key "$WORK/r2.pem"
  local r2=$BG_PID
  ns_listening 1044 2 || die "the receivers are not listening on UDP 1044"
  sleep 0.3
  bg "$WORK/send.log" 60 ip netns exec "$NS" "$VOLLEY" send -I lo -R 200M -H "@$WORK/hosts" \
    --robust 10 --grtt 0.05:0.01:1 "$src"
  wait_rc "sender (one listed receiver holds the wrong key)" 1 "$BG_PID" 60
  wait_rc "receiver r1" 0 "$r1" 20
  kill -INT "$r2" 2>/dev/null || true
  if cmp -s "$src/a.bin" "$WORK/r1/src/a.bin"; then log "r1: byte-exact"; else fail "r1: differs"; fi
  if [[ -e "$WORK/r2/src" ]]; then fail "r2 received files"; else log "r2: received nothing"; fi
  expect_grep "sender" "$WORK/send.log" "$fp2"
  expect_grep "sender" "$WORK/send.log" "$other"
}

case_closed_group_absent() {
  need_root_netns
  ns_up
  local src=$WORK/src
  mkdir -p "$src/sub" "$WORK/r1"
  _tb_prng 1000000 absent >"$src/a.bin"
  : >"$src/empty"
  echo "in a subdirectory" >"$src/sub/x.txt"
  bg "$WORK/r1.log" 60 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[0]}" -D "$WORK/r1" \
    --sessions 1 --status-file "$WORK/r1.jsonl"
  local rpid=$BG_PID
  ns_listening 1044 1 || die "the receiver is not listening on UDP 1044"
  sleep 0.3
  log "closed group ${IDS[0]},${IDS[1]}; only ${IDS[0]} runs"
  bg "$WORK/send.log" 60 ip netns exec "$NS" "$VOLLEY" send -I lo -R 200M \
    -H "${IDS[0]},${IDS[1]}" --status-file "$WORK/send.jsonl" "$src"
  wait_rc sender 1 "$BG_PID" 60
  wait_rc "receiver r1" 0 "$rpid" 20
  expect_grep "sender" "$WORK/send.log" "receiver ${IDS[1]} never registered"
  same_tree "$src" "$WORK/r1" r1
  check_status sender sender "$WORK/send.jsonl" --tree "$src" --ids "${IDS[0]}" \
    --absent "${IDS[1]}" --repairs no
  check_status r1 receiver "$WORK/r1.jsonl" --tree "$src"
}

# The big file for the interrupt cases, and its block count at block size 1300.
BIG_BYTES=200000000
BIG_BLOCKS=$(((BIG_BYTES + 1299) / 1300))

start_recv() { # start_recv LOGNAME
  bg "$WORK/$1.log" 80 ip netns exec "$NS" "$VOLLEY" recv -I lo -U "${IDS[0]}" -D "$WORK/r1" \
    --sessions 1 --status-file "$WORK/$1.jsonl"
  ns_listening 1044 1 || die "the receiver is not listening on UDP 1044"
  sleep 0.3
}

start_send() { # start_send LOGNAME
  bg "$WORK/$1.log" 80 ip netns exec "$NS" "$VOLLEY" send -I lo -R 200M -H "${IDS[0]}" \
    --robust 10 --grtt 0.05:0.01:1 --status-file "$WORK/$1.jsonl" "$WORK/src/big.bin"
}

# expect_field WHO FILE EVENT KEY WANT [MATCH...]
expect_field() {
  local who=$1 file=$2 event=$3 key=$4 want=$5 got
  shift 5
  got=$(status_get "$file" "$event" "$key" "$@" 2>/dev/null) || got="(none)"
  if [[ "$got" == "$want" ]]; then
    log "$who: $event $key = $got"
  else
    fail "$who: $event $key = $got, want $want"
  fi
}

# expect_kept_for_resume: one .part with its .state in the temp dir, nothing at the final name.
expect_kept_for_resume() {
  local parts states
  parts=$(find "$WORK/r1/.volley-tmp" -name '*.part' | wc -l)
  states=$(find "$WORK/r1/.volley-tmp" -name '*.state' | wc -l)
  if ((parts == 1 && states == 1)); then
    log "temp dir keeps $(cd "$WORK/r1/.volley-tmp" && echo *)"
  else
    fail "temp dir holds $parts .part and $states .state files, want 1 and 1:"
    ls -la "$WORK/r1/.volley-tmp"
  fi
  [[ ! -e "$WORK/r1/big.bin" ]] || fail "an incomplete big.bin is at the final name"
}

# midway SEED: a namespace with a receiver (log recv1) and a sender (log send1) of a 200 MB
# file at 200 Mbit/s; returns once 16 MiB of it have arrived. PIDs in RX_PID and TX_PID.
midway() {
  need_root_netns
  ns_up
  mkdir -p "$WORK/src" "$WORK/r1"
  _tb_prng "$BIG_BYTES" "$1" >"$WORK/src/big.bin"
  start_recv recv1
  RX_PID=$BG_PID
  start_send send1
  TX_PID=$BG_PID
  wait_part_growing "$WORK/r1" $((16 << 20)) 30 || il_finish
}

case_recv_interrupt_resume() {
  midway resume
  log "SIGINT to the receiver"
  kill -INT "$RX_PID"
  wait_rc "interrupted receiver" 130 "$RX_PID" 15
  expect_grep "interrupted receiver" "$WORK/recv1.log" "big.bin incomplete (kept for resume)"
  expect_grep "interrupted receiver" "$WORK/recv1.log" "stopped by signal after 0 sessions"
  expect_field "interrupted receiver" "$WORK/recv1.jsonl" file outcome failed name=big.bin
  expect_field "interrupted receiver" "$WORK/recv1.jsonl" session ok false
  wait_rc "first sender" 1 "$TX_PID" 60
  expect_field "first sender" "$WORK/send1.jsonl" receiver state aborted id="${IDS[0]}"
  expect_field "first sender" "$WORK/send1.jsonl" session ok false
  expect_kept_for_resume

  log "restart the receiver, send again"
  start_recv recv2
  RX_PID=$BG_PID
  start_send send2
  wait_rc "second sender" 0 "$BG_PID" 60
  wait_rc "restarted receiver" 0 "$RX_PID" 20
  if cmp "$WORK/src/big.bin" "$WORK/r1/big.bin"; then
    log "big.bin byte-exact after the resume"
  else
    fail "big.bin differs after the resume"
  fi
  local left
  left=$(find "$WORK/r1/.volley-tmp" -mindepth 1 | head -n 3)
  [[ -z "$left" ]] || fail "left in the temp dir after the resume: $left"
  local sent
  sent=$(status_get "$WORK/send2.jsonl" session data_packets) || sent=
  # At least 16 MiB had arrived before the SIGINT; allow half of it to have been lost with the
  # receiver's last unsaved state.
  local most=$((BIG_BLOCKS - (8 << 20) / 1300))
  if [[ "$sent" =~ ^[0-9]+$ ]] && ((sent > 0 && sent <= most)); then
    log "the resumed send took $sent data packets of the $BIG_BLOCKS the whole file needs"
  else
    fail "the resumed send took '${sent}' data packets, want at most $most of $BIG_BLOCKS"
  fi
  expect_field "second sender" "$WORK/send2.jsonl" session ok true
  expect_field "restarted receiver" "$WORK/recv2.jsonl" file outcome copy name=big.bin
}

case_send_interrupt() {
  midway interrupt
  log "SIGINT to the sender"
  kill -INT "$TX_PID"
  wait_rc "interrupted sender" 130 "$TX_PID" 15
  expect_field "interrupted sender" "$WORK/send1.jsonl" session ok false
  expect_field "interrupted sender" "$WORK/send1.jsonl" receiver state aborted id="${IDS[0]}"
  expect_field "interrupted sender" "$WORK/send1.jsonl" receiver reason \
    "interrupted by the operator" id="${IDS[0]}"
  wait_rc receiver 1 "$RX_PID" 20
  expect_grep receiver "$WORK/recv1.log" "finished incomplete: aborted by sender"
  expect_field receiver "$WORK/recv1.jsonl" session ok false
  expect_field receiver "$WORK/recv1.jsonl" file outcome failed name=big.bin
  expect_kept_for_resume
}

# ---------------------------------------------------------------------------------------------

case "$CASE" in
  multicast_v5_max_loss5 | help | keys | crypto_choices | usage_errors | setup_errors | unicast | closed_group_absent | client_auth | encrypted_trust_v4 | \
    encrypted_trust_v5 | recv_interrupt_resume | \
    send_interrupt | multicast_v5 | multicast_v4 | multicast_v5_loss5 | multicast_v4_loss5) ;;
  *)
    echo "usage: $0 CASE (see the header for the cases)" >&2
    exit 2
    ;;
esac
if [[ ! -x "$VOLLEY" ]]; then
  echo "cli_test: FAIL: volley binary not found or not executable: $VOLLEY" >&2
  exit 1
fi
VOLLEY=$(cd "$(dirname "$VOLLEY")" && pwd)/$(basename "$VOLLEY")
command -v python3 >/dev/null 2>&1 || {
  echo "cli_test: FAIL: python3 not installed (the status checks need it)" >&2
  exit 1
}
setup
log "case $CASE, $VOLLEY, work dir $WORK"
case "$CASE" in
  multicast_v5) case_multicast 5 8800 0 ;;
  multicast_v4) case_multicast 4 1300 0 ;;
  multicast_v5_loss5) case_multicast 5 8800 5 ;;
  multicast_v4_loss5) case_multicast 4 1300 5 ;;
  multicast_v5_max_loss5) case_multicast 5 8800 5 max ;;  # repair passes at full speed
  encrypted_trust_v4) case_encrypted_trust 4 ;;
  encrypted_trust_v5) case_encrypted_trust 5 ;;
  *) "case_$CASE" ;;
esac
il_finish
