"""A Python Twisted echo server on 127.0.0.1, port 0; prints its port."""
import sys

from twisted.internet import protocol, reactor


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
print("port", port.getHost().port, flush=True)
reactor.run()
