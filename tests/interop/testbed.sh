# shellcheck shell=bash
# Network-namespace testbed for the interop tests. Source it; do not run it.
#
#   tb_up NAME MTU [LOSS_PCT]   build the testbed (see below); needs root
#   tb_down NAME                stop what tb_bg started, delete the namespaces (idempotent,
#                               safe from a trap, safe when tb_up never ran or half ran)
#   tb_exec NAME HOST CMD...    run CMD inside namespace NAME-HOST (HOST: br, s, r1, r2, r3)
#   tb_bg NAME HOST LOG CMD...  start CMD in the background inside NAME-HOST, stdout+stderr to
#                               LOG, bounded by TB_BG_TIMEOUT seconds; the PID goes to
#                               TB_LAST_PID (tb_bg must run in the calling shell, not in $(...),
#                               so that tb_wait_pid can collect the exit status)
#   tb_wait_pid PID TIMEOUT     wait up to TIMEOUT seconds; returns the process's exit status,
#                               or 124 after killing it on timeout
#   tb_addr NAME HOST           print HOST's IPv4 address (10.99.<n>.1, .11, .12, .13)
#   tb_id NAME HOST             print HOST's UFTP-style 32-bit ID (its address in hex, 0x0a63..)
#   tb_make_tree DIR            write the deterministic test tree into DIR (must not exist)
#   tb_compare SRC DEST         byte-exact comparison of two trees; prints every difference
#   tb_listening NAME HOST PORT [SECONDS]
#                               wait until something in NAME-HOST has bound UDP PORT
#   tb_capture_start NAME HOST PCAP PORT
#                               dumpcap on HOST's eth0 (UDP PORT plus IP fragments), bounded
#                               in time, packets and bytes; waits until it captures; PID in
#                               TB_CAPTURE_PID. Stop it with tb_capture_stop PID. Turns UDP
#                               GSO off on that eth0 (one datagram per captured frame).
#
# Layout (one testbed; several testbeds with different NAMEs can run side by side):
#
#   NAME-s  (10.99.<n>.1)  eth0 ─┐
#   NAME-r1 (10.99.<n>.11) eth0 ─┤   veth pairs, all at MTU
#   NAME-r2 (10.99.<n>.12) eth0 ─┼── NAME-br: bridge br0 (multicast snooping off, STP off)
#   NAME-r3 (10.99.<n>.13) eth0 ─┘
#
# Every host namespace has lo up, IPv6 off (no DAD/MLD noise in captures), a route for
# 224.0.0.0/4 on eth0. <n> is TB_SUBNET if set, else derived from a hash of NAME. Each
# testbed is its own isolated L2 segment (nothing is routed to or from the root namespace),
# so two testbeds sharing <n> still cannot see each other; <n> only keeps logs readable.
# With LOSS_PCT > 0 each receiver namespace gets an nftables table "volley_loss" dropping
# LOSS_PCT % of incoming and of outgoing UDP datagrams at random (the input hook sees
# reassembled datagrams, the output hook sees them before fragmentation, so loss is per
# datagram). Interface names live inside the namespaces, so nothing touches the root
# namespace except the namespace names themselves (/run/netns/NAME-*).
#
# State (PID list, subnet) lives in ${TB_STATE_ROOT:-${TMPDIR:-/tmp}}/volley-tb.NAME.

TB_HOSTS=(s r1 r2 r3)
TB_BG_TIMEOUT=${TB_BG_TIMEOUT:-240}

_tb_die() {
  echo "testbed: $*" >&2
  return 1
}

_tb_state() { printf '%s/volley-tb.%s' "${TB_STATE_ROOT:-${TMPDIR:-/tmp}}" "$1"; }

_tb_ns_exists() { [[ -e "/run/netns/$1" ]]; }

_tb_check_name() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || _tb_die "bad testbed name '$1'"
}

# Subnet number <n> for NAME: what tb_up recorded, else TB_SUBNET, else a hash of NAME.
_tb_subnet() {
  local name=$1 state
  state=$(_tb_state "$name")
  if [[ -f "$state/subnet" ]]; then
    cat "$state/subnet"
  elif [[ -n "${TB_SUBNET:-}" ]]; then
    printf '%s' "$TB_SUBNET"
  else
    local sum
    sum=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
    printf '%s' $((sum % 250 + 1))
  fi
}

