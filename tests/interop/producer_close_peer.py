"""What Twisted does when loseConnection() is called with a producer that has
finished but was never unregistered: for a streaming and for a pull producer,
prints one line "MODE: closed|open, stopProducing called: yes|no".
The Twist test runs the same scenario and compares the lines."""
import sys

from twisted.internet import defer, protocol, reactor
from zope.interface import implementer
from twisted.internet.interfaces import IPullProducer, IPushProducer


@implementer(IPushProducer)
class Streaming:
    def __init__(self):
        self.stopped = False

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        self.stopped = True


@implementer(IPullProducer)
class Pull(Streaming):
    pass


class Server(protocol.Protocol):
    def connectionMade(self):
        streaming = self.factory.mode == "streaming"
        self.factory.producer = Streaming() if streaming else Pull()
        self.transport.registerProducer(self.factory.producer, streaming)
        self.transport.write(b"finished")
        self.transport.loseConnection()


class Client(protocol.Protocol):
    def connectionMade(self):
        self.got = b""

    def dataReceived(self, data):
        self.got += data

    def connectionLost(self, reason):
        if not self.factory.done.called:
            self.factory.done.callback(("closed", self.got))


def run(mode):
    server = protocol.ServerFactory()
    server.protocol = Server
    server.mode = mode
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = protocol.ClientFactory()
    client.protocol = Client
    client.done = defer.Deferred()
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    waited = reactor.callLater(
        1.0, lambda: client.done.called or client.done.callback(("open", None))
    )

    def report(result):
        state, got = result
        if waited.active():
            waited.cancel()
        stopped = "yes" if server.producer.stopped else "no"
        print(f"{mode}: {state}, stopProducing called: {stopped}", flush=True)
        return port.stopListening()

    return client.done.addCallback(report)


@defer.inlineCallbacks
def main():
    yield run("streaming")
    yield run("pull")
    reactor.stop()


reactor.callWhenRunning(main)
reactor.run()
sys.exit(0)
