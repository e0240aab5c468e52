/*
 * loadgen.c — fofal-bench-loadgen: an open-loop HTTP/2 load generator for one endpoint of
 * fofal-api (by default POST /api/v1/commands/production.order.create).
 *
 * Open loop. Request n (0 ≤ n < rate × duration) is due at t0 + n / rate on an absolute
 * monotonic clock and goes to connection n mod C, whatever happened to the requests before
 * it: a slow server does not lower the offered rate. Its latency runs from that due time
 * (not from when it was actually written) to the end of its response, so time a request
 * spent waiting behind a slow server — in our socket, in nghttp2's queue of streams beyond
 * the server's SETTINGS_MAX_CONCURRENT_STREAMS, or because this process was late — is
 * counted (no coordinated omission). "send_lag_max_ms" reports how late this process
 * itself ever was in handing a due request to nghttp2, "cpu_s" its own CPU time: on a
 * small machine the load generator competes with the server for the same cores.
 *
 * Protocol: h2c with prior knowledge (plain TCP; nghttp2 writes the client preface). Each
 * request carries a unique Idempotency-Key "<run id>-<n>", so every command is new.
 *
 * Outcomes. A 201 is a success; every other outcome is an error, counted in status_other
 * under its HTTP status or one of: "timeout" (no complete response within --timeout of
 * the due time; the stream is then cancelled), "reset" (stream reset or closed without a
 * response), "conn_error" (its connection failed), "unsent" (its connection already had
 * --max-streams requests in flight, or was dead). Latency percentiles are over every
 * request that got a complete response, whatever its status.
 *
 * Output: one JSON line on stdout at the end; diagnostics on stderr. Exit 0 when the run
 * took place (its errors are in the JSON), 1 when it could not start, 2 on a usage error.
 *
 * Push mode (--ws-push). Before the clock starts, a WebSocket (HTTP/1.1 upgrade) is opened
 * to /api/v1/stream?access_token=<token> and subscribed to module production; the run waits
 * for the subscription's acknowledgement. Each request then names its own new aggregate:
 * "order_id":"<id>" is put first in the body, where <id> is a UUID whose first 24
 * characters are this run's (from a UUID v7) and whose last 12 hex digits are n, so that a
 * push maps back to its request without a table. The time request n is handed to nghttp2
 * is its send time; a push ({"id":…,"event":{"aggregate":<id>,…}}) arriving at time T gives
 * it a push lag of T − send time (the first push per aggregate counts; later ones are
 * duplicates). After the last response the run goes on until every request answered 201
 * has its push, or --push-timeout seconds after the last send. A 201 whose push did not
 * arrive within --push-timeout of its send is "missing" (also when it came later). When
 * the server closes the WebSocket (e.g. 1013 "slow consumer"), it is reopened with
 * ?since=<id of the last push seen>, as a browser would, and the server replays what was
 * missed; such pushes count with the time they arrive ("ws_reconnects" says how often). The
 * JSON line is then {"bench":"push_lag",...}: push-lag percentiles over the pushes that
 * came in time, the answers' own latency (ack_*) for comparison, and the error counts of
 * the HTTP side as above.
 *
 * Threads: one. Everything runs in one epoll loop; all sockets are non-blocking, but for
 * the WebSocket's handshake and subscription: blocking, before the clock starts and when
 * it is reopened (requests due meanwhile go out late, which send_lag_max_ms shows).
 */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define MAX_TOKENS 64
#define MAX_REQUESTS 50000000LL   /* rate × duration; 24 bytes each */
#define OUT_HIGH (256 * 1024)     /* pull no more frames from nghttp2 above this */
#define READ_CHUNK (64 * 1024)
#define MAX_BODY (64 * 1024)
#define MAX_HEADER_VALUE 4096
#define WS_MAX_BUF (16 << 20)     /* push mode: cap of unparsed WebSocket input */
#define WS_MAX_MSG (1 << 20)      /* push mode: cap of one (reassembled) message */
#define ID_PREFIX_LEN 24          /* push mode: "xxxxxxxx-xxxx-7xxx-yxxx-" of the run's ids */
#define WS_MAX_RECONNECTS 50      /* push mode: reopenings of a closed WebSocket */

enum { R_PENDING, R_INFLIGHT, R_DONE };

/* One scheduled request. Its index is n; its due time is computed from n. */
typedef struct {
  int64_t done_ns;     /* response complete (0 if none) */
  int32_t stream_id;
  uint32_t body_off;   /* bytes of the body handed to nghttp2 */
  uint16_t conn;
  int16_t status;      /* HTTP status once the response headers came, else 0 */
  uint8_t state;
  uint8_t bad_header;  /* --lenient-headers: a response header name broke RFC 9113 */
} req_t;


typedef struct lg lg_t;

/* Push mode: the WebSocket to /api/v1/stream. Frames are parsed from `in`; the fragments
 * of a message are gathered in `msg`. */
typedef struct {
  int fd;
  uint8_t *in;
  size_t in_len, in_cap;
  char *msg;
  size_t msg_len, msg_cap;
  int in_message;      /* a fragmented message is being gathered */
  int closed;
  char last_id[48];    /* the stream id of the last push, for ?since= when reopening */
  int reconnects, resyncs, last_close_code;
} ws_t;

typedef struct {
  lg_t *g;
  int fd;
  int idx;
  int alive;
  int ready;           /* the server's SETTINGS arrived */
  int out_armed;       /* EPOLLOUT registered */
  int dirty;           /* requests submitted since the last flush */
  int inflight;
  nghttp2_session *h2;
  uint8_t *out;
  size_t out_len, out_off, out_cap;
} conn_t;

