# The built-in image registry.k8s.io/e2e-test-images/agnhost (any tag), as svcnet runs it
# inside the pod shim: the subcommands Kubernetes' own Service tests use, answering as the real
# ones do. Every listener binds the pod's own address (never 0.0.0.0: in host mode pods share
# the host's network and tell themselves apart by their loopback address).
#
#   serve-hostname [--port 9376] [--http=true] [--tcp] [--udp] [--close]  (--http or --tcp/--udp)
#   netexec [--http-port 8080] [--udp-port 8081] [--delay-shutdown N]
#   pause
import json
import os
import selectors
import signal
import socket
import sys
import time
from urllib.parse import parse_qs, unquote, urlsplit

USAGE = """agnhost is a testing utility, here svcnet's built-in subset of it.

Usage:
  agnhost [command]

Available Commands:
  netexec        Creates HTTP(S), UDP, and (optionally) SCTP servers with various endpoints
  pause          Pauses the execution
  serve-hostname Serves the hostname
"""


def log(msg):
    sys.stderr.write('%s %s\n' % (time.strftime('%Y/%m/%d %H:%M:%S'), msg))


def hostname():
    return os.environ.get('HOSTNAME') or socket.gethostname()


def parse_flags(args, spec):
    """pflag-style --name=value / --name value / --bool; returns (values, error)."""
    out = {k: v for k, (v, _) in spec.items()}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith('-'):
            return out, 'unknown argument %r' % a
        name, eq, val = a.lstrip('-').partition('=')
        if name not in spec:
            return out, 'unknown flag: --%s' % name
        kind = spec[name][1]
        if kind is bool:
            out[name] = (val.lower() in ('1', 't', 'true')) if eq else True
        else:
            if not eq:
                i += 1
                if i >= len(args):
                    return out, 'flag needs an argument: --%s' % name
                val = args[i]
            try:
                out[name] = kind(val)
            except ValueError:
                return out, 'invalid argument %r for "--%s" flag' % (val, name)
        i += 1
    return out, None


class Request:
    __slots__ = ('method', 'path', 'query', 'headers', 'body', 'peer')


REASONS = {200: 'OK', 301: 'Moved Permanently', 400: 'Bad Request', 404: 'Not Found', 412: 'Precondition Failed',
           417: 'Expectation Failed', 500: 'Internal Server Error', 503: 'Service Unavailable'}


class HttpServer:
    """A small HTTP/1.1 server on a selector: keep-alive, Content-Length bodies."""

    def __init__(self, loop, addr, port, handler):
        self.handler = handler
        self.loop = loop
        fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(512)
        s.setblocking(False)
        self.sock = s
        loop.register(s, self._accept)

    def _accept(self, s):
        try:
            c, peer = s.accept()
        except OSError:
            return
        c.setblocking(False)
        state = {'buf': b'', 'peer': peer}
        self.loop.register(c, lambda c: self._read(c, state))

    def _close(self, c):
        self.loop.unregister(c)
        try:
            c.close()
        except OSError:
            pass

    def _read(self, c, state):
        try:
            data = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            self._close(c)
            return
        state['buf'] += data
        while True:
            buf = state['buf']
            end = buf.find(b'\r\n\r\n')
            if end < 0:
                if len(buf) > 65536:
                    self._close(c)
                return
            head = buf[:end].decode('latin-1').split('\r\n')
            parts = head[0].split(' ')
            if len(parts) != 3:
                self._close(c)
                return
            headers = {}
            for h in head[1:]:
                k, _, v = h.partition(':')
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get('content-length') or 0)
            if len(buf) < end + 4 + n:
                return
            req = Request()
            req.method = parts[0]
            u = urlsplit(parts[1])
            req.path = unquote(u.path)
            req.query = parse_qs(u.query, keep_blank_values=True)
            req.headers = headers
            req.body = buf[end + 4:end + 4 + n]
            req.peer = state['peer']
            state['buf'] = buf[end + 4 + n:]
            code, body, extra = self.handler(req)
            if isinstance(body, str):
                body = body.encode()
            # A handler may ask to close the connection after its response (Connection: close).
            handler_close = extra.pop('Connection', '').lower() == 'close'
            close = handler_close or headers.get('connection', '').lower() == 'close' or parts[2] == 'HTTP/1.0'
            lines = ['HTTP/1.1 %d %s' % (code, REASONS.get(code, 'Status')),
                     'Content-Type: %s' % (extra.pop('Content-Type', 'text/plain; charset=utf-8')),
                     'Content-Length: %d' % len(body),
                     'Date: %s' % time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())]
            for k, v in extra.items():
                lines.append('%s: %s' % (k, v))
            if close:
                lines.append('Connection: close')
            try:
                c.setblocking(True)
                c.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + (b'' if req.method == 'HEAD' else body))
                c.setblocking(False)
            except OSError:
                self._close(c)
                return
            if close:
                self._close(c)
                return


