// fairness_client.c - is every connection served? A bounded ping-pong load
// client that reports the distribution of round trips over connections and the
// longest any connection waited for a reply (including a reply still missing
// when the load stops), which loadgen's min/max and completed-round-trip
// latencies do not show.
//
// Build: gcc -O2 -Wall -Wextra -o /tmp/fairness_client bench/fairness_client.c
// Usage: fairness_client -p PORT [-c CONNS] [-s SIZE] [-d SECONDS]
//        -> one JSON object on stdout (see bench/fairness.sh)
//
// All connections are opened first (at most 64 in flight; a connection is open
// once it has echoed one byte, so the server has accepted it); then each
// sends SIZE bytes, waits for all SIZE bytes to come back (content checked),
// and sends the next message, for SECONDS. One thread, level-triggered epoll.
// Bounded: opening has 60 s, the load SECONDS, and an alarm kills the process
// if anything overruns. Exit status 1 on any error (refused, reset, closed,
// wrong byte).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

struct conn {
    int fd;
    int state; /* 0 connecting, 4 opening (1-byte echo), 1 open (idle), 2 waiting for an echo, 3 dead */
    uint32_t seq;
    int sent, recvd;
    uint64_t t_send;   /* when the current message was sent */
    uint64_t max_wait; /* the longest wait for an echo (ns) */
    uint64_t ops;      /* round trips completed during the load */
};

static int conns_n = 10000, size = 64, port;
static double duration = 10;
static struct conn *cs;
static int ep;
static uint64_t errors_connect, errors_closed, errors_reset, errors_mismatch;
static uint64_t *lat; /* every round trip's latency (ns), in order */
static size_t nlat, caplat;

static unsigned char pattern(const struct conn *c, int i) {
    return (unsigned char)((uint32_t)(c - cs) * 131u + c->seq * 31u + (uint32_t)i * 7u);
}

static void kill_conn(struct conn *c, uint64_t *counter) {
    (*counter)++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = 3;
}