struct lg {
  /* options */
  const char *host, *path, *body, *token, *run_id;
  int port, connections, max_streams, lenient_headers, ws_push;
  double rate, duration_s, timeout_s, push_timeout_s;
  /* state */
  int ep;
  conn_t conns[MAX_CONNECTIONS];
  req_t *reqs;
  int64_t n_total, next, cursor, inflight;
  int64_t t0_ns, last_done_ns, timeout_ns, send_lag_max_ns;
  size_t body_len;
  char authority[300];
  char *auth_header[MAX_TOKENS]; /* connection i sends auth_header[i % n_tokens] */
  const char *tokens[MAX_TOKENS];
  int n_tokens;
  char content_length[24];
  /* outcomes */
  int64_t status_count[600];
  int64_t n_timeout, n_reset, n_conn_error, n_unsent, n_bad_header;
  int n_h2_errors;     /* nghttp2 error messages shown so far */
  /* push mode */
  ws_t ws;
  const struct addrinfo *ai;
  char id_prefix[ID_PREFIX_LEN + 1];
  size_t id_off;       /* where the order id starts in the body */
  int64_t *sent_ns;    /* per request: handed to nghttp2 (0: never) */
  int64_t *push_ns;    /* per request: its first push arrived (0: none) */
  int64_t last_sent_ns, push_timeout_ns;
  int64_t n_pushes, n_push_dup, n_push_foreign, n_push_unparsed;
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Due time of request n: an absolute schedule, so lateness never shifts later requests. */
static int64_t due_ns(const lg_t *g, int64_t n) { return g->t0_ns + (int64_t)((double)n * 1e9 / g->rate); }

/* Push mode: the order id of request n into out[37]: the run's prefix, n in 12 hex digits. */
static void order_id(const lg_t *g, int64_t n, char out[FOFAL_UUID_LEN + 1]) {
  snprintf(out, FOFAL_UUID_LEN + 1, "%s%012" PRIx64, g->id_prefix, (uint64_t)n & (uint64_t)0xffffffffffff);
}

/* ------------------------------------------------------------ outcomes */

static void finish(lg_t *g, req_t *r, int64_t now) {
  r->state = R_DONE;
  r->done_ns = now;
  g->conns[r->conn].inflight--;
  g->inflight--;
  if (now > g->last_done_ns) g->last_done_ns = now;
}

/* Every in-flight request of a failed connection is a connection error; the connection
 * is not reopened (later requests for it count as unsent). */
static void conn_fail(conn_t *c, const char *why) {
  lg_t *g = c->g;
  if (!c->alive) return;
  fprintf(stderr, "loadgen: connection %d failed: %s (%d requests in flight)\n", c->idx, why, c->inflight);
  c->alive = 0;
  int64_t now = mono_ns();
  for (int64_t i = g->cursor; i < g->next && c->inflight > 0; i++) {
    req_t *r = &g->reqs[i];
    if (r->conn == c->idx && r->state == R_INFLIGHT) {
      finish(g, r, now);
      r->done_ns = 0;
      g->n_conn_error++;
    }
  }
  epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

/* ------------------------------------------------------ nghttp2 callbacks
 * The session's user data is its conn_t; a stream's user data is its req_t. */

static ssize_t body_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user) {
  (void)s;
  (void)stream_id;
  lg_t *g = ((conn_t *)user)->g;
  req_t *r = src->ptr;
  size_t left = g->body_len - r->body_off, n = left < len ? left : len;
  memcpy(buf, g->body + r->body_off, n);
  if (g->ws_push) {
    /* The body is a template: this request's order id goes over the slot at id_off. */
    char id[FOFAL_UUID_LEN + 1];
    order_id(g, r - g->reqs, id);
    for (size_t i = 0; i < FOFAL_UUID_LEN; i++) {
      size_t at = g->id_off + i;
      if (at >= r->body_off && at < r->body_off + n) buf[at - r->body_off] = (uint8_t)id[i];
    }
  }
  r->body_off += (uint32_t)n;
  if (r->body_off == g->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
  (void)flags;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
  req_t *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  if (r && ((conn_t *)user)->g->lenient_headers) {
    /* nghttp2 does not check names in this mode: flag what it would have refused. */
    for (size_t i = 0; i < namelen; i++)
      if (name[i] >= 'A' && name[i] <= 'Z') {
        if (!r->bad_header && ((conn_t *)user)->g->n_bad_header == 0)
          fprintf(stderr, "loadgen: warning: response header name \"%.*s\" is not lower case (RFC 9113 8.2.1)\n",
                  (int)namelen, (const char *)name);
        r->bad_header = 1;
        break;
      }
  }
  if (namelen != 7 || memcmp(name, ":status", 7) || valuelen != 3) return 0;
  if (r && value[0] >= '1' && value[0] <= '5' && value[1] >= '0' && value[1] <= '9' && value[2] >= '0' &&
      value[2] <= '9')
    r->status = (int16_t)((value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0'));
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user) {
  (void)s;
  if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK)) ((conn_t *)user)->ready = 1;
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user) {
  lg_t *g = ((conn_t *)user)->g;
  req_t *r = nghttp2_session_get_stream_user_data(s, stream_id);
  if (!r || r->state != R_INFLIGHT) return 0; /* already timed out */
  finish(g, r, mono_ns());
  g->n_bad_header += r->bad_header;
  if (error_code == NGHTTP2_NO_ERROR && r->status >= 100) {
    g->status_count[r->status]++;
  } else {
    r->done_ns = 0;
    g->n_reset++;
  }
  return 0;
}

/* The first few of nghttp2's own explanations (e.g. why it reset a stream). */
static int on_error(nghttp2_session *s, int lib_error_code, const char *msg, size_t len, void *user) {
  (void)s;
  (void)lib_error_code;
  lg_t *g = ((conn_t *)user)->g;
  if (g->n_h2_errors++ < 3) fprintf(stderr, "loadgen: nghttp2: %.*s\n", (int)len, msg);
  return 0;
}

/* ------------------------------------------------------------- sockets */

static void arm_out(conn_t *c, int on) {
  if (c->out_armed == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(c->g->ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->out_armed = on;
}

/* Moves frames from nghttp2 to the socket until either has no more room or no more data.
 * What the socket does not take waits in c->out (EPOLLOUT armed). */
static void conn_flush(conn_t *c) {
  c->dirty = 0;
  while (c->alive) {
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    while (c->out_len < OUT_HIGH) {
      const uint8_t *data;
      ssize_t n = nghttp2_session_mem_send(c->h2, &data);
      if (n < 0) {
        conn_fail(c, nghttp2_strerror((int)n));
        return;
      }
      if (n == 0) break;
      if (c->out_len + (size_t)n > c->out_cap) {
        c->out_cap = (c->out_len + (size_t)n) * 2;
        c->out = fofal_realloc(c->out, c->out_cap);
      }
      memcpy(c->out + c->out_len, data, (size_t)n);
      c->out_len += (size_t)n;
    }
    if (c->out_off == c->out_len) break;
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      arm_out(c, 1);
      return;
    }
    if (w < 0) {
      conn_fail(c, strerror(errno));
      return;
    }
    c->out_off += (size_t)w;
    if (c->out_off < c->out_len) {
      arm_out(c, 1);
      return;
    }
  }
  if (!c->alive) return;
  arm_out(c, 0);
  if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
    conn_fail(c, "the server ended the session (GOAWAY)");
}

static void conn_read(conn_t *c) {
  static uint8_t buf[READ_CHUNK];
  while (c->alive) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      conn_fail(c, n == 0 ? "closed by the server" : strerror(errno));
      return;
    }
    ssize_t rv = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
    if (rv < 0) {
      conn_fail(c, nghttp2_strerror((int)rv));
      return;
    }
    if ((size_t)n < sizeof buf) break;
  }
  conn_flush(c);
}

/* Connects (blocking, before the clock starts), then switches the socket to non-blocking
 * and queues our SETTINGS. 0 or -1 (reason on stderr). */
static int conn_open(lg_t *g, conn_t *c, const struct addrinfo *ai, const nghttp2_session_callbacks *cbs,
                     const nghttp2_option *opt) {
  c->g = g;
  c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (c->fd < 0) {
    fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
    return -1;
  }
  if (connect(c->fd, ai->ai_addr, ai->ai_addrlen)) {
    fprintf(stderr, "loadgen: cannot connect to %s: %s\n", g->authority, strerror(errno));
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK)) {
    fprintf(stderr, "loadgen: fcntl: %s\n", strerror(errno));
    return -1;
  }
  if (nghttp2_session_client_new2(&c->h2, cbs, c, opt)) {
    fprintf(stderr, "loadgen: nghttp2_session_client_new failed\n");
    return -1;
  }
  /* Large receive windows so that response bodies never wait for a WINDOW_UPDATE. */
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
  nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 26);
  c->alive = 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
    fprintf(stderr, "loadgen: epoll_ctl: %s\n", strerror(errno));
    return -1;
  }
  conn_flush(c);
  return c->alive ? 0 : -1;
}

