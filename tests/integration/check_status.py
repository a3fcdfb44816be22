#!/usr/bin/env python3
"""Checks `volley send` / `volley recv` status files (JSON lines) against the tree that was sent.

  check_status.py sender STATUS --tree DIR --ids ID,... [--absent ID,...] [--blocksize N]
                  [--repairs yes|no|any]
      Every line is a JSON object. For each ID: one "file" line per entry of DIR, in the order
      volley sends them (DIR's name first, then depth-first in byte order of names), with the
      entry's size and outcome "copy", and one "receiver" line with state "done". For each
      absent ID: a "receiver" line with state "never_registered" and no "file" line. Exactly
      one "session" line: ok (true unless there are absent IDs), receivers / receivers_ok
      (the present IDs), entries, bytes, and data_packets == one packet per started block of
      every regular file + repair_blocks. --repairs yes: repair_blocks and naks > 0; no: both 0.
  check_status.py receiver STATUS --tree DIR [--group HEX] [--lossy]
      Every line is a JSON object; one "file" line with outcome "copy" per entry of DIR (each
      exactly once), all of one session (--group: that one); one "session" line, ok true,
      reason "complete" (--lossy: or the ending for a lost DONE_CONF, which is just as ok).
  check_status.py get STATUS EVENT KEY [MATCH_KEY=VALUE ...]
      Prints KEY of the last line with "event" EVENT (and every MATCH_KEY equal to VALUE); JSON
      strings bare, everything else as JSON. Exits 1 when there is no such line or key.

Exit 0 when every check passes, 1 (after printing every failed check) otherwise, 2 on usage.
"""
import argparse
import json
import os
import sys

FAILS = []
# How a receiver ends a session, all files in place, when the sender's DONE_CONF was lost.
LOST_DONE_CONF = "no DONE_CONF from the sender; every file was already in place"


def fail(msg):
    FAILS.append(msg)
    print(f"check_status: {msg}", file=sys.stderr)


def load(path):
    lines = []
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                fail(f"{path}:{n}: not JSON ({e}): {text.rstrip()!r}")
                continue
            if not isinstance(obj, dict) or "event" not in obj:
                fail(f"{path}:{n}: not an object with an 'event': {text.rstrip()!r}")
                continue
            lines.append(obj)
    if not lines:
        fail(f"{path}: no status lines")
    return lines


def tree_entries(root):
    """(name, size, is_regular) for every entry volley sends for `root`, in its order."""
    root = root.rstrip("/")
    out = []

    def add(path, name):
        st = os.lstat(path)
        regular = os.path.isfile(path) and not os.path.islink(path)
        out.append((name, st.st_size if regular else 0, regular))
        if os.path.isdir(path) and not os.path.islink(path):
            for child in sorted(os.listdir(path), key=os.fsencode):
                add(os.path.join(path, child), name + "/" + child)

    add(root, os.path.basename(root))
    return out


def ids_arg(text):
    return [i for i in text.split(",") if i] if text else []


