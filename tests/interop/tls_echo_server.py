"""A Python Twisted TLS echo server on 127.0.0.1, port 0; prints its port.

Usage: tls_echo_server.py CERT.pem KEY.pem
"""
import sys

from twisted.internet import protocol, reactor, ssl


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


with open(sys.argv[1]) as cert, open(sys.argv[2]) as key:
    options = ssl.PrivateCertificate.loadPEM(cert.read() + key.read()).options()
port = reactor.listenSSL(
    0, protocol.Factory.forProtocol(Echo), options, interface="127.0.0.1"
)
print("port", port.getHost().port, flush=True)
reactor.run()
