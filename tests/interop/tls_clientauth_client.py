"""A Python Twisted TLS client (as Twisted's ssl_clientauth_client.py): dials
127.0.0.1:PORT verifying "localhost" against CA.pem, presenting a client
certificate if given, sends "hello" and prints "echo TEXT", or "failed REASON"
if the connection is lost before the echo.

Usage: tls_clientauth_client.py PORT CA.pem [CERT.pem KEY.pem]
"""
import sys

from twisted.internet import protocol, reactor, ssl


class Client(protocol.Protocol):
    done = False

    def connectionMade(self):
        self.transport.write(b"hello")

    def dataReceived(self, data):
        self.done = True
        print("echo", data.decode(), flush=True)
        self.transport.loseConnection()

    def connectionLost(self, reason):
        if not self.done:
            print("failed", reason.getErrorMessage().replace("\n", " "), flush=True)
        reactor.stop()


with open(sys.argv[2]) as ca:
    authority = ssl.Certificate.loadPEM(ca.read())
client = None
if len(sys.argv) > 4:
    with open(sys.argv[3]) as cert, open(sys.argv[4]) as key:
        client = ssl.PrivateCertificate.loadPEM(cert.read() + key.read())
options = ssl.optionsForClientTLS("localhost", authority, client)
factory = protocol.ClientFactory.forProtocol(Client)
factory.clientConnectionFailed = lambda c, r: (
    print("failed", r.getErrorMessage(), flush=True),
    reactor.stop(),
)
reactor.connectSSL("127.0.0.1", int(sys.argv[1]), factory, options)
reactor.run()