/* ------------------------------------------------- push mode: WebSocket */

/* Writes all of p to a blocking or non-blocking socket (waiting with poll when it is
 * full). 0 or -1. Only small frames go this way: the subscription and pongs. */
static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *c = p;
  while (n) {
    ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      if (poll(&pf, 1, 1000) <= 0) return -1;
      continue;
    }
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

/* One masked client frame (RFC 6455 5.3). 0 or -1. */
static int ws_send_frame(ws_t *ws, int opcode, const void *data, size_t n) {
  uint8_t *f = fofal_malloc(n + 14), mask[4];
  size_t h = 0;
  f[h++] = (uint8_t)(0x80 | opcode);
  if (n < 126) {
    f[h++] = (uint8_t)(0x80 | n);
  } else if (n < 65536) {
    f[h++] = 0x80 | 126;
    f[h++] = (uint8_t)(n >> 8);
    f[h++] = (uint8_t)n;
  } else {
    f[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
  }
  for (int i = 0; i < 4; i++) mask[i] = (uint8_t)(rand() & 0xff);
  memcpy(f + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < n; i++) f[h + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
  int rc = write_all(ws->fd, f, h + n);
  free(f);
  return rc;
}

/* A push (or any other text message of the server) arrived at `now`. */
static void on_ws_text(lg_t *g, const char *m, size_t len, int64_t now) {
  json_t *j = json_loadb(m, len, 0, NULL);
  const char *agg = json_string_value(json_object_get(json_object_get(j, "event"), "aggregate"));
  const char *id = json_string_value(json_object_get(j, "id"));
  if (!j || json_object_get(j, "ack")) goto out;
  if (json_is_true(json_object_get(j, "resync"))) g->ws.resyncs++;
  if (id && strlen(id) < sizeof g->ws.last_id) snprintf(g->ws.last_id, sizeof g->ws.last_id, "%s", id);
  if (!agg) {
    g->n_push_unparsed++;
    goto out;
  }
  char *end;
  uint64_t n = UINT64_MAX;
  if (strlen(agg) == FOFAL_UUID_LEN && !strncmp(agg, g->id_prefix, ID_PREFIX_LEN)) {
    n = strtoull(agg + ID_PREFIX_LEN, &end, 16);
    if (*end) n = UINT64_MAX;
  }
  if (n >= (uint64_t)g->n_total || !g->sent_ns[n]) {
    g->n_push_foreign++; /* another run's, another bench's, or an event of the generated log */
  } else if (g->push_ns[n]) {
    g->n_push_dup++;
  } else {
    g->push_ns[n] = now;
    g->n_pushes++;
  }
out:
  json_decref(j);
}

/* Parses the complete frames in ws->in. 0, or -1 when the connection must end. */
static int ws_parse(lg_t *g, int64_t now) {
  ws_t *ws = &g->ws;
  size_t off = 0;
  int rc = 0;
  while (!rc) {
    const uint8_t *b = ws->in + off;
    size_t avail = ws->in_len - off, h = 2;
    if (avail < 2) break;
    int fin = b[0] & 0x80, opcode = b[0] & 0x0f;
    uint64_t n = b[1] & 0x7f;
    if (b[1] & 0x80) { /* a server never masks */
      fprintf(stderr, "loadgen: the server sent a masked WebSocket frame\n");
      rc = -1;
      break;
    }
    if (n == 126 || n == 127) {
      size_t k = n == 126 ? 2 : 8;
      if (avail < 2 + k) break;
      n = 0;
      for (size_t i = 0; i < k; i++) n = n << 8 | b[2 + i];
      h += k;
    }
    if (n > WS_MAX_MSG) {
      fprintf(stderr, "loadgen: a WebSocket frame of %" PRIu64 " bytes (more than %d)\n", n, WS_MAX_MSG);
      rc = -1;
      break;
    }
    if (avail < h + n) break;
    const char *payload = (const char *)b + h;
    off += h + (size_t)n;
    if (opcode == 9) { /* ping */
      if (ws_send_frame(ws, 10, payload, (size_t)n)) rc = -1;
    } else if (opcode == 8) {
      int code = n >= 2 ? ((uint8_t)payload[0] << 8 | (uint8_t)payload[1]) : 1005;
      ws->last_close_code = code;
      fprintf(stderr, "loadgen: the server closed the WebSocket (%d %.*s)\n", code, n >= 2 ? (int)n - 2 : 0,
              n >= 2 ? payload + 2 : "");
      rc = -1;
    } else if (opcode == 1 || opcode == 2 || (opcode == 0 && ws->in_message)) {
      if (opcode) ws->msg_len = 0;
      if (ws->msg_len + n > WS_MAX_MSG) {
        fprintf(stderr, "loadgen: a WebSocket message of more than %d bytes\n", WS_MAX_MSG);
        rc = -1;
        break;
      }
      if (!fin || ws->in_message) { /* gather the fragments */
        if (ws->msg_len + n > ws->msg_cap) ws->msg = fofal_realloc(ws->msg, ws->msg_cap = ws->msg_len + n + 4096);
        memcpy(ws->msg + ws->msg_len, payload, (size_t)n);
        ws->msg_len += (size_t)n;
        ws->in_message = !fin;
        if (fin) on_ws_text(g, ws->msg, ws->msg_len, now);
      } else {
        on_ws_text(g, payload, (size_t)n, now);
      }
    }
  }
  memmove(ws->in, ws->in + off, ws->in_len - off);
  ws->in_len -= off;
  return rc;
}

static int ws_open(lg_t *g, const struct addrinfo *ai);

/* The WebSocket is readable: reads what is there, handles the complete frames. When the
 * server closed it (e.g. 1013 "slow consumer"), reopens it with ?since=<the last push's
 * id>, as a browser client would: the server replays what was missed, and those pushes
 * count with the time they arrive. */
static void ws_readable(lg_t *g) {
  ws_t *ws = &g->ws;
  while (!ws->closed) {
    if (ws->in_cap - ws->in_len < READ_CHUNK) {
      if (ws->in_cap >= WS_MAX_BUF) {
        fprintf(stderr, "loadgen: more than %d bytes of unparsed WebSocket input\n", WS_MAX_BUF);
        ws->closed = 1;
        break;
      }
      ws->in = fofal_realloc(ws->in, ws->in_cap = ws->in_cap ? ws->in_cap * 2 : 4 * READ_CHUNK);
    }
    ssize_t n = recv(ws->fd, ws->in + ws->in_len, ws->in_cap - ws->in_len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      fprintf(stderr, "loadgen: the WebSocket %s\n", n == 0 ? "was closed by the server" : strerror(errno));
      ws->closed = 1;
      break;
    }
    ws->in_len += (size_t)n;
    if (ws_parse(g, mono_ns())) ws->closed = 1;
  }
  while (ws->closed && ws->reconnects < WS_MAX_RECONNECTS) {
    if (ws->fd >= 0) {
      epoll_ctl(g->ep, EPOLL_CTL_DEL, ws->fd, NULL);
      close(ws->fd);
    }
    ws->fd = -1;
    ws->in_len = ws->msg_len = 0;
    ws->in_message = 0;
    ws->reconnects++;
    fprintf(stderr, "loadgen: reopening the WebSocket (since %s)\n", *ws->last_id ? ws->last_id : "its start");
    if (!ws_open(g, g->ai)) ws->closed = 0;
  }
}

/* Opens the WebSocket (blocking), subscribes to module production and waits for the
 * acknowledgement, then registers the socket, non-blocking, with the loop. 0 or -1
 * (reason on stderr). */
static int ws_open(lg_t *g, const struct addrinfo *ai) {
  ws_t *ws = &g->ws;
  char *req = NULL, head[8192];
  size_t n = 0;
  int rc = -1;
  int64_t deadline = mono_ns() + 10000000000LL;
  ws->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (ws->fd < 0 || connect(ws->fd, ai->ai_addr, ai->ai_addrlen)) {
    fprintf(stderr, "loadgen: cannot connect the WebSocket to %s: %s\n", g->authority, strerror(errno));
    goto out;
  }
  int one = 1;
  setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* The key is RFC 6455's example, so the expected accept value is known. */
  req = fofal_asprintf("GET /api/v1/stream?access_token=%s%s%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n",
                       g->token ? g->token : "", *ws->last_id ? "&since=" : "", ws->last_id, g->authority);
  if (write_all(ws->fd, req, strlen(req))) goto io_error;
  /* The response head byte by byte: the frames that follow it stay in the socket. */
  while (n + 1 < sizeof head) {
    struct pollfd pf = {.fd = ws->fd, .events = POLLIN};
    if (poll(&pf, 1, (int)((deadline - mono_ns()) / 1000000)) <= 0) goto io_error;
    if (recv(ws->fd, head + n, 1, 0) != 1) goto io_error;
    n++;
    if (n >= 4 && !memcmp(head + n - 4, "\r\n\r\n", 4)) break;
  }
  head[n] = '\0';
  if (strncmp(head, "HTTP/1.1 101", 12) || !strcasestr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
    fprintf(stderr, "loadgen: /api/v1/stream refused the WebSocket: %.*s\n", (int)strcspn(head, "\r\n"), head);
    goto out;
  }
  const char *sub = "{\"subscribe\":{\"modules\":[\"production\"]}}";
  if (ws_send_frame(ws, 1, sub, strlen(sub))) goto io_error;
  /* Wait for {"ack":"subscribe",...}: a push sent before it would not reach us. */
  for (;;) {
    struct pollfd pf = {.fd = ws->fd, .events = POLLIN};
    int left = (int)((deadline - mono_ns()) / 1000000);
    if (left <= 0 || poll(&pf, 1, left) <= 0) {
      fprintf(stderr, "loadgen: no acknowledgement of the WebSocket subscription within 10 s\n");
      goto out;
    }
    if (ws->in_cap - ws->in_len < READ_CHUNK) ws->in = fofal_realloc(ws->in, ws->in_cap = ws->in_cap + 4 * READ_CHUNK);
    ssize_t k = recv(ws->fd, ws->in + ws->in_len, ws->in_cap - ws->in_len, 0);
    if (k <= 0) goto io_error;
    ws->in_len += (size_t)k;
    if (memmem(ws->in, ws->in_len, "\"ack\":\"subscribe\"", 17)) break;
  }
  if (ws_parse(g, mono_ns())) goto out; /* the acknowledgement, and whatever followed it */
  if (fcntl(ws->fd, F_SETFL, fcntl(ws->fd, F_GETFL) | O_NONBLOCK)) goto io_error;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ws};
  if (epoll_ctl(g->ep, EPOLL_CTL_ADD, ws->fd, &ev)) goto io_error;
  rc = 0;
  goto out;
io_error:
  fprintf(stderr, "loadgen: WebSocket to %s: %s\n", g->authority, errno ? strerror(errno) : "closed or timed out");
out:
  free(req);
  return rc;
}

/* ------------------------------------------------------------ the loop */

#define NV(n, v, vl) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE}

/* Hands request n to its connection (nghttp2 queues it if the server's stream limit is
 * reached), or counts it unsent. */
static void dispatch(lg_t *g, int64_t n, int64_t now) {
  req_t *r = &g->reqs[n];
  conn_t *c = &g->conns[n % g->connections];
  int64_t lag = now - due_ns(g, n);
  if (lag > g->send_lag_max_ns) g->send_lag_max_ns = lag;
  r->conn = (uint16_t)c->idx;
  if (!c->alive || c->inflight >= g->max_streams) {
    r->state = R_DONE;
    g->n_unsent++;
    return;
  }
  char key[160];
  int klen = snprintf(key, sizeof key, "%s-%" PRId64, g->run_id, n);
  nghttp2_nv hdrs[8] = {
      NV(":method", "POST", 4),
      NV(":scheme", "http", 4),
      NV(":authority", g->authority, strlen(g->authority)),
      NV(":path", g->path, strlen(g->path)),
      NV("content-type", "application/json", 16),
      NV("content-length", g->content_length, strlen(g->content_length)),
      NV("idempotency-key", key, (size_t)klen),
      NV("authorization", "", 0),
  };
  const char *auth = g->n_tokens ? g->auth_header[c->idx % g->n_tokens] : NULL;
  if (auth) hdrs[7] = (nghttp2_nv)NV("authorization", auth, strlen(auth));
  size_t nh = auth ? 8 : 7;
  nghttp2_data_provider dp = {.source.ptr = r, .read_callback = body_read};
  int32_t sid = nghttp2_submit_request(c->h2, NULL, hdrs, nh, g->body_len ? &dp : NULL, r);
  if (sid < 0) {
    r->state = R_DONE;
    g->n_unsent++;
    return;
  }
  r->stream_id = sid;
  r->state = R_INFLIGHT;
  if (g->ws_push) g->sent_ns[n] = g->last_sent_ns = now;
  c->inflight++;
  g->inflight++;
  c->dirty = 1;
}

/* Cancels requests that had no complete response within the timeout of their due time.
 * Due times grow with n, so only a prefix of the requests can have expired; g->cursor
 * marks the oldest request that may still be in flight. */
static void expire(lg_t *g, int64_t now) {
  while (g->cursor < g->next) {
    req_t *r = &g->reqs[g->cursor];
    if (r->state == R_INFLIGHT) {
      if (due_ns(g, g->cursor) + g->timeout_ns > now) return;
      conn_t *c = &g->conns[r->conn];
      finish(g, r, now);
      r->done_ns = 0;
      g->n_timeout++;
      if (c->alive) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
        c->dirty = 1;
      }
    }
    g->cursor++;
  }
}