_tb_host_octet() {
  case $1 in
    s) echo 1 ;;
    r1) echo 11 ;;
    r2) echo 12 ;;
    r3) echo 13 ;;
    *) _tb_die "unknown host '$1' (want s, r1, r2 or r3)" ;;
  esac
}

tb_addr() {
  local octet
  octet=$(_tb_host_octet "$2") || return 1
  printf '10.99.%s.%s\n' "$(_tb_subnet "$1")" "$octet"
}

tb_id() {
  local octet
  octet=$(_tb_host_octet "$2") || return 1
  printf '0x0a63%02x%02x\n' "$(_tb_subnet "$1")" "$octet"
}

tb_up() {
  local name=$1 mtu=$2 loss=${3:-0}
  _tb_check_name "$name" || return 1
  [[ "$mtu" =~ ^[0-9]+$ ]] && ((mtu >= 1280 && mtu <= 65535)) || _tb_die "bad MTU '$mtu'" || return 1
  [[ "$loss" =~ ^[0-9]+$ ]] && ((loss <= 100)) || _tb_die "bad loss '$loss'" || return 1
  ((EUID == 0)) || _tb_die "tb_up needs root" || return 1

  local ns
  for ns in br "${TB_HOSTS[@]}"; do
    if _tb_ns_exists "$name-$ns"; then
      _tb_die "namespace $name-$ns already exists (stale run? call tb_down $name)"
      return 1
    fi
  done

  local state subnet
  state=$(_tb_state "$name")
  subnet=$(_tb_subnet "$name")
  [[ "$subnet" =~ ^[0-9]+$ ]] && ((subnet >= 0 && subnet <= 255)) ||
    _tb_die "bad subnet number '$subnet'" || return 1
  mkdir -p "$state" || return 1
  : >"$state/pids" || return 1
  printf '%s\n' "$subnet" >"$state/subnet" || return 1
  printf '%s\n' "$mtu" >"$state/mtu" || return 1

  # Record every namespace before creating it, so tb_down removes partial testbeds too.
  echo "$name-br" >>"$state/netns" && ip netns add "$name-br" || return 1
  ip -n "$name-br" link set lo up || return 1
  ip -n "$name-br" link add br0 type bridge stp_state 0 mcast_snooping 0 || return 1
  ip -n "$name-br" link set br0 mtu "$mtu" || return 1
  ip netns exec "$name-br" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || return 1
  ip netns exec "$name-br" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || return 1

  local host octet
  for host in "${TB_HOSTS[@]}"; do
    ns="$name-$host"
    octet=$(_tb_host_octet "$host")
    echo "$ns" >>"$state/netns" && ip netns add "$ns" || return 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || return 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || return 1
    ip -n "$ns" link set lo up || return 1
    # Both ends are created from inside the bridge namespace and the host end is moved
    # straight into its namespace: no interface ever appears in the root namespace.
    ip -n "$name-br" link add "p-$host" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$ns" || return 1
    ip -n "$name-br" link set "p-$host" master br0 || return 1
    ip -n "$name-br" link set "p-$host" up || return 1
    ip -n "$ns" addr add "10.99.$subnet.$octet/24" dev eth0 || return 1
    ip -n "$ns" link set eth0 up || return 1
    ip -n "$ns" route add 224.0.0.0/4 dev eth0 || return 1
    if [[ "$host" == r* ]] && ((loss > 0)); then
      local match="numgen random mod 100 < $loss"
      ((loss < 100)) || match="" # numgen's range is 0-99: 100 % is an unconditional drop
      ip netns exec "$ns" nft -f - <<EOF || return 1
table inet volley_loss {
  chain in {
    type filter hook input priority -150; policy accept;
    meta l4proto udp $match counter drop
  }
  chain out {
    type filter hook output priority -150; policy accept;
    meta l4proto udp $match counter drop
  }
}
EOF
    fi
  done
  ip -n "$name-br" link set br0 up || return 1

  # Wait (bounded) until every link is up and every bridge port forwards, so the first
  # packets of a test are not lost to link bring-up. (No ping: the image may not have it.)
  local i ready
  for ((i = 0; i < 50; i++)); do
    ready=1
    for host in "${TB_HOSTS[@]}"; do
      ip -n "$name-$host" link show eth0 | grep -q 'state UP' || ready=0
      ip -n "$name-br" link show "p-$host" | grep -q 'state UP' || ready=0
    done
    if ((ready)) && ! bridge -n "$name-br" link show | grep -v -q 'state forwarding'; then
      return 0
    fi
    sleep 0.1
  done
  _tb_die "testbed $name: links not up and forwarding after bring-up"
}