class Loop:
    def __init__(self):
        self.sel = selectors.DefaultSelector()

    def register(self, sock, cb):
        self.sel.register(sock, selectors.EVENT_READ, cb)

    def unregister(self, sock):
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def run(self):
        while True:
            for key, _ in self.sel.select(1.0):
                key.data(key.fileobj)


def q(req, name, default=''):
    v = req.query.get(name)
    return v[0] if v else default


def peer_str(peer):
    host, port = peer[0], peer[1]
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def netexec(args, addr, finish):
    flags, err = parse_flags(args, {
        'http-port': (8080, int), 'udp-port': (8081, int), 'sctp-port': (-1, int),
        'delay-shutdown': (0, int), 'http-override': ('', str), 'certfile': ('', str),
        'privkeyfile': ('', str), 'udp-listen-addresses': ('', str),
    })
    if err:
        sys.stderr.write('Error: %s\n' % err)
        return 1
    state = {'shutting_down': False}

    def on_term(*_):
        log('Received SIGTERM')
        state['shutting_down'] = True
        if flags['delay-shutdown'] > 0:
            log('Sleeping %d seconds before terminating...' % flags['delay-shutdown'])
            signal.signal(signal.SIGALRM, lambda *_: finish(0))
            signal.alarm(flags['delay-shutdown'])
        else:
            finish(0)

    signal.signal(signal.SIGTERM, on_term)

    def handle(req):
        p = req.path
        log('%s %s' % (req.method, p))
        if p == '/':
            return 200, 'NOW: %s' % time.strftime('%Y-%m-%d %H:%M:%S +0000 UTC'), {}
        if p in ('/hostname', '/hostName'):
            return 200, hostname(), {}
        if p == '/clientip':
            return 200, peer_str(req.peer), {}
        if p == '/echo':
            code = q(req, 'code')
            return (int(code) if code.isdigit() else 200), q(req, 'msg'), {}
        if p == '/header':
            return 200, req.headers.get(q(req, 'key').lower(), ''), {}
        if p == '/healthz':
            return 200, '', {}
        if p == '/readyz':
            if state['shutting_down']:
                return 503, 'shutting down', {}
            return 200, '', {}
        if p == '/exit':
            code = q(req, 'code')
            if code == '' or code.lstrip('-').isdigit():
                finish(int(code or 0))
            return 200, '', {}
        if p == '/redirect':
            return 301, '', {'Location': q(req, 'location', '/')}
        if p == '/shell':
            import subprocess
            cmd = q(req, 'cmd')
            out = {}
            try:
                r = subprocess.run(['/bin/sh', '-c', cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                if cmd:
                    out['output'] = r.stdout.decode('utf-8', 'replace')
                if r.returncode != 0:
                    out['error'] = 'exit status %d' % r.returncode
            except OSError as e:
                out['error'] = str(e)
            return 200, json.dumps(out), {}
        if p == '/dial':
            return dial(req)
        return 404, '404 page not found\n', {}

    loop = Loop()
    HttpServer(loop, addr, flags['http-port'], handle)
    log('Started HTTP server on port %d' % flags['http-port'])
    if flags['udp-port'] > 0:
        u = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, flags['udp-port']))
        u.setblocking(False)

        def on_udp(s):
            try:
                data, peer = s.recvfrom(65536)
            except OSError:
                return
            cmd = data.decode('utf-8', 'replace').strip()
            if cmd == 'hostname':
                reply = hostname()
            elif cmd.startswith('echo '):
                reply = cmd[5:]
            elif cmd == 'clientip':
                reply = peer_str(peer)
            else:
                reply = 'unknown command'
            try:
                s.sendto(reply.encode(), peer)
            except OSError:
                pass

        loop.register(u, on_udp)
        log('Started UDP server on port %d' % flags['udp-port'])
    loop.run()
    return 0