static void wait_events(lg_t *g, int64_t wake_ns) {
  struct epoll_event evs[64];
  int64_t d = wake_ns - mono_ns();
  if (d < 0) d = 0;
  struct timespec ts = {.tv_sec = d / 1000000000LL, .tv_nsec = d % 1000000000LL};
  int n = epoll_pwait2(g->ep, evs, 64, &ts, NULL);
  if (n < 0 && errno == ENOSYS) n = epoll_wait(g->ep, evs, 64, (int)((d + 999999) / 1000000));
  for (int i = 0; i < n; i++) {
    if (evs[i].data.ptr == &g->ws) {
      ws_readable(g);
      continue;
    }
    conn_t *c = evs[i].data.ptr;
    if (!c->alive) continue;
    if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn_read(c);
    else if (evs[i].events & EPOLLOUT) conn_flush(c);
  }
}

/* Push mode, once every response is in: 1 when every 201 has its push, or the push timeout
 * has passed since the last send (or the WebSocket is gone). Always 1 otherwise. */
static int pushes_done(const lg_t *g, int64_t now) {
  if (!g->ws_push || g->ws.closed || now > g->last_sent_ns + g->push_timeout_ns) return 1;
  for (int64_t i = 0; i < g->n_total; i++)
    if (g->reqs[i].status == 201 && g->reqs[i].done_ns && !g->push_ns[i]) return 0;
  return 1;
}