tb_exec() {
  local name=$1 host=$2
  shift 2
  ip netns exec "$name-$host" "$@"
}

tb_bg() {
  local name=$1 host=$2 log=$3 state
  shift 3
  state=$(_tb_state "$name")
  [[ -d "$state" ]] || _tb_die "tb_bg: testbed $name is not up" || return 1
  _tb_ns_exists "$name-$host" || _tb_die "tb_bg: no namespace $name-$host" || return 1
  # timeout(1) bounds every background process; it forwards SIGTERM to its child.
  timeout -k 5 "$TB_BG_TIMEOUT" ip netns exec "$name-$host" "$@" </dev/null >"$log" 2>&1 &
  TB_LAST_PID=$!
  echo "$TB_LAST_PID" >>"$state/pids"
}

tb_wait_pid() {
  local pid=$1 limit=$2 waited=0 rc=0
  # Poll in tenths of a second; `wait` then collects the status (the PID must be a child of
  # this shell, which tb_bg guarantees when it is not called inside $(...)).
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= limit * 10)); then
      kill -TERM "$pid" 2>/dev/null || true
      sleep 1
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 124
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

tb_down() {
  local name=$1 state pid ns i alive
  state=$(_tb_state "$name")
  # 1. Processes tb_bg started: TERM, a short grace period, then KILL; by PID only.
  if [[ -f "$state/pids" ]]; then
    while read -r pid; do
      if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done <"$state/pids"
    for ((i = 0; i < 30; i++)); do
      alive=0
      while read -r pid; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then alive=1; fi
      done <"$state/pids"
      ((alive)) || break
      sleep 0.1
    done
    while read -r pid; do
      if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done <"$state/pids"
  fi
  if [[ -f "$state/netns" ]]; then
    while read -r ns; do
      if [[ -z "$ns" ]] || ! _tb_ns_exists "$ns"; then continue; fi
      # 2. Anything else still running inside a namespace this testbed created (tb_up
      #    refuses to reuse existing namespaces, so these are ours, e.g. `tb_exec ... &`).
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null || true
      done
      # 3. Delete the namespace; that destroys its veth ends (and the bridge in NAME-br).
      ip netns delete "$ns" 2>/dev/null || true
    done <"$state/netns"
  fi
  rm -rf "$state"
  return 0
}