def dial(req):
    """/dial?request=hostname&protocol=http|udp&host=H&port=P&tries=N: asks another netexec."""
    host, port, proto = q(req, 'host'), q(req, 'port'), q(req, 'protocol', 'http')
    request, tries = q(req, 'request'), int(q(req, 'tries', '1') or 1)
    responses, errors = [], []
    for _ in range(max(1, tries)):
        try:
            if proto == 'udp':
                s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(1)
                s.sendto(request.encode(), (host, int(port)))
                data, _ = s.recvfrom(65536)
                s.close()
                responses.append(data.decode('utf-8', 'replace'))
            else:
                s = socket.create_connection((host, int(port)), timeout=5)
                path = request if request.startswith('/') else '/' + request
                s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, host)).encode())
                data = b''
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                responses.append(data.split(b'\r\n\r\n', 1)[-1].decode('utf-8', 'replace'))
        except OSError as e:
            errors.append(str(e))
    return 200, json.dumps({'responses': responses, 'errors': errors} if errors else {'responses': responses}), {}


def serve_hostname(args, addr, finish):
    flags, err = parse_flags(args, {'port': (9376, int), 'http': (True, bool), 'tcp': (False, bool),
                                    'udp': (False, bool), 'close': (False, bool)})
    if err:
        sys.stderr.write('Error: %s\n' % err)
        return 1
    if flags['http'] and (flags['tcp'] or flags['udp']):
        log("Can't serve TCP/UDP mode and HTTP mode at the same time")
        return 1
    # On SIGTERM it says so and carries on serving, awaiting its pod's deletion (the kubelet's
    # SIGKILL at the grace period), or 60 s.
    state = {'terminating': False}

    def on_term(*_):
        if state['terminating']:
            return
        state['terminating'] = True
        log('Shutting down after receiving signal: terminated.')
        log('Awaiting pod deletion.')
        signal.signal(signal.SIGALRM, lambda *_: finish(0))
        signal.alarm(60)

    signal.signal(signal.SIGTERM, on_term)
    name = hostname()
    loop = Loop()
    if flags['http']:
        def handle(req):
            log('HTTP request from %s' % peer_str(req.peer))
            return 200, name, ({'Connection': 'close'} if flags['close'] else {})

        HttpServer(loop, addr, flags['port'], handle)
    if flags['tcp']:
        t = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, flags['port']))
        t.listen(128)
        t.setblocking(False)

        def on_tcp(s):
            try:
                c, peer = s.accept()
                log('TCP request from %s' % peer_str(peer))
                c.sendall(name.encode())
                c.close()
            except OSError:
                pass

        loop.register(t, on_tcp)
    if flags['udp']:
        u = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, flags['port']))
        u.setblocking(False)

        def on_udp(s):
            try:
                _, peer = s.recvfrom(65536)
                log('UDP request from %s' % peer_str(peer))
                s.sendto(name.encode(), peer)
            except OSError:
                pass

        loop.register(u, on_udp)
    log('Serving on port %d.' % flags['port'])
    loop.run()
    return 0


def pause(_args, _addr, finish):
    def stop(signum, _frame):
        sys.stderr.write('Shutting down, got signal: %s\n' % ('Terminated' if signum == signal.SIGTERM else 'Interrupt'))
        finish(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


COMMANDS = {'netexec': netexec, 'serve-hostname': serve_hostname, 'pause': pause}


def main(args, addr, finish):
    """args: what follows the program name; finish(code, sig=None) ends the container."""
    if not args or args[0] in ('-h', '--help', 'help'):
        sys.stdout.write(USAGE)
        return 0
    cmd = COMMANDS.get(args[0])
    if cmd is None:
        sys.stderr.write('Error: unknown command "%s" for "agnhost"\nRun \'agnhost --help\' for usage.\n' % args[0])
        return 1
    return cmd(args[1:], addr, finish)