static void send_msg(struct conn *c, uint64_t t) {
    unsigned char buf[65536];
    for (int i = 0; i < size; i++) buf[i] = pattern(c, i);
    ssize_t w = send(c->fd, buf, (size_t)size, MSG_NOSIGNAL);
    if (w != size) { /* 64 bytes into an empty socket buffer never blocks */
        kill_conn(c, &errors_reset);
        return;
    }
    c->sent = size;
    c->recvd = 0;
    c->t_send = t;
    c->state = 2;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *sorted, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i];
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:c:s:d:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns_n = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        default:
            fprintf(stderr, "usage: fairness_client -p PORT [-c CONNS] [-s SIZE] [-d SECONDS]\n");
            return 2;
        }
    }
    if (!port || conns_n < 1 || size < 1 || size > 65536 || duration <= 0) {
        fprintf(stderr, "fairness_client: need -p PORT, 1 <= -s <= 65536, -c >= 1, -d > 0\n");
        return 2;
    }
    struct rlimit rl = {(rlim_t)conns_n + 64, (rlim_t)conns_n + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "fairness_client: cannot raise the fd limit to %d (ulimit -n)\n", conns_n + 64);
        return 2;
    }
    alarm((unsigned)(60 + duration + 30)); /* the watchdog: every phase is bounded */
    cs = calloc((size_t)conns_n, sizeof *cs);
    caplat = 1 << 20;
    lat = malloc(caplat * sizeof *lat);
    ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct epoll_event evs[1024];

    /* Phase 1: open every connection, at most 64 connects in flight. */
    int next = 0, pending = 0, opened = 0, failed = 0;
    uint64_t t_open = now_ns();
    while (opened + failed < conns_n) {
        if (now_ns() - t_open > 60ull * 1000000000ull) break;
        while (pending < 64 && next < conns_n) {
            struct conn *c = &cs[next++];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)) {
                if (c->fd >= 0) close(c->fd);
                c->state = 3;
                errors_connect++;
                failed++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - cs)};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            pending++;
        }
        int n = epoll_wait(ep, evs, 1024, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = &cs[evs[i].data.u32];
            if (c->state == 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                unsigned char b = pattern(c, 0);
                if (err || send(c->fd, &b, 1, MSG_NOSIGNAL) != 1) {
                    pending--;
                    failed++;
                    kill_conn(c, &errors_connect);
                    continue;
                }
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                c->state = 4;
                continue;
            }
            if (c->state != 4) continue;
            unsigned char b;
            ssize_t r = recv(c->fd, &b, 1, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            pending--;
            if (r != 1 || b != pattern(c, 0)) {
                failed++;
                kill_conn(c, r == 0 ? &errors_closed : r < 0 ? &errors_reset : &errors_mismatch);
                continue;
            }
            c->seq = 1;
            c->state = 1;
            opened++;
        }
    }
    double open_s = (double)(now_ns() - t_open) / 1e9;

    /* Phase 2: every open connection starts, then ping-pong until the end. */
    uint64_t t0 = now_ns(), t_end = t0 + (uint64_t)(duration * 1e9);
    for (int i = 0; i < conns_n; i++)
        if (cs[i].state == 1) send_msg(&cs[i], t0);
    uint64_t t;
    while ((t = now_ns()) < t_end) {
        int n = epoll_wait(ep, evs, 1024, 10);
        t = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = &cs[evs[i].data.u32];
            if (c->state != 2) {
                /* Bytes nobody asked for (or an EOF) on an idle connection. */
                if (c->state == 1) kill_conn(c, &errors_mismatch);
                continue;
            }
            unsigned char buf[65536];
            ssize_t r = recv(c->fd, buf, (size_t)(c->sent - c->recvd), 0);
            if (r == 0) { kill_conn(c, &errors_closed); continue; }
            if (r < 0) {
                if (errno != EAGAIN && errno != EINTR) kill_conn(c, &errors_reset);
                continue;
            }
            for (ssize_t k = 0; k < r; k++)
                if (buf[k] != pattern(c, c->recvd + (int)k)) { kill_conn(c, &errors_mismatch); break; }
            if (c->state == 3) continue;
            c->recvd += (int)r;
            if (c->recvd < c->sent) continue;
            uint64_t l = t - c->t_send;
            if (l > c->max_wait) c->max_wait = l;
            if (nlat == caplat) lat = realloc(lat, (caplat *= 2) * sizeof *lat);
            lat[nlat++] = l;
            c->ops++;
            c->seq++;
            if (t < t_end) send_msg(c, t);
            else c->state = 1;
        }
    }
    /* A reply still missing at the end counts as a wait that long (so far). */
    uint64_t *ops = malloc((size_t)conns_n * sizeof *ops), *waits = malloc((size_t)conns_n * sizeof *waits);
    size_t live = 0, zero = 0;
    uint64_t total = 0;
    for (int i = 0; i < conns_n; i++) {
        struct conn *c = &cs[i];
        if (c->state == 2 && t - c->t_send > c->max_wait) c->max_wait = t - c->t_send;
        if (c->state != 1 && c->state != 2) continue;
        ops[live] = c->ops;
        waits[live] = c->max_wait;
        total += c->ops;
        if (!c->ops) zero++;
        live++;
    }
    qsort(ops, live, sizeof *ops, cmp_u64);
    qsort(waits, live, sizeof *waits, cmp_u64);
    qsort(lat, nlat, sizeof *lat, cmp_u64);
    uint64_t errs = errors_connect + errors_closed + errors_reset + errors_mismatch;
    printf("{\"conns\":%d,\"open\":%zu,\"open_s\":%.2f,\"duration_s\":%.1f,\"size\":%d,"
           "\"round_trips\":%llu,\"rt_per_s\":%.0f,\"conns_never_served\":%zu,"
           "\"per_conn\":{\"min\":%llu,\"p1\":%llu,\"p10\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu},"
           "\"lat_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
           "\"longest_wait_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
           "\"errors\":{\"connect\":%llu,\"closed\":%llu,\"reset\":%llu,\"mismatch\":%llu},\"ok\":%s}\n",
           conns_n, live, open_s, duration, size, (unsigned long long)total, (double)total / duration, zero,
           (unsigned long long)pct(ops, live, 0), (unsigned long long)pct(ops, live, 0.01),
           (unsigned long long)pct(ops, live, 0.1), (unsigned long long)pct(ops, live, 0.5),
           (unsigned long long)pct(ops, live, 0.9), (unsigned long long)pct(ops, live, 0.99),
           (unsigned long long)pct(ops, live, 1),
           pct(lat, nlat, 0.5) / 1e6, pct(lat, nlat, 0.99) / 1e6, pct(lat, nlat, 0.999) / 1e6,
           pct(lat, nlat, 1) / 1e6, pct(waits, live, 0.5) / 1e6, pct(waits, live, 0.99) / 1e6,
           pct(waits, live, 1) / 1e6, (unsigned long long)errors_connect, (unsigned long long)errors_closed,
           (unsigned long long)errors_reset, (unsigned long long)errors_mismatch,
           errs || (int)live < conns_n ? "false" : "true");
    return errs ? 1 : 0;
}
