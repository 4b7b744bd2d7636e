"""A Python Twisted peer for the framing interop tests.

usage: basic_peer.py MODE server          listen on 127.0.0.1:0, print the port, echo every message
       basic_peer.py MODE client PORT     send the test messages, check the echoes, print OK or FAIL

MODE is line, netstring or int32.
"""
import random
import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic

MODE, ROLE = sys.argv[1], sys.argv[2]


def messages():
    rng = random.Random(1234)
    if MODE == "line":
        limit = basic.LineReceiver.MAX_LENGTH
        binary = bytes(rng.choice(b"abcdefghij \t\x00\xff") for _ in range(1000))
        return [b"", b"hello", b"x" * limit, b"x" * (limit - 1), binary]
    limit = 99999
    binary = bytes(rng.randrange(256) for _ in range(5000))
    return [b"", b"hello", b"\r\n,:", b"y" * limit, binary]


BASE = {
    "line": basic.LineReceiver,
    "netstring": basic.NetstringReceiver,
    "int32": basic.Int32StringReceiver,
}[MODE]


class Peer(BASE):
    def send(self, message):
        if MODE == "line":
            self.sendLine(message)
        else:
            self.sendString(message)

    def received(self, message):
        if ROLE == "server":
            self.send(message)
        else:
            self.got.append(message)
            if len(self.got) == len(self.sent):
                ok = self.got == self.sent
                print("OK" if ok else "FAIL %r" % ([len(m) for m in self.got],), flush=True)
                self.transport.loseConnection()

    def lineReceived(self, line):
        self.received(line)

    def stringReceived(self, string):
        self.received(string)

    def connectionMade(self):
        if ROLE == "client":
            self.got = []
            self.sent = messages()
            for m in self.sent:
                self.send(m)

    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


factory = protocol.Factory.forProtocol(Peer)
if ROLE == "server":
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print("port", port.getHost().port, flush=True)
else:
    cf = protocol.ClientFactory.forProtocol(Peer)
    cf.clientConnectionFailed = lambda c, r: (print("FAIL connect", r.getErrorMessage(), flush=True), reactor.stop())
    reactor.connectTCP("127.0.0.1", int(sys.argv[3]), cf)
reactor.run()
