"""Runs one verified program and makes sure that, when it ends, everything it started ends too.

Launched by ``runner.py`` as ``python -I reaper.py STATUS.json TIMEOUT OUT ERR -- COMMAND...``
in a new session. It becomes a child subreaper (Linux), so processes that the program
starts and orphans, even through a double fork and ``setsid``, are re-parented to it rather
than to init; it starts COMMAND in a process group of its own, with stdout and stderr on
pipes it drains (keeping only the last ``TAIL_BYTES`` of each, so a program that prints
gigabytes fills neither memory nor disk), waits for COMMAND to exit or for the timeout,
then kills COMMAND's process group and every descendant left, and reaps them. STATUS.json
gets ``returncode`` (negative: killed by that signal), ``timed_out``, ``seconds``, the byte
counts of both streams and ``leftover``, the processes still running when the program ended.

Standard library only: it runs under gradfix's Python, before anything of the user's.
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import time

TAIL_BYTES = 256 * 1024
PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS = 200


class _Stop(Exception):
    """SIGTERM from the runner (it is giving up or was interrupted): clean up now."""


def _prctl(option, value):
    """True when the call succeeded (Linux only; elsewhere process groups must do)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _descendants(root):
    """Pids of every live descendant of ``root`` (from /proc; empty where there is none)."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_tree():
    """Kill every descendant still alive (as they die, theirs are re-parented to us)."""
    killed = set()
    me = os.getpid()
    for _ in range(KILL_ROUNDS):
        _reap_all()
        left = [pid for pid in _descendants(me) if pid not in killed or alive(pid)]
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)  # let them die, and their children come to us
    _reap_all()


def alive(pid):
    """Not a zombie (a zombie that is not our child is reaped by its own parent)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] != b"Z"


class _Tail:
    def __init__(self):
        self.data = bytearray()
        self.total = 0

    def add(self, chunk):
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * TAIL_BYTES:
            del self.data[:-TAIL_BYTES]

    def save(self, path):
        with open(path, "wb") as handle:
            handle.write(bytes(self.data[-TAIL_BYTES:]))


def _drain(selector, tails, until):
    """Read what the pipes hold until ``until`` (monotonic) or until every pipe is closed."""
    while selector.get_map() and time.monotonic() < until:
        for key, _ in selector.select(timeout=max(0.0, min(0.05, until - time.monotonic()))):
            try:
                chunk = os.read(key.fd, 65536)
            except OSError:
                chunk = b""
            if chunk:
                tails[key.data].add(chunk)
            else:
                selector.unregister(key.fd)
                os.close(key.fd)
        if until == float("inf"):
            return


def main(argv):
    status_path, timeout, out_path, err_path = argv[1], float(argv[2]), argv[3], argv[4]
    command = argv[argv.index("--") + 1:]

    def stop(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGTERM, stop)
    # Not PR_SET_PDEATHSIG: it fires when the *thread* that started us ends. Polling the
    # parent's pid catches gradfix itself dying, whatever thread ran the verifier.
    parent = os.getppid()
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    status = {"returncode": None, "timed_out": False, "subreaper": subreaper, "stopped": False}
    tails = {"out": _Tail(), "err": _Tail()}
    selector = selectors.DefaultSelector()
    proc = None
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                                preexec_fn=os.setpgrp)
        os.close(out_w)
        os.close(err_w)
        selector.register(out_r, selectors.EVENT_READ, "out")
        selector.register(err_r, selectors.EVENT_READ, "err")
        deadline = started + timeout
        while proc.poll() is None:
            now = time.monotonic()
            if now >= deadline:
                status["timed_out"] = True
                break
            if os.getppid() != parent:  # gradfix is gone: nobody will read the result
                status["stopped"] = True
                break
            if selector.get_map():
                _drain(selector, tails, float("inf"))
                if not selector.get_map():
                    time.sleep(0.01)
            else:
                time.sleep(min(0.05, deadline - now))
    except _Stop:
        status["stopped"] = True
    except OSError as exc:
        status["error"] = "%s: %s" % (type(exc).__name__, exc.strerror or exc)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish cleaning up whatever comes
        status["seconds"] = time.monotonic() - started
        # What the program left running when it ended (or was stopped), besides itself.
        status["leftover"] = len([pid for pid in _descendants(os.getpid())
                                  if (proc is None or pid != proc.pid) and alive(pid)])
        if proc is not None:
            try:  # the program's own process group first (all there is without /proc)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            status["returncode"] = proc.returncode
        _kill_tree()
        # Every writer is dead now; what is left in the pipes is the end of the output.
        _drain(selector, tails, time.monotonic() + 2.0)
        for fd in list(selector.get_map()):
            os.close(fd)
        for name, path in (("out", out_path), ("err", err_path)):
            tails[name].save(path)
            status["%s_bytes" % name] = tails[name].total
        with open(status_path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(status, handle)
        os.replace(status_path + ".tmp", status_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
