# svcnet pod shim: the process that stands for one container (one per container, started
# detached in a session of its own by the node agent, so it outlives the agent).
#
# Python rather than Node.js because it starts in ~25 ms where `node` takes ~85 ms of CPU on a
# small machine, and the agent starts tens of pods per second. Kept to the standard library
# and loaded with `python3 -S -E` (no site, no environment influence).
#
#   python3 -S -E podshim.py SPEC.json
#
# SPEC.json: {"argv": [...], "env": {...}, "cwd": str|null, "logPath": str, "exitPath": str,
#             "maxLogBytes": int, "builtin": "agnhost"|null, "bindAddress": str}
#
# It writes one line to fd 1, {"pid": P, "pgid": G}, where P is the container's main process
# and G the process group the agent signals, then points fd 1 at /dev/null (the agent may die).
# The container's stdout and stderr go to logPath in the CRI log format
# ("<RFC3339Nano> <stream> <P|F> <text>"), rotated to logPath + ".1" past maxLogBytes.
# When the container ends, exitPath gets {"exitCode", "signal", "finishedAt", "reason", "message"}.
import json
import os
import signal
import sys
import time

MAX_LINE = 16 * 1024


def rfc3339nano(ns=None):
    if ns is None:
        ns = time.time_ns()
    s, frac = divmod(ns, 1_000_000_000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(s)) + '.%09dZ' % frac


class CriLog:
    """Writes CRI log lines, one buffer per stream, rotating by size (keeping one previous file)."""

    def __init__(self, path, max_bytes):
        self.path = path
        self.max = max_bytes if max_bytes and max_bytes > 0 else 10 * 1024 * 1024
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.partial = {'stdout': b'', 'stderr': b''}

    def _emit(self, stream, tag, content):
        line = ('%s %s %s ' % (rfc3339nano(), stream, tag)).encode() + content + b'\n'
        try:
            os.write(self.fd, line)
        except OSError:
            return
        self.size += len(line)
        if self.size >= self.max:
            self._rotate()

    def _rotate(self):
        try:
            os.replace(self.path, self.path + '.1')
            nfd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o640)
        except OSError:
            return
        os.close(self.fd)
        self.fd = nfd
        self.size = 0

    def write(self, stream, data):
        buf = self.partial[stream] + data
        while True:
            nl = buf.find(b'\n')
            if nl < 0:
                break
            line = buf[:nl]
            buf = buf[nl + 1:]
            while len(line) > MAX_LINE:
                self._emit(stream, 'P', line[:MAX_LINE])
                line = line[MAX_LINE:]
            self._emit(stream, 'F', line)
        while len(buf) > MAX_LINE:
            self._emit(stream, 'P', buf[:MAX_LINE])
            buf = buf[MAX_LINE:]
        self.partial[stream] = buf

    def flush(self, stream):
        # Output left without a newline at EOF is a partial line, as containerd writes it.
        if self.partial[stream]:
            self._emit(stream, 'P', self.partial[stream])
            self.partial[stream] = b''


def write_json_atomic(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def handshake(pid, pgid):
    try:
        os.write(1, (json.dumps({'pid': pid, 'pgid': pgid}) + '\n').encode())
    except OSError:
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.close(devnull)


def record_exit(spec, code, sig=None, reason=None, message=None):
    rec = {'exitCode': code, 'signal': sig, 'finishedAt': rfc3339nano()}
    if reason:
        rec['reason'] = reason
    if message:
        rec['message'] = message
    try:
        write_json_atomic(spec['exitPath'], rec)
    except OSError:
        pass


class StreamWriter:
    """sys.stdout/sys.stderr for a built-in image running inside the shim."""

    def __init__(self, log, stream):
        self.log = log
        self.stream = stream

    def write(self, s):
        self.log.write(self.stream, s.encode('utf-8', 'replace') if isinstance(s, str) else s)
        return len(s)

    def flush(self):
        pass


def run_builtin(spec, log):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import agnhost  # noqa: E402  (loaded only for the built-in image)

    sys.stdout = StreamWriter(log, 'stdout')
    sys.stderr = StreamWriter(log, 'stderr')

    def finish(code, sig=None):
        log.flush('stdout')
        log.flush('stderr')
        record_exit(spec, code, sig)
        if sig:
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(code)

    os.environ.clear()
    os.environ.update(spec['env'])
    if spec.get('cwd'):
        try:
            os.chdir(spec['cwd'])
        except OSError:
            pass
    handshake(os.getpid(), os.getpgid(0))
    try:
        code = agnhost.main(spec['argv'][1:], spec.get('bindAddress') or '127.0.0.1', finish)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001 (a crash of the program is its exit status)
        sys.stderr.write('panic: %r\n' % (e,))
        code = 2
    finish(code or 0)


def run_child(spec, log):
    import selectors
    import subprocess

    # Handlers (not SIG_IGN) so the child gets default dispositions back at exec.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *_: None)

    def child_setup():
        os.setpgid(0, 0)
        # The shim is the container's lifeline (as containerd's shim is): if it is killed, so
        # is the container (PR_SET_PDEATHSIG = 1, SIGKILL).
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError, ImportError):
            pass

    try:
        p = subprocess.Popen(
            spec['argv'],
            env=spec['env'],
            cwd=spec.get('cwd') or None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=child_setup,
            close_fds=True,
        )
    except (OSError, subprocess.SubprocessError) as e:
        handshake(os.getpid(), os.getpgid(0))
        msg = str(e)
        if isinstance(e, FileNotFoundError):
            msg = 'exec: "%s": executable file not found in $PATH' % spec['argv'][0]
        elif isinstance(e, PermissionError):
            msg = 'exec: "%s": permission denied' % spec['argv'][0]
        log._emit('stderr', 'F', msg.encode())
        record_exit(spec, 128, None, 'StartError', msg)
        os._exit(128)
    handshake(p.pid, p.pid)
    sel = selectors.DefaultSelector()
    streams = {p.stdout.fileno(): 'stdout', p.stderr.fileno(): 'stderr'}
    for fd in streams:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(streams)
    status = None
    drain_deadline = None
    while open_fds:
        timeout = 0.5
        if status is not None:
            # The main process ended; grandchildren may hold the pipes: drain briefly.
            if drain_deadline is None:
                drain_deadline = time.monotonic() + 1.0
            timeout = max(0.0, drain_deadline - time.monotonic())
            if timeout == 0:
                break
        for key, _ in sel.select(timeout):
            fd = key.fd
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b''
            if data:
                log.write(streams[fd], data)
            else:
                sel.unregister(fd)
                open_fds.discard(fd)
                log.flush(streams[fd])
        if status is None:
            status = p.poll()
    if status is None:
        status = p.wait()
    for fd in streams:
        log.flush(streams[fd])
    if status < 0:
        record_exit(spec, 128 - status, -status)
        os._exit(128 - status)
    record_exit(spec, status)
    os._exit(status)


def run(spec_path):
    """Runs the container the spec describes; never returns (the process exits with it)."""
    with open(spec_path) as f:
        spec = json.load(f)
    log = CriLog(spec['logPath'], spec.get('maxLogBytes'))
    if spec.get('builtin') == 'agnhost':
        run_builtin(spec, log)
    else:
        run_child(spec, log)


if __name__ == '__main__':
    run(sys.argv[1])
