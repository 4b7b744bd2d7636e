"""Python Twisted peers that misbehave around a TLS handshake, for Twist's
TLS hardening tests.

Usage:
  tls_hostile_peer.py stall-clients PORT N
      Opens N TCP connections to 127.0.0.1:PORT and never sends a byte (no
      ClientHello). Prints "connected N" once all are connected, then
      "closed K open M" each time the other side closes one.
  tls_hostile_peer.py silent-server
      Listens on 127.0.0.1 (port 0, printed as "port P"), accepts and never
      answers (a TLS client's ClientHello gets no reply). Prints "closed K"
      each time a client goes away.
  tls_hostile_peer.py starttls-flood PORT CA.pem MEGABYTES
      Says "STARTTLS", waits for "OK", starts TLS verifying "localhost" against
      CA.pem, then offers MEGABYTES MiB as fast as the transport takes them
      (a push producer: Twisted pauses it when its buffers fill). Prints
      "offered B" every 0.25 s while the count changes, "stalled B" once it
      has not changed for 1 s, and "done B" once everything was handed over.
"""
import sys

from twisted.internet import protocol, reactor, ssl, task
from twisted.protocols.basic import LineReceiver


class Silent(protocol.Protocol):
    def connectionMade(self):
        self.factory.connected += 1
        if self.factory.connected == self.factory.wanted:
            print("connected", self.factory.connected, flush=True)

    def connectionLost(self, reason):
        self.factory.closed += 1
        if self.factory.wanted:
            open_ = self.factory.connected - self.factory.closed
            print("closed", self.factory.closed, "open", open_, flush=True)
        else:
            print("closed", self.factory.closed, flush=True)


class SilentFactory(protocol.ClientFactory):
    protocol = Silent

    def __init__(self, wanted):
        self.wanted = wanted
        self.connected = 0
        self.closed = 0

    def clientConnectionFailed(self, connector, reason):
        print("failed", reason.getErrorMessage(), flush=True)


def stall_clients(port, n):
    factory = SilentFactory(n)
    for _ in range(n):
        reactor.connectTCP("127.0.0.1", port, factory)


def silent_server():
    factory = SilentFactory(0)
    factory.protocol = Silent
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print("port", listening.getHost().port, flush=True)


class Flood(LineReceiver):
    chunk = b"x" * 65536

    def __init__(self, authority, total):
        self.authority = authority
        self.left = total
        self.offered = 0
        self.paused = False
        self.reported = -1
        self.still = 0

    def connectionMade(self):
        self.sendLine(b"STARTTLS")

    def lineReceived(self, line):
        if line != b"OK":
            return
        self.transport.startTLS(ssl.optionsForClientTLS("localhost", self.authority))
        self.transport.registerProducer(self, True)
        self.report = task.LoopingCall(self.tick)
        self.report.start(0.25, now=False)
        self.resumeProducing()

    def tick(self):
        if self.offered != self.reported:
            self.reported = self.offered
            self.still = 0
            print("offered", self.offered, flush=True)
        else:
            self.still += 1
            if self.still == 4:
                print("stalled", self.offered, flush=True)

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.left > 0:
            n = min(self.left, len(self.chunk))
            self.transport.write(self.chunk[:n])
            self.left -= n
            self.offered += n
        if self.left == 0 and self.report is not None:
            self.report.stop()
            self.report = None
            self.transport.unregisterProducer()
            print("done", self.offered, flush=True)

    def stopProducing(self):
        self.left = 0

    report = None

    def connectionLost(self, reason):
        print("lost", reason.getErrorMessage(), flush=True)
        if self.report is not None:
            self.report.stop()


def starttls_flood(port, ca_path, megabytes):
    with open(ca_path) as ca:
        authority = ssl.Certificate.loadPEM(ca.read())
    factory = protocol.ClientFactory()
    factory.protocol = lambda: Flood(authority, megabytes * 1024 * 1024)
    reactor.connectTCP("127.0.0.1", port, factory)


mode = sys.argv[1]
if mode == "stall-clients":
    stall_clients(int(sys.argv[2]), int(sys.argv[3]))
elif mode == "silent-server":
    silent_server()
elif mode == "starttls-flood":
    starttls_flood(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
else:
    sys.exit("unknown mode " + mode)
reactor.run()
