"""A real single-node Ray head for tests, on loopback, owned by the test that started it.

``RayHead.start()`` runs ``ray start --head --block`` as a subprocess in its own
process group, with its own ``--temp-dir`` and free, non-default ports (other
people's Ray clusters on the same host are left alone), and waits until the
Jobs API answers by running a trivial job. ``stop()`` SIGTERMs *that* process
group (never ``ray stop``, which would kill every Ray on the host).

Used as a pytest fixture by tests/test_distributed_*.py; also handy by hand:

    python tests/ray_cluster.py      # starts a head, prints its addresses, Ctrl-C stops it
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: environment for Ray on a loopback-only box (see shared/reference/render-and-ray.md)
RAY_LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
}


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int, avoid: range | None = None) -> list[int]:
    """``n`` distinct free ports (all bound at once, so the OS cannot hand out one twice), outside ``avoid``."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            port = s.getsockname()[1]
            if avoid is None or port not in avoid:
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def _free_port_range(n: int, lo: int = 30000, hi: int = 60000) -> int:
    """First port of ``n`` consecutive ports that are free now (best effort)."""
    import random

    rnd = random.Random(os.getpid() ^ int(time.time()))
    for _ in range(200):
        base = rnd.randrange(lo, hi - n)
        ok = True
        for p in range(base, base + n):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {n} consecutive free ports in [{lo}, {hi})")


def _pids_in_group(pgid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if os.getpgid(int(d.name)) == pgid:
                out.append(int(d.name))
        except (ProcessLookupError, PermissionError):
            pass
    return out


def _pids_using(path: str) -> list[int]:
    """Processes whose command line mentions ``path`` (our temp dir): what our head started."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if path in cmd:
            out.append(int(d.name))
    return out


@dataclass
class RayHead:
    num_cpus: int = 2
    object_store_bytes: int = 80 * 2**20
    temp_dir: str = ""
    gcs_port: int = 0
    dashboard_port: int = 0
    proc: subprocess.Popen | None = None
    log_path: str = ""
    env: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        """Jobs API (dashboard) address, for ``synth submit --address``."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    def start(self, timeout_s: float = 120.0) -> "RayHead":
        # short path: Ray puts unix sockets under it (108-byte limit)
        self.temp_dir = tempfile.mkdtemp(prefix="rh", dir="/tmp")
        worker_lo = _free_port_range(40)
        names = ["--port", "--dashboard-port", "--node-manager-port", "--object-manager-port",
                 "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
                 "--metrics-export-port", "--ray-client-server-port"]
        ports = dict(zip(names, free_ports(len(names), avoid=range(worker_lo, worker_lo + 40))))
        self.gcs_port, self.dashboard_port = ports["--port"], ports["--dashboard-port"]
        ports.update({"--min-worker-port": worker_lo, "--max-worker-port": worker_lo + 39})
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, **RAY_LOOPBACK_ENV,
                    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}
        self.env.pop("RAY_ADDRESS", None)
        cmd = [os.path.join(venv_bin, "ray"), "start", "--head", "--block",
               "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1", "--include-dashboard=true",
               f"--temp-dir={self.temp_dir}", f"--num-cpus={self.num_cpus}",
               f"--object-store-memory={self.object_store_bytes}", "--disable-usage-stats"]
        cmd += [f"{k}={v}" for k, v in ports.items()]
        self.log_path = os.path.join(self.temp_dir, "ray-start.log")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True, cwd=self.temp_dir)
        log.close()
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _wait_ready(self, timeout_s: float) -> None:
        """Ready = the Jobs API runs a trivial job to SUCCEEDED."""
        from ray.job_submission import JobStatus, JobSubmissionClient

        deadline = time.monotonic() + timeout_s
        client = None
        while client is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}:\n{self._log_tail()}")
            try:
                client = JobSubmissionClient(self.address)
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Ray Jobs API at {self.address} not up after {timeout_s} s:\n{self._log_tail()}")
                time.sleep(0.5)
        job = client.submit_job(entrypoint="python -c \"print('ray-ready')\"")
        while True:
            st = client.get_job_status(job)
            if st == JobStatus.SUCCEEDED:
                return
            if st in (JobStatus.FAILED, JobStatus.STOPPED):
                raise RuntimeError(f"readiness job {job} ended {st}: {client.get_job_logs(job)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"readiness job {job} still {st} after {timeout_s} s")
            time.sleep(0.3)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM our ``ray start --block`` process (it tears its children down), then SIGKILL
        whatever of its process group / temp dir is left; remove the temp dir."""
        if self.proc is not None and self.proc.poll() is None:
            pgid = self.proc.pid
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
            for pid in _pids_in_group(pgid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.proc.poll() is None:
                self.proc.wait(timeout=10)
        # processes our head started that left its process group (they name our temp dir)
        if self.temp_dir:
            deadline = time.monotonic() + 10
            while _pids_using(self.temp_dir) and time.monotonic() < deadline:
                time.sleep(0.5)
            for pid in _pids_using(self.temp_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.proc = None


if __name__ == "__main__":
    head = RayHead().start()
    print(f"Ray head up: jobs API {head.address}, GCS {head.gcs_address}, temp {head.temp_dir}; Ctrl-C stops it")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        head.stop()
