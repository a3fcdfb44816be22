#!/usr/bin/env bash
# tshark_check.sh [--port PORT] [--expect uftp4|uftp5] PCAP
#
# Decodes a capture with tshark's UFTP dissectors and fails unless every packet is a UFTP
# message that tshark decodes cleanly:
#   - every frame must dissect down to uftp4 (protocol 0x40) or uftp5 (0x50), or be a
#     non-final IP fragment of a datagram that tshark reassembles in a later frame;
#   - no frame may carry _ws.malformed or an expert item of severity Error;
#   - with --expect, every UFTP frame must be of that dissector.
# Prints a count per dissector and message type, and the first offending frames.
# Exit: 0 clean, 1 offending frames (or no UFTP frame at all), 2 usage or tshark error,
# 77 when tshark is not installed.
#
# Dissectors (Wireshark 4.0): "uftp" is registered on udp.port 1044 and only looks at the
# version byte: 0x40 goes to "uftp4", 0x50 to "uftp5", 0x30/0x31 it decodes itself (UFTP
# 3.x), anything else it refuses (the frame shows as udp:data). Message types are the
# fields uftp4.func and uftp5.func. For another port pass --port; the decode-as entry is
# udp.port==PORT,uftp (uftp4/uftp5 are not in udp.port's decode-as table).
set -euo pipefail

usage() {
  echo "usage: $0 [--port PORT] [--expect uftp4|uftp5] PCAP" >&2
  exit 2
}

port=1044
expect=
while (($# > 1)); do
  case $1 in
    --port)
      port=$2
      shift 2
      ;;
    --expect)
      expect=$2
      shift 2
      ;;
    *) usage ;;
  esac
done
(($# == 1)) || usage
pcap=$1
[[ "$port" =~ ^[0-9]+$ ]] || usage
[[ -z "$expect" || "$expect" == uftp4 || "$expect" == uftp5 ]] || usage
[[ -r "$pcap" ]] || {
  echo "tshark_check: cannot read $pcap" >&2
  exit 2
}
if ! command -v tshark >/dev/null 2>&1; then
  echo "tshark_check: skipped: tshark not installed"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

decode=()
if ((port != 1044)); then
  decode=(-d "udp.port==$port,uftp")
fi

# Message-type names straight from the installed dissectors: "V<TAB>uftp4.func<TAB>1<TAB>ANNOUNCE".
timeout 60 tshark -G values 2>/dev/null |
  awk -F'\t' '$1 == "V" && ($2 == "uftp4.func" || $2 == "uftp5.func") { print $2 "\t" $3 "\t" $4 }' \
    >"$tmp/names" || true

# One line per frame. Occurrences are joined with ',' (a frame can carry several expert items).
if ! timeout 120 tshark -n -r "$pcap" "${decode[@]}" -o ip.defragment:TRUE \
  -T fields -E separator=/t -E occurrence=a -E aggregator=, \
  -e frame.number -e frame.protocols -e uftp4.func -e uftp5.func -e ip.flags.mf \
  -e _ws.malformed -e _ws.expert.severity -e _ws.expert.message \
  >"$tmp/fields" 2>"$tmp/err"; then
  echo "tshark_check: tshark failed on $pcap:" >&2
  grep -v 'Running as user' "$tmp/err" >&2 || true
  exit 2
fi

# Severity "Error" is 0x00800000 (PI_ERROR) in tshark -G values for _ws.expert.severity.
awk -F'\t' -v expect="$expect" -v names="$tmp/names" '
  BEGIN {
    while ((getline line < names) > 0) {
      split(line, f, "\t")
      name[f[1] "/" f[2]] = f[3]
    }
    bad = 0; frames = 0; uftp = 0; frags = 0; warn = 0
  }
  function offend(why) {
    bad++
    if (bad <= 20) offenders = offenders sprintf("  frame %s: %s\n", $1, why)
  }
  {
    frames++
    n = split($2, chain, ":")
    proto = ""
    for (i = 1; i <= n; i++) if (chain[i] == "uftp4" || chain[i] == "uftp5") proto = chain[i]
    if ($7 ~ /(^|,)6291456(,|$)/) warn++
    why = ""
    if ($6 != "") why = "malformed (" $8 ") "
    else if ($7 ~ /(^|,)8388608(,|$)/) why = "expert error (" $8 ") "
    if (proto == "") {
      if (why == "" && chain[n] == "data" && $5 ~ /^(1|True)$/ && $2 !~ /:udp/) { frags++; next }
      offend(why "not decoded as UFTP4/UFTP5 (" $2 ")")
      next
    }
    if (expect != "" && proto != expect) why = why proto " where only " expect " was expected"
    if (why != "") offend(why)
    t = (proto == "uftp4") ? $3 : $4
    key = proto " " (((proto ".func/" t) in name) ? name[proto ".func/" t] : "type " t)
    count[key]++
    uftp++
  }
  END {
    printf "%d frames: %d UFTP messages, %d IP fragments reassembled later, %d expert warnings\n",
      frames, uftp, frags, warn
    for (k in count) printf "  %-24s %d\n", k, count[k] | "sort"
    close("sort")
    if (bad > 0) {
      printf "FAIL: %d offending frames%s\n%s", bad, (bad > 20 ? " (first 20)" : ""), offenders
      exit 1
    }
    if (uftp == 0) { print "FAIL: no UFTP message in the capture"; exit 1 }
    print "OK: every frame decodes cleanly as UFTP" (expect != "" ? " (" expect ")" : "")
  }
' "$tmp/fields"