static int run(lg_t *g) {
  /* Start the clock only once every connection has the server's SETTINGS. */
  int64_t deadline = mono_ns() + 5000000000LL;
  for (;;) {
    int ready = 0;
    for (int i = 0; i < g->connections; i++) {
      if (!g->conns[i].alive) {
        fprintf(stderr, "loadgen: connection %d failed while starting\n", i);
        return -1;
      }
      ready += g->conns[i].ready;
    }
    if (ready == g->connections) break;
    if (mono_ns() > deadline) {
      fprintf(stderr, "loadgen: no HTTP/2 SETTINGS from %s within 5 s (is it an h2c server?)\n", g->authority);
      return -1;
    }
    wait_events(g, mono_ns() + 100000000LL);
  }
  g->t0_ns = mono_ns();
  for (;;) {
    int64_t now = mono_ns();
    while (g->next < g->n_total && due_ns(g, g->next) <= now) dispatch(g, g->next++, now);
    expire(g, now);
    for (int i = 0; i < g->connections; i++)
      if (g->conns[i].dirty && g->conns[i].alive) conn_flush(&g->conns[i]);
    if (g->next == g->n_total && g->inflight == 0 && pushes_done(g, now)) break;
    int64_t wake = g->next < g->n_total ? due_ns(g, g->next) : now + 100000000LL;
    if (g->cursor < g->next) {
      int64_t exp = due_ns(g, g->cursor) + g->timeout_ns;
      if (exp < wake) wake = exp;
    }
    wait_events(g, wake);
  }
  return 0;
}

