"""The embedded Ray (``generate --workers N``) listens on loopback only, two of them on one host do not
collide, and its processes die with the process that started it (also on kill -9).

Sockets are read from ``/proc`` (Linux): the listening TCP sockets whose inodes a process holds.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from synth.distributed.reaper import descendants

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads sockets from /proc (Linux)")

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def _addr(hexaddr: str, v6: bool) -> tuple[str, int]:
    ip, port = hexaddr.split(":")
    b = bytes.fromhex(ip)
    if v6:
        b = b"".join(struct.pack("<I", struct.unpack(">I", b[i:i + 4])[0]) for i in range(0, 16, 4))
        return socket.inet_ntop(socket.AF_INET6, b), int(port, 16)
    return socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of the TCP sockets process ``pid`` listens on."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return []
    out = []
    for name, v6 in (("tcp", False), ("tcp6", True)):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            if parts[3] == "0A" and parts[9] in inodes:   # 0A = LISTEN
                out.append(_addr(parts[1], v6))
    return out


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def alive(pids) -> list[int]:
    out = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(p)
        except OSError:
            pass
    return out


PROBE = textwrap.dedent("""\
    import json, os, sys
    from synth.distributed.local import init_local_ray
    from synth.distributed.reaper import start_reaper, stop_reaper
    import tempfile
    temp = tempfile.mkdtemp(prefix="synth-ray-", dir="/tmp")
    reaper = start_reaper(temp)
    init_local_ray(num_cpus=1, temp_dir=temp)
    import ray

    @ray.remote(num_cpus=0.01)
    def where():
        return os.getpid(), os.environ.get("TMPDIR")

    print(json.dumps({"pid": os.getpid(), "task": ray.get(where.remote()), "temp": temp}), flush=True)
    sys.stdin.read()   # hold until the test closes stdin (or kills us)
    ray.shutdown()
    stop_reaper(reaper)
    """)


def _start_probe() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PROBE], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def _ray_sockets(pid: int) -> dict[int, list[tuple[str, int]]]:
    deadline = time.monotonic() + 20
    while True:   # the agents start a moment after ray.init returns
        socks = {p: listening_sockets(p) for p in [pid, *descendants(pid)]}
        names = {process_name(p) for p, s in socks.items() if s}
        if {"raylet", "gcs_server"} <= names and any(n.startswith("ray::Dashboard") for n in names) \
                or time.monotonic() > deadline:
            return socks
        time.sleep(0.5)


def test_two_embedded_rays_listen_on_loopback_only_and_do_not_collide():
    a, b = _start_probe(), _start_probe()
    try:
        ia, ib = json.loads(a.stdout.readline()), json.loads(b.stdout.readline())
        sa, sb = _ray_sockets(ia["pid"]), _ray_sockets(ib["pid"])
        for info, socks in ((ia, sa), (ib, sb)):
            listening = [(process_name(p), addr) for p, ss in socks.items() for addr in ss]
            assert len(listening) >= 6, listening   # GCS, raylet (2), agents, driver and worker gRPC
            outside = [x for x in listening if x[1][0] not in LOOPBACK]
            assert not outside, f"sockets off loopback: {outside}"
            # the Ray processes keep temp files inside the Ray temp dir
            assert info["task"][1] == os.path.join(info["temp"], "tmp")
        ports_a = {addr[1] for ss in sa.values() for addr in ss}
        ports_b = {addr[1] for ss in sb.values() for addr in ss}
        assert 52365 not in ports_a | ports_b   # Ray's fixed dashboard-agent port is not used
        both_names = {process_name(p) for p in sa} | {process_name(p) for p in sb}
        assert "raylet" in both_names
    finally:
        for p in (a, b):
            p.stdin.close()
            p.wait(timeout=60)
    for info in (ia, ib):
        assert not os.path.exists(info["temp"])


def test_embedded_ray_dies_with_its_parent_on_kill_9():
    p = _start_probe()
    info = json.loads(p.stdout.readline())
    socks = _ray_sockets(info["pid"])
    ray_pids = [q for q in descendants(info["pid"])]
    assert len(alive(ray_pids)) >= 5
    p.kill()   # SIGKILL: no ray.shutdown, no atexit
    p.wait()
    deadline = time.monotonic() + 30
    while alive(ray_pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [(q, process_name(q)) for q in alive(ray_pids)]
    assert not left, f"still running after the parent was killed: {left}"
    assert not os.path.exists(info["temp"])
    assert socks   # (it did listen before)
