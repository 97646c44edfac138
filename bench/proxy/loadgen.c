/*
 * An open-loop HTTP/1.1 load generator in C, for overhead.bench.ts (which compiles it with
 * `cc -O2` when a compiler is there, and falls back to loadgen.ts otherwise).
 *
 * Why C: the Node generator's own timer lateness had a p99 of 1.4-3.2 ms, more than the
 * 1 ms the proxy is asked to show. Here one thread waits on epoll with an absolute
 * CLOCK_MONOTONIC timerfd (timer slack 1 us) for the next due request, so the sending
 * schedule holds to a few tens of microseconds; the lateness is measured and printed.
 *
 * Request i is due at start + i / rate, whether or not earlier ones were answered; its
 * latency is taken from that intended time (no coordinated omission) and, separately, from
 * the moment it was written. Keep-alive connections, one request in flight each; a request
 * due while every connection is busy opens another (up to --max-connections, then waits in
 * a queue, which counts in its latency). Responses must be framed by Content-Length.
 *
 * Latencies go into log-linear (HDR-style) histograms of nanoseconds with 1,024 sub-buckets
 * per power of two (relative error under 0.1 %); percentiles are bucket midpoints.
 *
 * Usage:
 *   loadgen --port P [--host H] [--path /] [--rate 1000] [--seconds 3] [--connections 4]
 *           [--max-connections 256] [--cpu N] [--nice N] [--fifo PRIO]
 * Prints one JSON object (the LoadResult of loadgen.ts, in ms) on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- HDR-style histogram ------------------------------------------------------------ */

#define SUB_BITS 11
#define HALF (1u << (SUB_BITS - 1))
#define BUCKETS ((64 - SUB_BITS + 1) * HALF + HALF)

typedef struct {
  uint64_t counts[BUCKETS];
  uint64_t total;
  uint64_t max;
} histogram;

static int msb(uint64_t v) { return 63 - __builtin_clzll(v); }

static unsigned bucket_of(uint64_t v) {
  if (v < (1u << SUB_BITS)) return (unsigned)v;
  int e = msb(v) - SUB_BITS + 1;
  return (unsigned)e * HALF + (unsigned)(v >> e);
}

/* Middle of bucket `i`'s value range. */
static double bucket_mid(unsigned i) {
  if (i < (1u << SUB_BITS)) return i;
  unsigned e = i / HALF - 1, top = i - e * HALF; /* top in [HALF, 2 * HALF) */
  double lo = (double)((uint64_t)top << e);
  return lo + (double)((uint64_t)1 << e) / 2;
}

static void record(histogram *h, int64_t ns) {
  uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
  h->counts[bucket_of(v)]++;
  h->total++;
  if (v > h->max) h->max = v;
}

static double percentile_ms(const histogram *h, double p) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)((double)(h->total - 1) * p) + 1, seen = 0;
  for (unsigned i = 0; i < BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      double v = bucket_mid(i);
      return (v > (double)h->max ? (double)h->max : v) / 1e6;
    }
  }
  return (double)h->max / 1e6;
}

static void print_distribution(const char *name, const histogram *h, int last) {
  printf("\"%s\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f}%s", name,
         percentile_ms(h, 0.5), percentile_ms(h, 0.9), percentile_ms(h, 0.99),
         percentile_ms(h, 0.999), (double)h->max / 1e6, last ? "" : ",");
}

/* ---- connections -------------------------------------------------------------------- */

#define READ_BUF 65536

typedef struct conn {
  int fd;
  int connecting;   /* non-blocking connect in progress */
  long in_flight;   /* request index, or -1 */
  int failed;       /* response in flight is not a 200 */
  long body_left;   /* body bytes still expected, -1 while reading the head */
  size_t have;      /* bytes of an incomplete head in buf */
  char buf[READ_BUF];
  struct conn *next_idle;
} conn;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

/* ---- the run ------------------------------------------------------------------------ */

static struct {
  int epfd;
  struct sockaddr_in addr;
  const char *request;
  size_t request_len;
  int64_t *intended; /* ns, per request */
  int64_t *written;
  histogram from_intended, from_written, lateness;
  long total, done, errors;
  long bad_status, closed, unanswered; /* the errors by kind */
  conn *idle;
  int open, max_open;
  long *queue; /* requests waiting for a connection */
  long q_head, q_tail;
} g;

