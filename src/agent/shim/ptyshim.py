# svcnet's pseudo-terminal shim for `kubectl exec -t` (Node.js has no pty of its own):
#
#   python3 -S -E ptyshim.py COMMAND [ARG...]
#
# Runs COMMAND on a new pseudo-terminal (as its session leader and controlling terminal),
# copies fd 0 to the terminal and the terminal to fd 1, and takes window sizes as JSON lines
# {"Width": W, "Height": H} on fd 3 (the remotecommand resize message). Exits with the
# command's exit status (128 + signal number when a signal ended it).
import errno
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios


def set_size(fd, width, height):
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', height, width, 0, 0))
    except OSError:
        pass


def main():
    argv = sys.argv[1:]
    if not argv:
        sys.stderr.write('ptyshim: no command\n')
        os._exit(2)
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            msg = 'exec: "%s": executable file not found in $PATH' % argv[0] if e.errno == errno.ENOENT else str(e)
            os.write(2, ('OCI runtime exec failed: exec failed: unable to start container process: %s: unknown\r\n' % msg).encode())
            os._exit(127 if e.errno == errno.ENOENT else 126)
    ctl_buf = b''
    inputs = [0, master]
    try:
        os.fstat(3)
        inputs.append(3)
    except OSError:
        pass
    stdin_open = True
    while True:
        try:
            r, _, _ = select.select(inputs, [], [])
        except InterruptedError:
            continue
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b''
            if not data:
                break
            os.write(1, data)
        if stdin_open and 0 in r:
            data = os.read(0, 65536)
            if data:
                os.write(master, data)
            else:
                stdin_open = False
                inputs.remove(0)
                # End of input on a terminal: the EOF character.
                os.write(master, b'\x04')
        if 3 in r:
            data = os.read(3, 4096)
            if not data:
                inputs.remove(3)
            else:
                ctl_buf += data
                while b'\n' in ctl_buf:
                    line, ctl_buf = ctl_buf.split(b'\n', 1)
                    try:
                        m = json.loads(line)
                        set_size(master, int(m.get('Width', 0)), int(m.get('Height', 0)))
                    except (ValueError, TypeError, AttributeError):
                        pass
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


if __name__ == '__main__':
    main()