tb_listening() {
  local name=$1 host=$2 port=$3 limit=${4:-10} i
  for ((i = 0; i < limit * 10; i++)); do
    if [[ -n "$(ip netns exec "$name-$host" ss -Hlun "sport = :$port" 2>/dev/null)" ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Capture limits: TB_CAPTURE_SECONDS (120), TB_CAPTURE_PACKETS (200000), TB_CAPTURE_KB (200000).
tb_capture_start() {
  local name=$1 host=$2 pcap=$3 port=$4 i
  # UDP GSO off on the captured interface: the kernel then segments before the capture point,
  # so every datagram is a frame of its own. With GSO, one frame can carry several datagrams
  # and tshark decodes only the first of them.
  ip -n "$name-$host" link set eth0 gso_max_segs 1 || return 1
  # Non-first IP fragments carry no UDP header, hence the fragment-offset clause.
  tb_bg "$name" "$host" "$pcap.log" dumpcap -q -i eth0 \
    -f "udp port $port or (ip[6:2] & 0x1fff != 0)" -w "$pcap" \
    -a "duration:${TB_CAPTURE_SECONDS:-120}" -a "filesize:${TB_CAPTURE_KB:-200000}" \
    -c "${TB_CAPTURE_PACKETS:-200000}" || return 1
  TB_CAPTURE_PID=$TB_LAST_PID
  for ((i = 0; i < 100; i++)); do
    # dumpcap announces "Capturing on 'eth0'" on stderr once the interface is open.
    if grep -q 'Capturing on' "$pcap.log" 2>/dev/null; then
      return 0
    fi
    kill -0 "$TB_CAPTURE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "testbed: dumpcap did not start:" >&2
  cat "$pcap.log" >&2
  return 1
}

tb_capture_stop() {
  local pid=$1
  # SIGTERM to timeout(1) reaches dumpcap, which then closes the file cleanly.
  kill -TERM "$pid" 2>/dev/null || true
  tb_wait_pid "$pid" 10 || true
}

# _tb_prng BYTES SEED: BYTES deterministic pseudo-random bytes (AES-128-CTR keystream, key
# derived from SEED) on stdout.
_tb_prng() {
  local bytes=$1 seed=$2 key
  key=$(printf '%s' "$seed" | sha256sum | cut -c1-32)
  head -c "$bytes" /dev/zero |
    openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000
}

# The tree (about 18.7 MB; TB_TREE_BIG_BYTES adds big.bin of that size, see below):
#   empty                      0 bytes
#   one_byte                   1 byte
#   exact_1300x100.bin         130000 bytes, an exact multiple of block size 1300
#   exact_8800x37.bin          325600 bytes, an exact multiple of block size 8800
#   random_3m.bin              3 MiB + 123 bytes
#   multisection.bin           14000001 bytes: more than one section at block size 1300
#                              (a section is min(8*blocksize, 65536) blocks = 13,520,000 bytes
#                              at 1300). At block size 8800 a section is 65536*8800 bytes
#                              (~577 MB), beyond this tree's 40 MB budget: set
#                              TB_TREE_BIG_BYTES=600000000 for a multi-section file there.
#   name with spaces.txt       text
#   dir1/a.bin                 10000 bytes
#   dir1/dir2/b.bin            1 MiB + 1
#   dir1/dir2/dir3/c.txt       text
#   dir1/dir2/dir3/empty2      0 bytes
# All mtimes are fixed, so repeated trees are identical down to the metadata UFTP sends.
tb_make_tree() {
  local dir=$1
  if [[ -e "$dir" ]]; then
    _tb_die "tb_make_tree: $dir already exists"
    return 1
  fi
  mkdir -p "$dir/dir1/dir2/dir3"
  : >"$dir/empty"
  printf 'V' >"$dir/one_byte"
  _tb_prng 130000 exact1300 >"$dir/exact_1300x100.bin"
  _tb_prng 325600 exact8800 >"$dir/exact_8800x37.bin"
  _tb_prng $((3 * 1024 * 1024 + 123)) random3m >"$dir/random_3m.bin"
  _tb_prng 14000001 multisection >"$dir/multisection.bin"
  local i
  for ((i = 0; i < 200; i++)); do
    printf 'line %04d of a plain text file with spaces in its name\n' "$i"
  done >"$dir/name with spaces.txt"
  _tb_prng 10000 dir1a >"$dir/dir1/a.bin"
  _tb_prng $((1024 * 1024 + 1)) dir2b >"$dir/dir1/dir2/b.bin"
  for ((i = 0; i < 1000; i++)); do
    printf 'nested text line %d\n' "$i"
  done >"$dir/dir1/dir2/dir3/c.txt"
  : >"$dir/dir1/dir2/dir3/empty2"
  if [[ -n "${TB_TREE_BIG_BYTES:-}" ]]; then
    _tb_prng "$TB_TREE_BIG_BYTES" big >"$dir/big.bin"
  fi
  find "$dir" -exec touch -h -d @1700000000 {} +
}

# _tb_manifest DIR: "type sha256 size path" for every entry under DIR, sorted by path.
_tb_manifest() {
  (
    cd "$1" || exit 1
    find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
      if [[ -L "$p" ]]; then
        printf 'link %s - %s\n' "$(readlink "$p")" "$p"
      elif [[ -d "$p" ]]; then
        printf 'dir - - %s\n' "$p"
      elif [[ -f "$p" ]]; then
        printf 'file %s %s %s\n' "$(sha256sum <"$p" | cut -d' ' -f1)" "$(stat -c %s "$p")" "$p"
      else
        printf 'other - - %s\n' "$p"
      fi
    done
  )
}

tb_compare() {
  local src=$1 dest=$2 rc=0
  [[ -d "$src" ]] || _tb_die "tb_compare: no directory $src" || return 1
  if [[ ! -d "$dest" ]]; then
    echo "tb_compare: $dest does not exist" >&2
    return 1
  fi
  diff -r "$src" "$dest" || rc=1
  diff <(_tb_manifest "$src") <(_tb_manifest "$dest") || rc=1
  return "$rc"
}