static conn *open_conn(int blocking) {
  conn *c = calloc(1, sizeof *c);
  if (!c) die("calloc");
  c->fd = socket(AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->in_flight = -1;
  c->body_left = -1;
  if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof g.addr) < 0) {
    if (blocking || errno != EINPROGRESS) die("connect");
    c->connecting = 1;
  }
  if (blocking && fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
  struct epoll_event ev = {.events = EPOLLIN | (c->connecting ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  g.open++;
  return c;
}

static void drop(conn *c);

static void complete(long i, int64_t t) {
  record(&g.from_intended, t - g.intended[i]);
  record(&g.from_written, t - g.written[i]);
  g.done++;
}

static void send_on(conn *c, long i) {
  g.written[i] = now_ns();
  c->in_flight = i;
  c->body_left = -1;
  c->have = 0;
  c->failed = 0;
  ssize_t n = write(c->fd, g.request, g.request_len);
  if (n != (ssize_t)g.request_len) drop(c); /* a ~80-byte write fails only on a dead socket */
}

/* A connection is free: the next queued request, or back to the idle stack. */
static void release(conn *c) {
  if (g.q_head < g.q_tail) send_on(c, g.queue[g.q_head++]);
  else {
    c->next_idle = g.idle;
    g.idle = c;
  }
}

static void drop(conn *c) {
  epoll_ctl(g.epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  g.open--;
  for (conn **p = &g.idle; *p; p = &(*p)->next_idle)
    if (*p == c) {
      *p = c->next_idle;
      break;
    }
  if (c->in_flight >= 0) {
    g.errors++;
    g.closed++;
    complete(c->in_flight, now_ns());
  }
  free(c);
}

/* Content-Length of the head in b[0, len), or -1. */
static long content_length(const char *b, size_t len) {
  static const char name[] = "\r\ncontent-length:";
  size_t n = sizeof name - 1;
  for (size_t i = 0; i + n <= len; i++)
    if (b[i] == '\r' && strncasecmp(b + i, name, n) == 0) {
      size_t j = i + n;
      while (j < len && (b[j] == ' ' || b[j] == '\t')) j++;
      long v = 0;
      int digits = 0;
      while (j < len && b[j] >= '0' && b[j] <= '9') v = v * 10 + (b[j++] - '0'), digits++;
      return digits ? v : -1;
    }
  return -1;
}

static void on_readable(conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->have, READ_BUF - c->have);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      drop(c);
      return;
    }
    int64_t t = now_ns();
    size_t len = c->have + (size_t)n, p = 0;
    while (p < len) {
      if (c->in_flight < 0) { /* bytes nobody asked for */
        drop(c);
        return;
      }
      if (c->body_left < 0) {
        char *end = memmem(c->buf + p, len - p, "\r\n\r\n", 4);
        if (!end) {
          if (len - p == READ_BUF) { drop(c); return; }
          memmove(c->buf, c->buf + p, len - p);
          c->have = len - p;
          goto more;
        }
        size_t head_len = (size_t)(end - (c->buf + p));
        c->failed = !(head_len >= 13 && memcmp(c->buf + p, "HTTP/1.1 200 ", 13) == 0);
        long cl = content_length(c->buf + p, head_len);
        if (cl < 0) { /* not a response of the bench app: count it and drop the connection */
          c->failed = 1;
          drop(c);
          return;
        }
        c->body_left = cl;
        p += head_len + 4;
      }
      size_t take = (size_t)c->body_left < len - p ? (size_t)c->body_left : len - p;
      c->body_left -= (long)take;
      p += take;
      if (c->body_left == 0) {
        long i = c->in_flight;
        if (c->failed) g.errors++, g.bad_status++;
        c->in_flight = -1;
        c->body_left = -1;
        complete(i, t);
        release(c);
      }
    }
    c->have = 0;
  more:;
  }
}

