"""A Python Twisted AMP peer for Twist's interop tests.

Usage:
  amp_peer.py server CERT.pem KEY.pem    listen on 127.0.0.1, port 0; print "port N"
  amp_peer.py client PORT CA.pem [SEED]  run every check against a server; print results
  amp_peer.py math PORT                  do what Twisted's ampclient.py does
  amp_peer.py dump                       print the bytes Twisted sends for fixed calls

The server and client do what Twisted's documented ampserver.py/ampclient.py
pair does (Sum and Divide), plus: Echo (every argument type, values sent back
as they came), Gather (answers a batch of calls in a shuffled order), Notify
(needs no answer), StartTLS and Secure (whether the connection is TLS).
"""
import binascii
import datetime
import math
import random
import sys
from decimal import Decimal

from twisted.internet import defer, protocol, reactor, ssl
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.python.failure import Failure


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


ECHO = [
    (b"i", amp.Integer()),
    (b"big", amp.Integer()),
    (b"flt", amp.Float()),
    (b"fl", amp.ListOf(amp.Float())),
    (b"b", amp.Boolean()),
    (b"u", amp.Unicode()),
    (b"s", amp.String()),
    (b"l", amp.ListOf(amp.Integer())),
    (b"al", amp.AmpList([(b"x", amp.Integer()), (b"y", amp.Unicode(optional=True))])),
    (b"dt", amp.DateTime()),
    (b"d", amp.Decimal()),
    (b"p", amp.Path()),
    (b"o", amp.Unicode(optional=True)),
]


class Echo(amp.Command):
    arguments = ECHO
    response = ECHO


class Gather(amp.Command):
    arguments = [(b"n", amp.Integer()), (b"total", amp.Integer())]
    response = [(b"n", amp.Integer())]


class Notify(amp.Command):
    arguments = [(b"text", amp.Unicode())]
    requiresAnswer = False


class Notified(amp.Command):
    response = [(b"texts", amp.ListOf(amp.Unicode()))]


class Secure(amp.Command):
    response = [(b"tls", amp.Boolean())]


def load(path):
    with open(path) as f:
        return f.read()


class MathServer(amp.AMP):
    certificate = None

    def __init__(self):
        super().__init__()
        self.waiting = []
        self.notes = []

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator, denominator):
        return {"result": numerator / denominator}

    @Echo.responder
    def echo(self, **kw):
        return kw

    @Gather.responder
    def gather(self, n, total):
        d = defer.Deferred()
        self.waiting.append((n, d))
        if len(self.waiting) == total:
            batch, self.waiting = self.waiting, []
            random.shuffle(batch)
            for m, w in batch:
                w.callback({"n": m})
        return d

    @Notify.responder
    def notify(self, text):
        self.notes.append(text)
        return {}

    @Notified.responder
    def notified(self):
        return {"texts": self.notes}

    @amp.StartTLS.responder
    def startTLS(self):
        return {"tls_localCertificate": self.certificate}

    @Secure.responder
    def secure(self):
        return {"tls": ISSLTransport.providedBy(self.transport)}


def serve(cert, key):
    MathServer.certificate = ssl.PrivateCertificate.loadPEM(load(cert) + load(key))
    port = reactor.listenTCP(
        0, protocol.Factory.forProtocol(MathServer), interface="127.0.0.1"
    )
    print("port", port.getHost().port, flush=True)
    reactor.run()


# Random values with the edge cases each type has.

SPECIAL_FLOATS = [
    math.inf, -math.inf, math.nan, -0.0, 0.0, 1e-05, 1e16, 617.0, 5e-324,
    1.7976931348623157e308, 0.1, 1e22, 123456789012345678.0,
]


def random_text(rng, n):
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x4E00, 0x4FFF), (0x1F600, 0x1F64F), (0, 0x1F)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def random_float(rng):
    if rng.random() < 0.4:
        return rng.choice(SPECIAL_FLOATS)
    return rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300)


