"""Processes the chaos test starts: each in its own session, supervised, and always taken down.

The test process makes itself a child subreaper (Linux), so a work horse whose worker was killed
is re-parented to it rather than to init: its session id still names the service it came from,
and nothing the test started can outlive the test.
"""
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass

PR_SET_CHILD_SUBREAPER = 36


def free_ports(count):
    """Distinct TCP ports on the loopback interface that nothing listens on right now.

    The probes stay bound until all are chosen: closed one by one, the kernel may hand the same
    port out twice (it once gave Redis and gunicorn the same one).
    """
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def port_open(port):
    """Whether something accepts connections on a loopback port."""
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def set_subreaper(enabled):
    """Adopt (or stop adopting) the orphans of our descendants."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(enabled), 0, 0, 0)


def process_table():
    """{pid: (ppid, session id, state)} for every visible process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def children(pid):
    """The live child processes of a process."""
    return [child for child, (ppid, _, state) in process_table().items() if ppid == pid and state != "Z"]


def kill_session(session_id):
    """SIGKILL every process of a session (what systemd does to a unit's cgroup)."""
    for pid, (_, session, _) in process_table().items():
        if session == session_id and pid != os.getpid():
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def kill_descendants():
    """SIGKILL everything this process started, directly or not, and reap it."""
    table = process_table()
    me, found, frontier = os.getpid(), [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, (ppid, _, _) in table.items() if ppid == parent]
        found += kids
        frontier += kids
    for pid in found:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in found:
        if table[pid][0] == me:
            with suppress(ChildProcessError):
                os.waitpid(pid, 0)


def reap_adopted(known_pids):
    """Collect the exit status of adopted orphans that no Popen object is waiting for."""
    for pid, (ppid, _, state) in process_table().items():
        if ppid == os.getpid() and state == "Z" and pid not in known_pids:
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


class Service:
    """One long-running process, started in its own session, its output appended to a log file.

    `{instance}` in the command becomes `<name>-<start number>`, so each start of an rq worker
    registers under a fresh name.
    """

    def __init__(self, name, command, env, cwd, log_dir):
        self.name, self.command, self.env, self.cwd = name, command, env, cwd
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.popen = None
        self.starts = 0
        self.instance = None

    def start(self):
        """Start (or start again) the process."""
        self.starts += 1
        self.instance = f"{self.name}-{self.starts}"
        argv = [arg.format(instance=self.instance) for arg in self.command]
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== start {self.instance}: {' '.join(argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self):
        """The process id of the current start."""
        return self.popen.pid

    def running(self):
        """Whether the current start is still alive."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal the process group, wait for it, then kill whatever is left of the session."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        kill_session(self.popen.pid)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        return self.popen.returncode


@dataclass(frozen=True)
class Exit:
    """One exit of a supervised process, and whether the test caused it."""

    instance: str
    returncode: int
    caused_by_test: bool


class Supervisor(threading.Thread):
    """Restarts supervised services that exit, killing what is left of them first, as systemd would."""

    def __init__(self, services, interval=0.3):
        super().__init__(name="chaos-supervisor", daemon=True)
        self.services, self.interval = list(services), interval
        self.exits, self.known_pids = [], set()
        self._expected, self._lock, self._halt = set(), threading.Lock(), threading.Event()

    def expect_exit(self, service):
        """The test is about to stop this service's current start on purpose."""
        with self._lock:
            self._expected.add(service.instance)

    def exit_of(self, instance, timeout):
        """Wait for the exit of one start of a service; None if it is still running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [e for e in self.exits if e.instance == instance]
            if found:
                return found[0]
            time.sleep(0.1)
        return None

    def run(self):
        """Poll the services until halted."""
        while not self._halt.wait(self.interval):
            with self._lock:
                for service in self.services:
                    self.known_pids.add(service.pid)
                    if not service.running():
                        self._restart(service)
                reap_adopted(self.known_pids)

    def _restart(self, service):
        """Record the exit, clean up the session and start the service again."""
        code = service.popen.returncode
        kill_session(service.pid)
        self.exits.append(Exit(service.instance, code, service.instance in self._expected))
        self._expected.discard(service.instance)
        service.start()
        self.known_pids.add(service.pid)

    def halt(self):
        """Stop supervising (the services keep running)."""
        self._halt.set()
        self.join(5)
