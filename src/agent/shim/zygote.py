# svcnet's shim zygote: one long-lived Python process per agent that forks pod shims. Forking
# a small, warmed-up interpreter costs about a millisecond, where spawning a shim from the
# agent costs a fork of the whole Node.js process (tens of ms, blocking its event loop) plus
# a fresh interpreter (~25 ms). Each forked shim starts a session of its own at once, so it
# outlives the zygote and the agent, exactly like a shim the agent spawned itself.
#
#   python3 -S -E zygote.py
#
# Requests on stdin, one JSON object a line: {"id": N, "spec": SPEC.json, "err": FILE,
# "prefix": [...]}; with a prefix (e.g. ip netns exec NS) the forked child execs
# PREFIX python3 podshim.py SPEC.json instead of running the shim in place.
# Answers on stdout, one a line:
#   {"id": N, "pid": SHIM_PID, "handshake": {"pid": P, "pgid": G}}   the shim runs the container
#   {"id": N, "pid": SHIM_PID, "error": "..."}                       it ended before that
#   {"exit": SHIM_PID, "code": C, "signal": S}                        a shim ended (C or S null)
#
# Exec requests {"id": N, "exec": {"argv", "env", "cwd", "tty", "sock", "tag"}} fork a command
# in its own session whose stdio are connections to the agent's unix socket `sock`: each
# connection first sends "<tag> <o|e|c>\n" (stdin+stdout, stderr, pty control). With "tty" the
# command runs under ptyshim.py. Answer: {"id": N, "pid": PID}; its end comes as an "exit".
# End of stdin (the agent went away) ends the zygote; the shims stay.
import json
import os
import selectors
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import podshim  # noqa: E402
import agnhost  # noqa: E402,F401  (warmed up for forked shims)
import subprocess  # noqa: E402,F401
import urllib.parse  # noqa: E402,F401
try:
    import ctypes  # noqa: F401
except ImportError:
    pass


def send(obj):
    data = (json.dumps(obj) + '\n').encode()
    while data:
        n = os.write(1, data)
        data = data[n:]


def main():
    sel = selectors.DefaultSelector()
    rsig, wsig = os.pipe()
    os.set_blocking(rsig, False)
    os.set_blocking(wsig, False)
    signal.set_wakeup_fd(wsig)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sel.register(0, selectors.EVENT_READ)
    sel.register(rsig, selectors.EVENT_READ)
    pending = {}  # read fd of a shim's handshake pipe -> [id, shim pid, bytes so far]
    inbuf = b''

    def fork_exec(req):
        x = req['exec']
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                for fd in [rsig, wsig] + list(pending):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                import socket

                def conn(kind):
                    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    c.connect(x['sock'])
                    c.sendall(('%s %s\n' % (x['tag'], kind)).encode())
                    return c.detach()

                out = conn('o')
                if x.get('tty'):
                    ctl = conn('c')
                    os.dup2(out, 0)
                    os.dup2(out, 1)
                    os.dup2(out, 2)
                    os.dup2(ctl, 3)
                    argv = [sys.executable, '-S', '-E', '-B', os.path.join(os.path.dirname(os.path.abspath(podshim.__file__)), 'ptyshim.py')] + list(x['argv'])
                else:
                    err = conn('e')
                    os.dup2(out, 0)
                    os.dup2(out, 1)
                    os.dup2(err, 2)
                    argv = list(x['argv'])
                os.closerange(4 if x.get('tty') else 3, 65536)
                try:
                    os.chdir(x.get('cwd') or '/')
                except OSError:
                    pass
                os.execvpe(argv[0], argv, x['env'])
            except BaseException as e:  # noqa: BLE001
                try:
                    os.write(2, ('exec failed: %s\n' % (e,)).encode())
                except OSError:
                    pass
            finally:
                os._exit(127)
        send({'id': req['id'], 'pid': pid})

    def fork(req):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in [rsig, wsig, r, sel.fileno()] + list(pending):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(w, 1)
                err = os.open(req['err'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(err, 2)
                for fd in (devnull, w, err):
                    if fd > 2:
                        os.close(fd)
                prefix = req.get('prefix') or []
                if prefix:
                    shim = os.path.join(os.path.dirname(os.path.abspath(podshim.__file__)), 'podshim.py')
                    os.execvp(prefix[0], list(prefix) + [sys.executable, '-S', '-E', '-B', shim, req['spec']])
                sys.stdout = open(1, 'w', closefd=False)
                sys.stderr = open(2, 'w', closefd=False)
                podshim.run(req['spec'])
            except BaseException as e:  # noqa: BLE001
                try:
                    os.write(2, ('svcnet zygote: shim failed: %r\n' % (e,)).encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(w)
        os.set_blocking(r, False)
        pending[r] = [req['id'], pid, b'']
        sel.register(r, selectors.EVENT_READ)

    while True:
        try:
            events = sel.select()
        except InterruptedError:
            continue
        for key, _ in events:
            fd = key.fd
            if fd == 0:
                data = os.read(0, 65536)
                if not data:
                    os._exit(0)
                inbuf += data
                while b'\n' in inbuf:
                    line, inbuf = inbuf.split(b'\n', 1)
                    if line.strip():
                        req = json.loads(line)
                        if 'exec' in req:
                            fork_exec(req)
                        else:
                            fork(req)
            elif fd == rsig:
                try:
                    while os.read(rsig, 4096):
                        pass
                except BlockingIOError:
                    pass
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    if os.WIFSIGNALED(status):
                        send({'exit': pid, 'code': None, 'signal': os.WTERMSIG(status)})
                    else:
                        send({'exit': pid, 'code': os.WEXITSTATUS(status), 'signal': None})
            elif fd in pending:
                entry = pending[fd]
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                entry[2] += data
                done = not data or b'\n' in entry[2]
                if done:
                    sel.unregister(fd)
                    os.close(fd)
                    del pending[fd]
                    line = entry[2].split(b'\n', 1)[0]
                    if line:
                        send({'id': entry[0], 'pid': entry[1], 'handshake': json.loads(line)})
                    else:
                        send({'id': entry[0], 'pid': entry[1], 'error': 'the pod shim exited before starting the container'})


if __name__ == '__main__':
    main()