static void on_connected(conn *c) {
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
  if (err) {
    errno = err;
    drop(c);
    return;
  }
  c->connecting = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &ev);
  release(c);
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port P [--host H] [--path /] [--rate R] [--seconds S] "
                  "[--connections N] [--max-connections M] [--cpu N] [--nice N] [--fifo PRIO]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int port = 0, connections = 4, cpu = -1, nice_v = 0, fifo = 0;
  double rate = 1000, seconds = 3;
  const char *host = "localhost", *path = "/";
  g.max_open = 256;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--path")) path = v;
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--seconds")) seconds = atof(v);
    else if (!strcmp(a, "--connections")) connections = atoi(v);
    else if (!strcmp(a, "--max-connections")) g.max_open = atoi(v);
    else if (!strcmp(a, "--cpu")) cpu = atoi(v);
    else if (!strcmp(a, "--nice")) nice_v = atoi(v);
    else if (!strcmp(a, "--fifo")) fifo = atoi(v);
    else usage();
    i++;
  }
  if (port <= 0 || rate <= 0 || seconds <= 0 || connections < 1) usage();

  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) perror("loadgen: sched_setaffinity");
  }
  if (fifo > 0) {
    struct sched_param sp = {.sched_priority = fifo};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) perror("loadgen: SCHED_FIFO");
  } else if (nice_v != 0 && setpriority(PRIO_PROCESS, 0, nice_v) < 0)
    perror("loadgen: setpriority");
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake at the due time, not up to 50 us later */

  static char request[4096];
  int rl = snprintf(request, sizeof request,
                    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: meshmetrics-loadgen-c\r\n\r\n",
                    path, host);
  if (rl <= 0 || rl >= (int)sizeof request) usage();
  g.request = request;
  g.request_len = (size_t)rl;
  g.total = (long)(rate * seconds + 0.5);
  g.intended = calloc((size_t)g.total, sizeof *g.intended);
  g.written = calloc((size_t)g.total, sizeof *g.written);
  g.queue = calloc((size_t)g.total, sizeof *g.queue);
  if (!g.intended || !g.written || !g.queue) die("calloc");
  g.addr.sin_family = AF_INET;
  g.addr.sin_port = htons((uint16_t)port);
  g.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  g.epfd = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (g.epfd < 0 || tfd < 0) die("epoll/timerfd");
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(g.epfd, EPOLL_CTL_ADD, tfd, &tev);
  for (int k = 0; k < connections; k++) release(open_conn(1));

  const double interval_ns = 1e9 / rate;
  const int64_t start = now_ns() + 2000000;
  long next = 0;
  int64_t last_sent = start, deadline = 0;
  struct epoll_event evs[64];
  for (;;) {
    int64_t t = now_ns();
    while (next < g.total && start + (int64_t)(next * interval_ns) <= t) {
      long i = next++;
      g.intended[i] = start + (int64_t)(i * interval_ns);
      /* The generator's own lateness: how long after its due time the request was taken
         up (the wait for a connection is the system's and counts in `written`). */
      record(&g.lateness, t - g.intended[i]);
      conn *c = g.idle;
      if (c) {
        g.idle = c->next_idle;
        send_on(c, i);
      } else if (g.open < g.max_open) {
        g.queue[g.q_tail++] = i; /* the fresh connection takes it when connected */
        open_conn(0);
      } else g.queue[g.q_tail++] = i;
      last_sent = t;
    }
    if (next >= g.total) {
      if (g.done >= g.total) break;
      if (deadline == 0) deadline = last_sent + 10000000000LL;
      if (t > deadline) { /* answers that never came */
        g.errors += g.total - g.done;
        g.unanswered = g.total - g.done;
        break;
      }
    }
    int64_t due = next < g.total ? start + (int64_t)(next * interval_ns) : t + 100000000;
    struct itimerspec its = {.it_value = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000}};
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    int n = epoll_wait(g.epfd, evs, 64, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      conn *c = evs[k].data.ptr;
      if (c == NULL) {
        uint64_t x;
        if (read(tfd, &x, sizeof x) < 0) { /* EAGAIN: re-armed meanwhile */ }
        continue;
      }
      if (c->connecting) on_connected(c);
      else on_readable(c);
    }
  }
  double elapsed_s = (double)(now_ns() - start) / 1e9;
  printf("{\"sent\":%ld,\"errors\":%ld,", g.total, g.errors);
  print_distribution("intended", &g.from_intended, 0);
  print_distribution("written", &g.from_written, 0);
  print_distribution("lateness", &g.lateness, 0);
  printf("\"errorKinds\":{\"status\":%ld,\"closed\":%ld,\"unanswered\":%ld},", g.bad_status,
         g.closed, g.unanswered);
  printf("\"connections\":%d,\"rate\":%.1f,\"generator\":\"c\"}\n", g.open,
         (double)g.total / elapsed_s);
  return 0;
}