def random_decimal(rng):
    choice = rng.randint(0, 5)
    if choice == 0:
        return Decimal(rng.choice(["NaN", "Infinity", "-Infinity", "-0", "0.00"]))
    whole = str(rng.randint(0, 10 ** rng.randint(1, 25)))
    frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 12)))
    sign = rng.choice(["", "-"])
    exp = "" if choice < 4 else "E%+d" % rng.randint(-30, 30)
    return Decimal(sign + whole + ("." + frac if frac else "") + exp)


def random_datetime(rng):
    minutes = rng.randint(-23 * 60 - 59, 23 * 60 + 59)
    tz = datetime.timezone(datetime.timedelta(minutes=minutes))
    return datetime.datetime(
        rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
        rng.randint(0, 999999), tzinfo=tz,
    )


def random_echo(rng, k):
    size = rng.choice([0, 1, 10, 1000]) if k % 50 else 65535
    args = {
        "i": rng.randint(-(2 ** 53) + 1, 2 ** 53 - 1),
        "big": rng.randint(-(10 ** 200), 10 ** 200),
        "flt": random_float(rng),
        "fl": [random_float(rng) for _ in range(rng.randint(0, 20))],
        "b": rng.random() < 0.5,
        "u": random_text(rng, rng.randint(0, 40)),
        "s": bytes(rng.getrandbits(8) for _ in range(size)),
        "l": [rng.randint(-(2 ** 53) + 1, 2 ** 53 - 1) for _ in range(rng.randint(0, 30))],
        "al": [
            {"x": rng.randint(-1000, 1000), "y": random_text(rng, 5) if rng.random() < 0.5 else None}
            for _ in range(rng.randint(0, 5))
        ],
        "dt": random_datetime(rng),
        "d": random_decimal(rng),
        "p": amp.filepath.FilePath("/tmp/" + random_text(rng, 8).replace("/", "_").replace("\0", "_")),
    }
    if rng.random() < 0.5:
        args["o"] = random_text(rng, 3)
    return args


def same(sent, got):
    """Whether an echoed value came back equal (NaN equals NaN, -0.0 keeps its sign)."""
    if isinstance(sent, float):
        return repr(sent) == repr(got)
    if isinstance(sent, dict):
        keys = {k for k, v in sent.items() if v is not None}
        gkeys = {k for k, v in got.items() if v is not None}
        return keys == gkeys and all(same(sent[k], got[k]) for k in keys)
    if isinstance(sent, list):
        return len(sent) == len(got) and all(same(a, b) for a, b in zip(sent, got))
    if isinstance(sent, datetime.datetime):
        return sent == got and sent.utcoffset() == got.utcoffset()
    if isinstance(sent, Decimal):
        return str(sent) == str(got)
    return sent == got


@defer.inlineCallbacks
def run_client(port, ca, seed):
    rng = random.Random(seed)
    endpoint_proto = yield protocol.ClientCreator(reactor, amp.AMP).connectTCP("127.0.0.1", port)
    p = endpoint_proto
    result = yield p.callRemote(Sum, a=13, b=81)
    print("sum", result["total"], flush=True)
    try:
        yield p.callRemote(Divide, numerator=1234, denominator=0)
    except ZeroDivisionError as e:
        print("divide ZeroDivisionError", str(e), flush=True)
    rounds = 200
    for k in range(rounds):
        args = random_echo(rng, k)
        got = yield p.callRemote(Echo, **args)
        if not same(args, got):
            print("echo MISMATCH", repr(args)[:2000], repr(got)[:2000], flush=True)
            return
    print("echo ok", rounds, flush=True)
    total = 1000
    calls = [p.callRemote(Gather, n=n, total=total) for n in range(total)]
    answers = yield defer.gatherResults(calls)
    print("gather ok" if [a["n"] for a in answers] == list(range(total)) else "gather WRONG", total, flush=True)
    p.callRemote(Notify, text="one")
    p.callRemote(Notify, text="two")
    notes = yield p.callRemote(Notified)
    print("notified", ",".join(notes["texts"]), flush=True)
    authority = ssl.Certificate.loadPEM(load(ca))
    yield p.callRemote(amp.StartTLS, tls_verifyAuthorities=[authority])
    secure = yield p.callRemote(Secure)
    peer = p.transport.getPeerCertificate()
    print("tls", secure["tls"], peer.get_subject().CN if peer else None, flush=True)
    total = yield p.callRemote(Sum, a=1, b=2)
    print("sum after tls", total["total"], flush=True)
    p.transport.loseConnection()