/* ------------------------------------------------------------- report */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *v, size_t n, double q) {
  if (n == 0) return 0;
  size_t i = (size_t)(q * (double)n);
  if (i >= n) i = n - 1;
  return (double)v[i] / 1e6;
}

static void report(lg_t *g) {
  size_t n = 0;
  int64_t *lat = fofal_malloc((size_t)(g->next ? g->next : 1) * sizeof *lat);
  for (int64_t i = 0; i < g->next; i++)
    if (g->reqs[i].done_ns) lat[n++] = g->reqs[i].done_ns - due_ns(g, i);
  qsort(lat, n, sizeof *lat, cmp_i64);
  int64_t ok = g->status_count[201], other = 0;
  for (int s = 0; s < 600; s++)
    if (s != 201) other += g->status_count[s];
  int64_t errors = other + g->n_timeout + g->n_reset + g->n_conn_error + g->n_unsent;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
  double elapsed = (double)(g->last_done_ns - g->t0_ns) / 1e9;
  if (elapsed < g->duration_s) elapsed = g->duration_s;
  printf("{\"bench\":\"commands_e2e\",\"rate_per_s\":%.1f,\"offered_per_s\":%g,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
         "\"max_ms\":%.3f,\"errors\":%" PRId64 ",\"status_201\":%" PRId64 ",\"status_other\":{",
         (double)ok / elapsed, g->rate, pct_ms(lat, n, 0.50), pct_ms(lat, n, 0.99), n ? (double)lat[n - 1] / 1e6 : 0.0,
         errors, ok);
  const char *sep = "";
  for (int s = 0; s < 600; s++)
    if (s != 201 && g->status_count[s]) {
      printf("%s\"%d\":%" PRId64, sep, s, g->status_count[s]);
      sep = ",";
    }
  struct {
    const char *name;
    int64_t n;
  } extra[] = {{"timeout", g->n_timeout}, {"reset", g->n_reset}, {"conn_error", g->n_conn_error}, {"unsent", g->n_unsent}};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if (extra[i].n) {
      printf("%s\"%s\":%" PRId64, sep, extra[i].name, extra[i].n);
      sep = ",";
    }
  printf("},\"duration_s\":%g,\"connections\":%d,\"p90_ms\":%.3f,\"p999_ms\":%.3f,\"requests\":%" PRId64
         ",\"elapsed_s\":%.3f,\"send_lag_max_ms\":%.3f,\"invalid_header_responses\":%" PRId64
         ",\"cpu_s\":%.3f}\n",
         g->duration_s, g->connections, pct_ms(lat, n, 0.90), pct_ms(lat, n, 0.999), g->next, elapsed,
         (double)g->send_lag_max_ns / 1e6, g->n_bad_header, cpu_s);
  fflush(stdout);
  free(lat);
}

/* Push mode's JSON line. Push lags are over the pushes that came within the push timeout;
 * ack_* is the latency of the answers (from the due time, as in the default mode). */
static void report_push(lg_t *g) {
  size_t n = 0, na = 0;
  int64_t *lag = fofal_malloc((size_t)(g->next ? g->next : 1) * sizeof *lag);
  int64_t *ack = fofal_malloc((size_t)(g->next ? g->next : 1) * sizeof *ack);
  int64_t missing = 0, late = 0, errors = g->n_timeout + g->n_reset + g->n_conn_error + g->n_unsent;
  for (int64_t i = 0; i < g->next; i++) {
    req_t *r = &g->reqs[i];
    if (r->done_ns) ack[na++] = r->done_ns - due_ns(g, i);
    if (r->done_ns && r->status != 201) errors++;
    if (g->push_ns[i] && g->push_ns[i] - g->sent_ns[i] <= g->push_timeout_ns) {
      lag[n++] = g->push_ns[i] - g->sent_ns[i];
    } else if (r->status == 201 && r->done_ns) {
      missing++;
      late += g->push_ns[i] != 0;
    }
  }
  qsort(lag, n, sizeof *lag, cmp_i64);
  qsort(ack, na, sizeof *ack, cmp_i64);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
  printf("{\"bench\":\"push_lag\",\"rate_per_s\":%g,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"pushes\":%zu,"
         "\"missing\":%" PRId64 ",\"p90_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"late\":%" PRId64
         ",\"duplicate_pushes\":%" PRId64 ",\"other_pushes\":%" PRId64 ",\"commands_201\":%" PRId64
         ",\"errors\":%" PRId64 ",\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"requests\":%" PRId64
         ",\"duration_s\":%g,\"connections\":%d,\"push_timeout_s\":%g,\"ws_reconnects\":%d,"
         "\"ws_last_close_code\":%d,\"ws_resyncs\":%d,\"websocket_closed\":%s,\"send_lag_max_ms\":%.3f,"
         "\"cpu_s\":%.3f}\n",
         g->rate, pct_ms(lag, n, 0.50), pct_ms(lag, n, 0.99), n, missing, pct_ms(lag, n, 0.90), pct_ms(lag, n, 0.999),
         n ? (double)lag[n - 1] / 1e6 : 0.0, late, g->n_push_dup, g->n_push_foreign + g->n_push_unparsed,
         g->status_count[201], errors, pct_ms(ack, na, 0.50), pct_ms(ack, na, 0.99), g->next, g->duration_s,
         g->connections, g->push_timeout_s, g->ws.reconnects, g->ws.last_close_code, g->ws.resyncs,
         g->ws.closed ? "true" : "false", (double)g->send_lag_max_ns / 1e6, cpu_s);
  fflush(stdout);
  free(lag);
  free(ack);
}

