# svcnet's shim zygote: one long-lived Python process per agent that forks pod shims. Forking
# a small, warmed-up interpreter costs about a millisecond, where spawning a shim from the
# agent costs a fork of the whole Node.js process (tens of ms, blocking its event loop) plus
# a fresh interpreter (~25 ms). Each forked shim starts a session of its own at once, so it
# outlives the zygote and the agent, exactly like a shim the agent spawned itself.
#
#   python3 -S -E zygote.py
#
# Requests on stdin, one JSON object a line: {"id": N, "spec": SPEC.json, "err": FILE,
# "prefix": [...], "netns": NAME}; with a prefix (e.g. ip netns exec NS) the forked child execs
# PREFIX python3 podshim.py SPEC.json instead of running the shim in place. With "netns" (sent
# with the equivalent prefix) it instead enters the namespace itself as `ip netns exec NAME`
# would (enter_netns) and runs the shim in place: no exec, no fresh interpreter; the prefix is
# only used where ctypes is missing.
# Answers on stdout, one a line:
#   {"id": N, "pid": SHIM_PID, "handshake": {"pid": P, "pgid": G}}   the shim runs the container
#   {"id": N, "pid": SHIM_PID, "error": "..."}                       it ended before that
#   {"exit": SHIM_PID, "code": C, "signal": S}                        a shim ended (C or S null)
#
# Exec requests {"id": N, "exec": {"argv", "env", "cwd", "tty", "sock", "tag"}} fork a command
# in its own session whose stdio are connections to the agent's unix socket `sock`: each
# connection first sends "<tag> <o|e|c>\n" (stdin+stdout, stderr, pty control). With "tty" the
# command runs under ptyshim.py. Answer: {"id": N, "pid": PID}; its end comes as an "exit".
# Run requests {"id": N, "run": {"argv": [...], "input": str}} run a short command (the netns
# runtime's `ip -batch`, sysctl) in a forked helper, whose fork is cheap where the agent's is
# not (a fork of the agent blocks its event loop, and API requests with it). Answer:
# {"id": N, "result": {"code": C, "stdout": str, "stderr": str}}; helpers' exits are not reported.
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
    import ctypes
except ImportError:  # no libffi: requests with a netns fall back to their prefix
    ctypes = None


CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19
MNT_DETACH = 2
NETNS_RUN_DIR = '/run/netns'
NETNS_ETC_DIR = '/etc/netns'


def enter_netns(name):
    """What `ip netns exec NAME` does before it execs (iproute2's netns_switch and bind_etc):
    join the namespace, take a private mount namespace whose mounts do not propagate back, mount
    a /sys describing the namespace, and bind /etc/netns/NAME/* over /etc/* (resolv.conf, hosts).
    Only ever called in a freshly forked, single-threaded child."""
    libc = ctypes.CDLL(None, use_errno=True)

    def check(rc, what):
        if rc != 0:
            e = ctypes.get_errno()
            raise OSError(e, '%s: %s' % (what, os.strerror(e)))

    if '/' in name or name in ('', '.', '..'):
        raise ValueError('invalid network namespace name %r' % (name,))
    fd = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        check(libc.setns(fd, CLONE_NEWNET), 'setting the network namespace to "%s"' % name)
    finally:
        os.close(fd)
    check(libc.unshare(CLONE_NEWNS), 'unshare')
    check(libc.mount(b'', b'/', b'none', MS_SLAVE | MS_REC, None), '"mount --make-rslave /"')
    flags = 0
    if libc.umount2(b'/sys', MNT_DETACH) != 0:
        # No sysfs there, or one that cannot go: overlay it (read-only stays read-only).
        try:
            if os.statvfs('/sys').f_flag & os.ST_RDONLY:
                flags = MS_RDONLY
        except OSError:
            pass
    check(libc.mount(name.encode(), b'/sys', b'sysfs', flags, None), 'mount of /sys')
    etc = os.path.join(NETNS_ETC_DIR, name)
    try:
        entries = os.listdir(etc)
    except OSError:
        entries = []
    for entry in entries:
        src = os.path.join(etc, entry).encode()
        dst = os.path.join('/etc', entry).encode()
        if libc.mount(src, dst, b'none', MS_BIND, None) != 0:
            e = ctypes.get_errno()
            os.write(2, ('Bind %s -> %s failed: %s\n' % (src.decode(), dst.decode(), os.strerror(e))).encode())


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
    results = {}  # read fd of a run helper's result pipe -> [id, bytes so far]
    helpers = set()  # pids of run helpers (their exits are nobody's business)
    inbuf = b''

    def forget_parent(r):
        # In a forked child: the zygote's signal plumbing and descriptors are not its own.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in [rsig, wsig, r, sel.fileno()] + list(pending) + list(results):
            try:
                os.close(fd)
            except OSError:
                pass

    def run_helper(req):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                forget_parent(r)
                x = req['run']
                try:
                    p = subprocess.run(list(x['argv']), input=(x.get('input') or '').encode(), capture_output=True, timeout=30)
                    out = {'code': p.returncode if p.returncode >= 0 else 128 - p.returncode, 'stdout': p.stdout.decode('utf-8', 'replace'), 'stderr': p.stderr.decode('utf-8', 'replace')}
                except subprocess.TimeoutExpired:
                    out = {'code': 124, 'stdout': '', 'stderr': 'timed out after 30 s'}
                except OSError as e:
                    out = {'code': 127, 'stdout': '', 'stderr': str(e)}
                data = (json.dumps(out) + '\n').encode()
                while data:
                    data = data[os.write(w, data):]
            finally:
                os._exit(0)
        os.close(w)
        os.set_blocking(r, False)
        helpers.add(pid)
        results[r] = [req['id'], b'']
        sel.register(r, selectors.EVENT_READ)

    def fork_exec(req):
        x = req['exec']
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                for fd in [rsig, wsig] + list(pending) + list(results):
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
                forget_parent(r)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(w, 1)
                err = os.open(req['err'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(err, 2)
                for fd in (devnull, w, err):
                    if fd > 2:
                        os.close(fd)
                prefix = req.get('prefix') or []
                if req.get('netns') and ctypes is not None:
                    enter_netns(req['netns'])
                    prefix = []
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
                        elif 'run' in req:
                            run_helper(req)
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
                    if pid in helpers:
                        helpers.discard(pid)
                        continue
                    if os.WIFSIGNALED(status):
                        send({'exit': pid, 'code': None, 'signal': os.WTERMSIG(status)})
                    else:
                        send({'exit': pid, 'code': os.WEXITSTATUS(status), 'signal': None})
            elif fd in results:
                entry = results[fd]
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                entry[1] += data
                if not data:
                    sel.unregister(fd)
                    os.close(fd)
                    del results[fd]
                    try:
                        res = json.loads(entry[1].split(b'\n', 1)[0])
                    except ValueError:
                        res = {'code': 1, 'stdout': '', 'stderr': 'the command runner ended without a result'}
                    send({'id': entry[0], 'result': res})
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