def client(port, ca, seed):
    def done(result):
        if isinstance(result, Failure):
            print("client FAILED", result.getTraceback(), flush=True)
        reactor.stop()

    reactor.callWhenRunning(lambda: run_client(port, ca, seed).addBoth(done))
    reactor.run()


def math_client(port):
    """Twisted's ampclient.py: Sum and Divide, each on its own connection."""
    creator = protocol.ClientCreator(reactor, amp.AMP)
    sum_d = creator.connectTCP("127.0.0.1", port)
    sum_d.addCallback(lambda p: p.callRemote(Sum, a=13, b=81))
    sum_d.addCallback(lambda result: result["total"])
    divide_d = creator.connectTCP("127.0.0.1", port)
    divide_d.addCallback(lambda p: p.callRemote(Divide, numerator=1234, denominator=0))

    def trap_zero(result):
        result.trap(ZeroDivisionError)
        print("Divided by zero: returning INF", flush=True)
        return 1e1000

    divide_d.addErrback(trap_zero)

    def done(result):
        print("Done with math:", result, flush=True)
        reactor.stop()

    defer.DeferredList([sum_d, divide_d]).addCallback(done)
    reactor.run()


def dump():
    """The bytes Twisted sends for fixed calls and answers, one hex line each."""
    transport = StringTransport()
    p = amp.AMP()
    p.makeConnection(transport)

    def take(label):
        print(label, binascii.hexlify(transport.value()).decode(), flush=True)
        transport.clear()

    p.callRemote(Sum, a=13, b=81).addErrback(lambda f: None)
    take("call-sum")
    p.callRemote(Notify, text="h\u00e9llo")
    take("call-notify")
    p.callRemote(Divide, numerator=1234, denominator=0).addErrback(lambda f: None)
    take("call-divide")
    tz = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
    p.callRemote(
        Echo,
        i=-42, big=10 ** 30, flt=1e-05, fl=[617.0, math.inf, -math.inf, math.nan, -0.0, 1e16, 0.1],
        b=True, u="\u4e16\u754c \U0001F600", s=b"\x00\xff", l=[1, 22, 333],
        al=[{"x": 7, "y": "hello"}, {"x": 9}], dt=datetime.datetime(2012, 1, 23, 12, 34, 56, 54321, tzinfo=tz),
        d=Decimal("1.50"), p=amp.filepath.FilePath("/tmp/x"),
    ).addErrback(lambda f: None)
    take("call-echo")
    p.callRemote(Echo, i=0, big=0, flt=0.0, fl=[], b=False, u="", s=b"", l=[], al=[],
                 dt=datetime.datetime(2000, 1, 1, tzinfo=amp.utc), d=Decimal("-0"),
                 p=amp.filepath.FilePath("/"), o="x").addErrback(lambda f: None)
    take("call-echo-empty")

    # Answers: feed a server the calls Twist would make.
    server = MathServer()
    st = StringTransport()
    server.makeConnection(st)

    def answer(label, box):
        server.dataReceived(box.serialize())
        print(label, binascii.hexlify(st.value()).decode(), flush=True)
        st.clear()

    answer("answer-sum", amp.AmpBox(_command=b"Sum", _ask=b"1", a=b"13", b=b"81"))
    answer("answer-divide", amp.AmpBox(_command=b"Divide", _ask=b"2", numerator=b"1", denominator=b"8"))
    answer("answer-zero", amp.AmpBox(_command=b"Divide", _ask=b"3", numerator=b"1234", denominator=b"0"))
    answer("answer-unhandled", amp.AmpBox(_command=b"Nope", _ask=b"a"))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(sys.argv[2], sys.argv[3])
    elif mode == "client":
        client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif mode == "math":
        math_client(int(sys.argv[2]))
    elif mode == "dump":
        dump()