/* ------------------------------------------------------------- options */

static const char usage[] =
    "usage: fofal-bench-loadgen --port P [options]\n"
    "\n"
    "Open-loop HTTP/2 (h2c, prior knowledge) load generator: sends POSTs at a fixed rate on an\n"
    "absolute schedule, measures each latency from its scheduled send time to its complete\n"
    "response, and prints one JSON line {\"bench\":\"commands_e2e\",...} on stdout.\n"
    "\n"
    "  --url-host HOST     server address (default 127.0.0.1)\n"
    "  --port P            server port (required)\n"
    "  --rate R            requests per second offered (default 1000)\n"
    "  --duration D        seconds of sending (default 10)\n"
    "  --connections C     HTTP/2 connections, requests spread round-robin (default 8)\n"
    "  --token T           bearer token (sent as Authorization: Bearer T); repeat it (up to 64)\n"
    "                      to spread the connections over several tenants: connection i sends\n"
    "                      the (i mod T)th token, so --connections should be a multiple of T\n"
    "  --path PATH         request path (default /api/v1/commands/production.order.create)\n"
    "  --body JSON         request body (default {\"article\":\"FOUTA-100\",\"quantity\":100})\n"
    "  --max-streams N     requests in flight per connection before further ones count as\n"
    "                      unsent errors (default 1000)\n"
    "  --timeout S         seconds from a request's scheduled time until it counts as a\n"
    "                      timeout error and is cancelled (default 15)\n"
    "  --run-id ID         prefix of the Idempotency-Keys <ID>-<n> (default: from the clock)\n"
    "  --lenient-headers   accept responses whose header names break HTTP/2's rules (e.g.\n"
    "                      upper case), which nghttp2 otherwise resets as PROTOCOL_ERROR;\n"
    "                      they are still counted in \"invalid_header_responses\"\n"
    "  --ws-push           push mode: each request creates its own order (\"order_id\" put\n"
    "                      first in --body, a JSON object), and a WebSocket to /api/v1/stream\n"
    "                      (?access_token=--token, subscribed to module production) times the\n"
    "                      push of each from its send; prints {\"bench\":\"push_lag\",...}\n"
    "  --push-timeout S    push mode: a 201 without its push within S seconds of its send is\n"
    "                      missing; the run waits at most S after the last send (default 5)\n"
    "  --help              this text\n"
    "\n"
    "Every outcome but 201 is an error; status_other counts them by HTTP status or as\n"
    "timeout, reset, conn_error or unsent. Exit 0 when the run took place, 1 when it could\n"
    "not start, 2 on a usage error.\n";

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) {
    fprintf(stderr, "loadgen: %s must be a number between %g and %g, not \"%s\"\n", opt, lo, hi, s);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_args(lg_t *g, int argc, char **argv) {
  static const struct option opts[] = {
      {"url-host", required_argument, NULL, 'h'}, {"port", required_argument, NULL, 'p'},
      {"rate", required_argument, NULL, 'r'},     {"duration", required_argument, NULL, 'd'},
      {"connections", required_argument, NULL, 'c'}, {"token", required_argument, NULL, 't'},
      {"path", required_argument, NULL, 'P'},     {"body", required_argument, NULL, 'b'},
      {"max-streams", required_argument, NULL, 'm'}, {"timeout", required_argument, NULL, 'T'},
      {"run-id", required_argument, NULL, 'i'},   {"lenient-headers", no_argument, NULL, 'L'},
      {"ws-push", no_argument, NULL, 'W'},        {"push-timeout", required_argument, NULL, 'U'},
      {"help", no_argument, NULL, 'H'},
      {NULL, 0, NULL, 0}};
  double v;
  int o;
  g->host = "127.0.0.1";
  g->path = "/api/v1/commands/production.order.create";
  g->body = "{\"article\":\"FOUTA-100\",\"quantity\":100}";
  g->rate = 1000;
  g->duration_s = 10;
  g->connections = 8;
  g->max_streams = 1000;
  g->timeout_s = 15;
  g->push_timeout_s = 5;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'h': g->host = optarg; break;
    case 'p':
      if (parse_num("--port", optarg, 1, 65535, &v)) return 2;
      g->port = (int)v;
      break;
    case 'r':
      if (parse_num("--rate", optarg, 0.1, 10000000, &v)) return 2;
      g->rate = v;
      break;
    case 'd':
      if (parse_num("--duration", optarg, 0.1, 86400, &v)) return 2;
      g->duration_s = v;
      break;
    case 'c':
      if (parse_num("--connections", optarg, 1, MAX_CONNECTIONS, &v)) return 2;
      g->connections = (int)v;
      break;
    case 't':
      if (g->n_tokens == MAX_TOKENS) {
        fprintf(stderr, "loadgen: at most %d --token\n", MAX_TOKENS);
        return 2;
      }
      if (!g->token) g->token = optarg;
      g->tokens[g->n_tokens++] = optarg;
      break;
    case 'P': g->path = optarg; break;
    case 'b': g->body = optarg; break;
    case 'm':
      if (parse_num("--max-streams", optarg, 1, 1000000, &v)) return 2;
      g->max_streams = (int)v;
      break;
    case 'T':
      if (parse_num("--timeout", optarg, 0.01, 3600, &v)) return 2;
      g->timeout_s = v;
      break;
    case 'i': g->run_id = optarg; break;
    case 'L': g->lenient_headers = 1; break;
    case 'W': g->ws_push = 1; break;
    case 'U':
      if (parse_num("--push-timeout", optarg, 0.01, 3600, &v)) return 2;
      g->push_timeout_s = v;
      break;
    case 'H': fputs(usage, stdout); return 1;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "loadgen: unexpected argument \"%s\" (see --help)\n", argv[optind]);
    return 2;
  }
  if (!g->port) {
    fprintf(stderr, "loadgen: --port is required (see --help)\n");
    return 2;
  }
  int long_token = 0;
  for (int t = 0; t < g->n_tokens; t++) long_token |= strlen(g->tokens[t]) > MAX_HEADER_VALUE;
  if (g->path[0] != '/' || strlen(g->body) > MAX_BODY || strlen(g->host) > 255 || long_token ||
      (g->run_id && strlen(g->run_id) > 100)) {
    fprintf(stderr, "loadgen: --path must start with '/'; --body is at most %d bytes, --url-host 255, --token %d, "
                    "--run-id 100\n", MAX_BODY, MAX_HEADER_VALUE);
    return 2;
  }
  if (g->ws_push && (g->body[0] != '{' || !g->token)) {
    fprintf(stderr, "loadgen: --ws-push needs --token and a --body that is a JSON object\n");
    return 2;
  }
  double n = g->rate * g->duration_s;
  if (n < 1 || n > (double)MAX_REQUESTS) {
    fprintf(stderr, "loadgen: rate × duration must be between 1 and %lld requests\n", MAX_REQUESTS);
    return 2;
  }
  g->n_total = (int64_t)n;
  return 0;
}

