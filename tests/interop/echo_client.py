"""A Python Twisted echo client: sends a message, prints the reply, exits."""
import sys

from twisted.internet import protocol, reactor

PAYLOAD = sys.argv[2].encode() if len(sys.argv) > 2 else b"Hello, world!"


class EchoClient(protocol.Protocol):
    def connectionMade(self):
        self.received = b""
        self.transport.write(PAYLOAD)

    def dataReceived(self, data):
        self.received += data
        if len(self.received) >= len(PAYLOAD):
            print("Server said:", self.received.decode(), flush=True)
            self.transport.loseConnection()


class EchoFactory(protocol.ClientFactory):
    protocol = EchoClient

    def clientConnectionFailed(self, connector, reason):
        print("Connection failed:", reason.getErrorMessage(), flush=True)
        reactor.stop()

    def clientConnectionLost(self, connector, reason):
        print("Connection lost.", flush=True)
        reactor.stop()


reactor.connectTCP("127.0.0.1", int(sys.argv[1]), EchoFactory())
reactor.run()
