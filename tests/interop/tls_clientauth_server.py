"""A Python Twisted TLS echo server that requires a client certificate signed
by a given CA (as Twisted's ssl_clientauth_server.py), on 127.0.0.1, port 0;
prints its port, then one line per connection: "client CN" or "lost REASON".

Usage: tls_clientauth_server.py CERT.pem KEY.pem CLIENT_CA.pem
"""
import sys

from twisted.internet import protocol, reactor, ssl


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        peer = self.transport.getPeerCertificate()
        if peer is not None and not getattr(self, "told", False):
            self.told = True
            print("client", peer.get_subject().CN, flush=True)
        self.transport.write(data)

    def connectionLost(self, reason):
        print("lost", reason.getErrorMessage().replace("\n", " "), flush=True)


with open(sys.argv[1]) as cert, open(sys.argv[2]) as key:
    server = ssl.PrivateCertificate.loadPEM(cert.read() + key.read())
with open(sys.argv[3]) as ca:
    authority = ssl.Certificate.loadPEM(ca.read())
port = reactor.listenSSL(
    0,
    protocol.Factory.forProtocol(Echo),
    server.options(authority),
    interface="127.0.0.1",
)
print("port", port.getHost().port, flush=True)
reactor.run()