def expect_eq(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, want {want!r}")


def check_sender(a):
    lines = load(a.status)
    entries = tree_entries(a.tree)
    present, absent = ids_arg(a.ids), ids_arg(a.absent)
    for rid in present:
        files = [l for l in lines if l["event"] == "file" and l.get("receiver") == rid]
        expect_eq(f"receiver {rid}: file lines (name, size)",
                  [(l.get("name"), l.get("size")) for l in files],
                  [(n, s) for n, s, _ in entries])
        bad = [(l.get("name"), l.get("outcome")) for l in files if l.get("outcome") != "copy"]
        expect_eq(f"receiver {rid}: files whose outcome is not 'copy'", bad, [])
        rx = [l for l in lines if l["event"] == "receiver" and l.get("id") == rid]
        expect_eq(f"receiver {rid}: states", [l.get("state") for l in rx], ["done"])
    for rid in absent:
        rx = [l for l in lines if l["event"] == "receiver" and l.get("id") == rid]
        expect_eq(f"absent receiver {rid}: states", [l.get("state") for l in rx],
                  ["never_registered"])
        files = [l for l in lines if l["event"] == "file" and l.get("receiver") == rid]
        expect_eq(f"absent receiver {rid}: file lines", len(files), 0)
    known = set(present) | set(absent)
    others = sorted({l.get("id") or l.get("receiver") for l in lines
                     if l["event"] in ("file", "receiver")} - known)
    expect_eq("receivers nobody named", others, [])
    sessions = [l for l in lines if l["event"] == "session"]
    expect_eq("session lines", len(sessions), 1)
    if not sessions:
        return
    s = sessions[0]
    expect_eq("session ok", s.get("ok"), not absent)
    expect_eq("session receivers", s.get("receivers"), len(present))
    expect_eq("session receivers_ok", s.get("receivers_ok"), len(present))
    expect_eq("session entries", s.get("entries"), len(entries))
    expect_eq("session bytes", s.get("bytes"), sum(size for _, size, _ in entries))
    blocks = sum(-(-size // a.blocksize) for _, size, regular in entries if regular)
    repairs = s.get("repair_blocks")
    if not isinstance(repairs, int) or not isinstance(s.get("data_packets"), int):
        fail(f"session line lacks data_packets / repair_blocks: {s}")
        return
    expect_eq(f"session data_packets ({blocks} blocks + {repairs} repairs)",
              s["data_packets"], blocks + repairs)
    if a.repairs == "yes" and (repairs == 0 or s.get("naks", 0) == 0):
        fail(f"expected repairs under loss, got repair_blocks {repairs}, naks {s.get('naks')}")
    if a.repairs == "no":
        expect_eq("session repair_blocks", repairs, 0)


def check_receiver(a):
    lines = load(a.status)
    entries = tree_entries(a.tree)
    files = [l for l in lines if l["event"] == "file"]
    expect_eq("file lines (sorted names)", sorted(l.get("name") for l in files),
              sorted(n for n, _, _ in entries))
    bad = [(l.get("name"), l.get("outcome")) for l in files if l.get("outcome") != "copy"]
    expect_eq("files whose outcome is not 'copy'", bad, [])
    groups = sorted({str(l.get("session")) for l in lines})
    if len(groups) != 1 or (a.group and groups != [a.group]):
        fail(f"lines name sessions {groups}, want one{' (' + a.group + ')' if a.group else ''}")
    sessions = [(l.get("ok"), l.get("reason")) for l in lines if l["event"] == "session"]
    if a.lossy and sessions == [(True, LOST_DONE_CONF)]:
        return
    expect_eq("session lines (ok, reason)", sessions, [(True, "complete")])


def get(a):
    lines = load(a.status)
    match = dict(m.split("=", 1) for m in a.match)
    for l in reversed(lines):
        if l["event"] == a.event and all(str(l.get(k)) == v for k, v in match.items()):
            if a.key not in l:
                break
            v = l[a.key]
            print(v if isinstance(v, str) else json.dumps(v))
            return
    fail(f"{a.status}: no '{a.event}' line with {a.key!r} matching {match}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sender")
    s.add_argument("status")
    s.add_argument("--tree", required=True)
    s.add_argument("--ids", required=True)
    s.add_argument("--absent", default="")
    s.add_argument("--blocksize", type=int, default=1300)
    s.add_argument("--repairs", choices=["yes", "no", "any"], default="any")
    r = sub.add_parser("receiver")
    r.add_argument("status")
    r.add_argument("--tree", required=True)
    r.add_argument("--group", default="")
    r.add_argument("--lossy", action="store_true")
    g = sub.add_parser("get")
    g.add_argument("status")
    g.add_argument("event")
    g.add_argument("key")
    g.add_argument("match", nargs="*")
    a = p.parse_args()
    {"sender": check_sender, "receiver": check_receiver, "get": get}[a.cmd](a)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
