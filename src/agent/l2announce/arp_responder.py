# svcnet's ARP responder for LoadBalancer addresses (MetalLB's layer 2 speaker): it answers ARP
# requests for the addresses it is given with the MAC address of the interface the request came
# in on, without the addresses being configured on the node. The node agent's l2announce plugin
# runs it in the node's network namespace. It ends when its stdin closes or its parent dies (the
# agent went away), so an announcement lives exactly as long as the agent that made it.
#
#   python3 -S -E arp_responder.py
#
# Requests on stdin, one a line:
#   set IFACE [IPV4 ...]     answer for exactly these addresses on IFACE from now on (none: stop)
# Answers on stdout, one JSON object a line, in order:
#   {"ok": IFACE, "mac": "aa:bb:cc:dd:ee:ff"}   the set took effect
#   {"error": "...", "iface": IFACE}            it did not (no such interface, bad address)
import json
import os
import selectors
import signal
import socket
import struct
import sys

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
ARP_REQUEST = 1
ARP_REPLY = 2


def send(obj):
    data = (json.dumps(obj) + '\n').encode()
    while data:
        n = os.write(1, data)
        data = data[n:]


def die_with_parent():
    # The agent killed with -9 must not leave an announcement behind.
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(0)
    except (ImportError, OSError, AttributeError):
        pass


class Iface:
    def __init__(self, name):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        try:
            s.bind((name, ETH_P_ARP))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.name = name
        self.sock = s
        self.mac = s.getsockname()[4]
        self.ips = set()

    def mac_text(self):
        return ':'.join('%02x' % b for b in self.mac)

    def on_readable(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            # Our own requests (the node asking for an address) are not questions to answer.
            if addr[2] == PACKET_OUTGOING or len(data) < 42:
                continue
            htype, ptype, hlen, plen, op = struct.unpack('!HHBBH', data[14:22])
            if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4 or op != ARP_REQUEST:
                continue
            sha, spa, tpa = data[22:28], data[28:32], data[38:42]
            # A gratuitous ARP for the address from someone else is an announcement, not a question.
            if tpa not in self.ips or spa == tpa:
                continue
            reply = (data[6:12] + self.mac + struct.pack('!H', ETH_P_ARP)
                     + struct.pack('!HHBBH', 1, ETH_P_IP, 6, 4, ARP_REPLY)
                     + self.mac + tpa + sha + spa)
            try:
                self.sock.send(reply)
            except OSError:
                pass


def main():
    die_with_parent()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, None)
    ifaces = {}
    inbuf = b''

    def handle(line):
        parts = line.split()
        if len(parts) < 2 or parts[0] != 'set':
            send({'error': 'expected: set IFACE [IP ...]', 'iface': ''})
            return
        name, addrs = parts[1], parts[2:]
        try:
            packed = set(socket.inet_pton(socket.AF_INET, a) for a in addrs)
        except OSError:
            send({'error': 'not an IPv4 address in %r' % (addrs,), 'iface': name})
            return
        iface = ifaces.get(name)
        if iface is None and not packed:
            send({'ok': name, 'mac': ''})
            return
        if iface is None:
            try:
                iface = Iface(name)
            except OSError as e:
                send({'error': '%s: %s' % (name, e.strerror or e), 'iface': name})
                return
            ifaces[name] = iface
            sel.register(iface.sock, selectors.EVENT_READ, iface)
        iface.ips = packed
        mac = iface.mac_text()
        if not packed:
            sel.unregister(iface.sock)
            iface.sock.close()
            del ifaces[name]
        send({'ok': name, 'mac': mac})

    while True:
        try:
            events = sel.select()
        except InterruptedError:
            continue
        for key, _ in events:
            if key.data is not None:
                key.data.on_readable()
                continue
            data = os.read(0, 65536)
            if not data:
                os._exit(0)
            inbuf += data
            while b'\n' in inbuf:
                line, inbuf = inbuf.split(b'\n', 1)
                if line.strip():
                    handle(line.decode())


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
