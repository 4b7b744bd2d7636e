"""A Python Twisted peer for the framing interop tests.

usage: basic_peer.py MODE server           listen on 127.0.0.1:0, print "port N", echo every message
       basic_peer.py MODE client PORT      send the test messages, check the echoes, print OK or FAIL
       basic_peer.py MODE toolong PORT     send one message over the default limit, then print
                                           "CLOSED N" when the connection is lost (N echoes seen)

MODE is line, netstring or int32. The receivers keep Twisted's default limits.
"""
import random
import struct
import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic

MODE, ROLE = sys.argv[1], sys.argv[2]

BASE = {
    "line": basic.LineReceiver,
    "netstring": basic.NetstringReceiver,
    "int32": basic.Int32StringReceiver,
}[MODE]


def messages():
    """Empty, short, exactly at the limit, one under it, and binary messages."""
    rng = random.Random(1234)
    limit = BASE.MAX_LENGTH
    if MODE == "line":
        # Anything but CR and LF.
        alphabet = bytes(b for b in range(256) if b not in (10, 13))
        binary = bytes(rng.choice(alphabet) for _ in range(1000))
        return [b"", b"hello", b"x" * limit, b"x" * (limit - 1), binary, b""]
    binary = bytes(rng.randrange(256) for _ in range(5000))
    return [b"", b"hello", b"\r\n,:", b"y" * limit, b"z" * (limit - 1), binary, b""]


def too_long():
    """Bytes announcing or holding one message over the default limit."""
    limit = BASE.MAX_LENGTH
    if MODE == "line":
        return b"x" * (limit + 1) + b"\r\nafter\r\n"
    if MODE == "netstring":
        return b"%d:" % (limit + 1) + b"a" * (limit + 1) + b",5:after,"
    return struct.pack("!I", limit + 1) + b"a" * (limit + 1)


class Peer(BASE):
    def send(self, message):
        if MODE == "line":
            self.sendLine(message)
        else:
            self.sendString(message)

    def received(self, message):
        if ROLE == "server":
            self.send(message)
            return
        self.got.append(message)
        if ROLE == "client" and len(self.got) == len(self.sent):
            ok = self.got == self.sent
            print("OK" if ok else "FAIL %r" % ([len(m) for m in self.got],), flush=True)
            self.transport.loseConnection()

    def lineReceived(self, line):
        self.received(line)

    def stringReceived(self, string):
        self.received(string)

    def connectionMade(self):
        self.got = []
        if ROLE == "client":
            self.sent = messages()
            for m in self.sent:
                self.send(m)
        elif ROLE == "toolong":
            self.transport.write(too_long())

    def connectionLost(self, reason):
        if ROLE == "toolong":
            print("CLOSED %d" % len(self.got), flush=True)
        if ROLE != "server" and reactor.running:
            reactor.stop()


def failed(connector, reason):
    print("FAIL connect", reason.getErrorMessage(), flush=True)
    reactor.stop()


if ROLE == "server":
    factory = protocol.Factory.forProtocol(Peer)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print("port", port.getHost().port, flush=True)
    # One connection is enough: stop once it is gone.
    Peer.connectionLost = lambda self, reason: reactor.callLater(0, reactor.stop)
else:
    cf = protocol.ClientFactory.forProtocol(Peer)
    cf.clientConnectionFailed = failed
    reactor.connectTCP("127.0.0.1", int(sys.argv[3]), cf)
reactor.run()