int main(int argc, char **argv) {
  static lg_t lg;
  lg_t *g = &lg;
  int rc = parse_args(g, argc, argv), i;
  char run_id[64], *body_tpl = NULL;
  nghttp2_session_callbacks *cbs = NULL;
  nghttp2_option *opt = NULL;
  struct addrinfo *ai = NULL;
  if (rc) return rc == 1 ? 0 : 2;
  rc = 1;
  signal(SIGPIPE, SIG_IGN);
  if (!g->run_id) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(run_id, sizeof run_id, "lg%llx%lx-%d", (unsigned long long)ts.tv_sec, (long)ts.tv_nsec / 1000, (int)getpid());
    g->run_id = run_id;
  }
  if (g->ws_push) {
    /* The body template: {"order_id":"<36 characters>", then the rest of --body. */
    char first[FOFAL_UUID_LEN + 1];
    const char *rest = g->body + 1 + strspn(g->body + 1, " \t\r\n");
    fofal_uuid7(first);
    memcpy(g->id_prefix, first, ID_PREFIX_LEN);
    g->id_off = strlen("{\"order_id\":\"");
    body_tpl = fofal_asprintf("{\"order_id\":\"%s\"%s%s", first, *rest == '}' ? "" : ",", rest);
    g->body = body_tpl;
    g->push_timeout_ns = (int64_t)(g->push_timeout_s * 1e9);
    g->sent_ns = fofal_calloc((size_t)g->n_total, sizeof *g->sent_ns);
    g->push_ns = fofal_calloc((size_t)g->n_total, sizeof *g->push_ns);
  }
  g->ws.fd = -1;
  g->body_len = strlen(g->body);
  snprintf(g->content_length, sizeof g->content_length, "%zu", g->body_len);
  snprintf(g->authority, sizeof g->authority, "%s:%d", g->host, g->port);
  for (i = 0; i < g->n_tokens; i++) g->auth_header[i] = fofal_asprintf("Bearer %s", g->tokens[i]);
  g->timeout_ns = (int64_t)(g->timeout_s * 1e9);
  g->reqs = fofal_calloc((size_t)g->n_total, sizeof *g->reqs);
  for (i = 0; i < g->connections; i++) g->conns[i].fd = -1;

  char port[8];
  snprintf(port, sizeof port, "%d", g->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int gai = getaddrinfo(g->host, port, &hints, &ai);
  if (gai) {
    fprintf(stderr, "loadgen: cannot resolve %s: %s\n", g->host, gai_strerror(gai));
    goto out;
  }
  if ((g->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
    goto out;
  }
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
  nghttp2_option_new(&opt);
  if (g->lenient_headers) nghttp2_option_set_no_http_messaging(opt, 1);
  for (i = 0; i < g->connections; i++) {
    g->conns[i].idx = i;
    if (conn_open(g, &g->conns[i], ai, cbs, opt)) goto out;
  }
  g->ai = ai;
  if (g->ws_push && ws_open(g, ai)) goto out;
  fprintf(stderr, "loadgen: %s%s at %g/s for %g s over %d connections (run id %s)%s\n", g->authority, g->path,
          g->rate, g->duration_s, g->connections, g->run_id, g->ws_push ? ", timing WebSocket pushes" : "");
  if (run(g)) goto out;
  if (g->ws_push) report_push(g);
  else report(g);
  rc = 0;
out:
  for (i = 0; i < g->connections; i++) {
    if (g->conns[i].fd >= 0) close(g->conns[i].fd);
    nghttp2_session_del(g->conns[i].h2);
    free(g->conns[i].out);
  }
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(opt);
  if (ai) freeaddrinfo(ai);
  for (i = 0; i < g->n_tokens; i++) free(g->auth_header[i]);
  free(g->reqs);
  if (g->ws.fd >= 0) close(g->ws.fd);
  free(g->ws.in);
  free(g->ws.msg);
  free(g->sent_ns);
  free(g->push_ns);
  free(body_tpl);
  return rc;
}
