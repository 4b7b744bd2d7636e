"""Python Twisted's side of bench/amp_pipeline.ts: the same Sum server and
the same client (pipelined calls on one connection, then sequential ones).

Usage: amp_pipeline.py server | client PORT CALLS SEQUENTIAL
"""
import sys
import time

from twisted.internet import defer, protocol, reactor
from twisted.protocols import amp


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Adder(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}


def server():
    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Adder), interface="127.0.0.1")
    print("port", port.getHost().port, flush=True)
    reactor.run()


@defer.inlineCallbacks
def run(port, calls, sequential):
    p = yield protocol.ClientCreator(reactor, amp.AMP).connectTCP("127.0.0.1", port)
    # Warm up with the same work, untimed, as the Twist side does.
    yield defer.gatherResults([p.callRemote(Sum, a=i, b=1) for i in range(calls)])
    start = time.perf_counter()
    results = yield defer.gatherResults(
        [p.callRemote(Sum, a=i, b=1) for i in range(calls)]
    )
    pipelined = time.perf_counter() - start
    assert [r["total"] for r in results] == [i + 1 for i in range(calls)]
    start = time.perf_counter()
    for i in range(sequential):
        yield p.callRemote(Sum, a=i, b=1)
    latency = (time.perf_counter() - start) / sequential
    print("pipelined_calls_per_s %.0f" % (calls / pipelined), flush=True)
    print("sequential_latency_us %.1f" % (latency * 1e6), flush=True)
    p.transport.loseConnection()


def client(port, calls, sequential):
    def done(result):
        if isinstance(result, Exception) or hasattr(result, "getTraceback"):
            print(result, flush=True)
        reactor.stop()

    reactor.callWhenRunning(lambda: run(port, calls, sequential).addBoth(done))
    reactor.run()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server()
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
