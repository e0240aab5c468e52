/*
 * loomsim.c — fofal-loomsim: a loom and hall sensor simulator publishing over MQTT (paho,
 * MQTTAsync, QoS 1), for the demo and the telemetry bench.
 *
 * Realistic mode (default): N looms L01..LNN, spread over the halls, each sending a sample
 * every 1/--rate seconds: a pick counter that advances at the loom's speed (a nominal ppm
 * per loom, 520..680, with ±2 % noise), running or stopped with a cause. Stops arrive at
 * random (--stops-per-hour per loom) with the causes' usual mix — weft breaks 45 %, warp
 * breaks 35 %, other 10 %, mechanical 8 %, electrical 2 % — and durations per cause
 * (breaks under 3 minutes, mechanical and electrical faults 6–20 minutes: breakdowns). Each
 * hall reports temperature and humidity every 30 s. Sample times are the wall clock.
 *
 * Flood mode (--flood N): N loom samples as fast as the broker takes them, round-robin
 * over the looms, then exits printing one JSON line with the publish rate. The bench uses it
 * both for mosquitto's own pub→sub ceiling and for MQTT→Kafka through fofal-ingest. With
 * --batch K each message carries K consecutive samples of one loom as a JSON array.
 *
 * msg_id is "<loom>-<run>-<seq>", run being random per start, so ids never repeat.
 * Threads: main (the schedule), paho's own.
 */
#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set by SIGINT/SIGTERM; an atomic like every stop flag (events.h). Async-signal-safe:
 * atomic_int is lock-free on the platforms we build for. */
static atomic_int stop;
static void on_signal(int sig) {
  (void)sig;
  atomic_store_explicit(&stop, 1, memory_order_relaxed);
}

static atomic_llong acked, connected;

static void on_connected(void *ctx, char *cause) {
  (void)ctx;
  (void)cause;
  atomic_store(&connected, 1);
}
static void on_lost(void *ctx, char *cause) {
  (void)ctx;
  (void)cause;
  atomic_store(&connected, 0);
}
static int on_msg(void *ctx, char *t, int tl, MQTTAsync_message *m) {
  (void)ctx;
  (void)tl;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(t);
  return 1;
}
static void on_delivered(void *ctx, MQTTAsync_token tok) {
  (void)ctx;
  (void)tok;
  atomic_fetch_add(&acked, 1);
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
static void fmt_ts(int64_t us, char out[40]) {
  time_t s = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}
static double urand(void) { return (double)rand() / ((double)RAND_MAX + 1.0); }

typedef struct {
  char name[16];
  int hall;
  double nominal, picks;
  int stopped;
  const char *cause;
  double stop_until;   /* mono time */
  long long seq;
} loom_t;

/* Publishes one QoS 1 message, retrying while paho's window is full or the broker is away. */
static int publish(MQTTAsync c, const char *topic, const char *payload) {
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = (void *)payload;
  m.payloadlen = (int)strlen(payload);
  m.qos = 1;
  for (;;) {
    int rc = MQTTAsync_sendMessage(c, topic, &m, NULL);
    if (rc == MQTTASYNC_SUCCESS) return 0;
    if (stop) return -1;
    usleep(rc == MQTTASYNC_MAX_MESSAGES_INFLIGHT ? 100 : 20000);
  }
}

/* ------------------------------------------------------------ raw flood
 * paho's publishing path (a command queue and a send thread) tops out near 10,000
 * messages/s here, below what the broker takes; the flood therefore speaks MQTT 3.1.1
 * itself on one socket: pipelined QoS 1 PUBLISHes with up to `window` unacknowledged,
 * PUBACKs read as they come. Both the ceiling and the ingest run use it. */

static size_t put_len(unsigned char *b, size_t n) {
  size_t i = 0;
  do {
    unsigned char c = n % 128;
    n /= 128;
    b[i++] = (unsigned char)(c | (n ? 128 : 0));
  } while (n);
  return i;
}

static int raw_connect(const char *uri, const char *client_id) {
  char host[128] = "127.0.0.1", port[16] = "1883";
  const char *h = strstr(uri, "://") ? strstr(uri, "://") + 3 : uri, *colon = strrchr(h, ':');
  if (colon) {
    snprintf(host, sizeof host, "%.*s", (int)(colon - h), h);
    snprintf(port, sizeof port, "%s", colon + 1);
  }
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai)) return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
    freeaddrinfo(ai);
    if (fd >= 0) close(fd);
    return -1;
  }
  freeaddrinfo(ai);
  unsigned char b[256];
  size_t idl = strlen(client_id), rl = 10 + 2 + idl, n = 0;
  b[n++] = 0x10;
  n += put_len(b + n, rl);
  const unsigned char vh[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60};
  memcpy(b + n, vh, sizeof vh);
  n += sizeof vh;
  b[n++] = (unsigned char)(idl >> 8);
  b[n++] = (unsigned char)idl;
  memcpy(b + n, client_id, idl);
  n += idl;
  if (write(fd, b, n) != (ssize_t)n || read(fd, b, 4) != 4 || b[0] != 0x20 || b[3] != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Publishes n samples round-robin over the looms, `batch` consecutive samples of a loom
 * per message (a JSON array when batch > 1), at most `window` messages unacknowledged;
 * returns how many samples were acknowledged. */
static long long raw_flood(const char *uri, const char *tenant, loom_t *looms, int nlooms, long long n, int batch,
                           unsigned run, int window) {
  char id[64];
  snprintf(id, sizeof id, "fofal-loomsim-raw-%08x", run);
  int fd = raw_connect(uri, id);
  if (fd < 0) {
    fprintf(stderr, "fofal-loomsim: raw MQTT connect to %s failed\n", uri);
    return 0;
  }
  size_t cap = 1 << 20, len = 0, room = (size_t)batch * 200 + 64;
  unsigned char *out = malloc(cap), in[65536];
  char *payload = malloc(room);
  size_t inl = 0;
  long long sent = 0, nacked = 0, msgs = (n + batch - 1) / batch, samples = 0;
  unsigned short pid = 0;
  char topic[160], ts[40];
  int64_t ts_ms = -1;
  while (nacked < msgs && !stop) {
    /* Fill the output buffer while the window allows. The publisher shares the machine
     * with what it measures: the time stamp is formatted once per millisecond, and the
     * numbers as integers. */
    while (sent < msgs && sent - nacked < window && len + room + 300 < cap) {
      loom_t *l = &looms[sent % nlooms];
      int64_t now = now_us();
      if (now / 1000 != ts_ms) {
        ts_ms = now / 1000;
        fmt_ts(now, ts);
      }
      int tl = snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", tenant, l->name);
      int pl = 0;
      if (batch > 1) payload[pl++] = '[';
      for (int k = 0; k < batch && samples < n; k++, samples++) {
        l->picks += 10;
        if (k) payload[pl++] = ',';
        pl += snprintf(payload + pl, room - (size_t)pl,
                       "{\"msg_id\":\"%s-%08x-%lld\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":%d,\"state\":\"running\"}",
                       l->name, run, ++l->seq, ts, (long long)l->picks, (int)(l->nominal + 0.5));
      }
      if (batch > 1) payload[pl++] = ']';
      if (++pid == 0) pid = 1;
      out[len++] = 0x32;
      len += put_len(out + len, (size_t)(2 + tl + 2 + pl));
      out[len++] = (unsigned char)(tl >> 8);
      out[len++] = (unsigned char)tl;
      memcpy(out + len, topic, (size_t)tl);
      len += (size_t)tl;
      out[len++] = (unsigned char)(pid >> 8);
      out[len++] = (unsigned char)pid;
      memcpy(out + len, payload, (size_t)pl);
      len += (size_t)pl;
      sent++;
    }
    struct pollfd pf = {.fd = fd, .events = POLLIN | (len ? POLLOUT : 0)};
    if (poll(&pf, 1, 1000) < 0 && errno != EINTR) break;
    if (pf.revents & (POLLERR | POLLHUP)) break;
    if ((pf.revents & POLLOUT) && len) {
      ssize_t w = write(fd, out, len);
      if (w < 0 && errno != EAGAIN && errno != EINTR) break;
      if (w > 0) {
        memmove(out, out + w, len - (size_t)w);
        len -= (size_t)w;
      }
    }
    if (pf.revents & POLLIN) {
      ssize_t r = read(fd, in + inl, sizeof in - inl);
      if (r <= 0) break;
      inl += (size_t)r;
      size_t i = 0;
      while (inl - i >= 4 && in[i] == 0x40 && in[i + 1] == 2) {
        nacked++;
        i += 4;
      }
      if (inl - i >= 2 && in[i] != 0x40) break; /* anything but PUBACK: give up */
      memmove(in, in + i, inl - i);
      inl -= i;
    }
  }
  const unsigned char disc[] = {0xe0, 0};
  if (write(fd, disc, 2) < 0) {}
  close(fd);
  free(out);
  free(payload);
  return nacked >= msgs ? n : nacked * batch;
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: fofal-loomsim [options]\n\n"
          "Publishes loom telemetry (fofal/<tenant>/looms/<loom>/telemetry) and hall sensors\n"
          "(fofal/<tenant>/halls/<hall>/env) over MQTT, QoS 1.\n\n"
          "  --uri URI            broker (default tcp://127.0.0.1:11883, or $FOFAL_MQTT_URI)\n"
          "  --tenant T           tenant (default demo)\n"
          "  --looms N            looms L01..LNN (default 24)\n"
          "  --halls H1,H2        halls, looms spread evenly (default H1,H2)\n"
          "  --rate R             samples per second per loom (default 1)\n"
          "  --duration S         seconds, 0 = until Ctrl-C (default 0)\n"
          "  --stops-per-hour X   random stops per loom and hour (default 6)\n"
          "  --breakdown-share F  share of stops that are mechanical/electrical faults (default 0.10)\n"
          "  --flood N            publish N samples as fast as possible, print a JSON line, exit\n"
          "  --raw                with --flood: speak MQTT 3.1.1 on a raw socket (paho's publisher is slower\n"
          "                       than the broker)\n"
          "  --batch K            with --flood --raw: K consecutive samples of a loom per message, as a JSON\n"
          "                       array (default 1: one sample object per message)\n"
          "  --seed N             random seed (default: time)\n"
          "  --config FILE        read FOFAL_MQTT_URI from a KEY=VALUE file (e.g. the stack's stack.env)\n");
}

int main(int argc, char **argv) {
  const char *uri = getenv("FOFAL_MQTT_URI") ? getenv("FOFAL_MQTT_URI") : "tcp://127.0.0.1:11883";
  const char *tenant = "demo", *halls_arg = "H1,H2";
  int nlooms = 24;
  double rate = 1, duration = 0, stops_per_hour = 6, breakdown_share = 0.10;
  long long flood = 0;
  int raw = 0, batch = 1;
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  static struct option opts[] = {{"uri", 1, 0, 'u'},      {"tenant", 1, 0, 't'}, {"looms", 1, 0, 'n'},
                                 {"halls", 1, 0, 'H'},    {"rate", 1, 0, 'r'},   {"duration", 1, 0, 'd'},
                                 {"stops-per-hour", 1, 0, 's'}, {"breakdown-share", 1, 0, 'b'},
                                 {"flood", 1, 0, 'f'},    {"seed", 1, 0, 'S'},   {"help", 0, 0, 'h'}, {"config", 1, 0, 'c'}, {"raw", 0, 0, 'R'},
                                 {"batch", 1, 0, 'B'},
                                 {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (o) {
    case 'u': uri = optarg; break;
    case 't': tenant = optarg; break;
    case 'n': nlooms = atoi(optarg); break;
    case 'H': halls_arg = optarg; break;
    case 'r': rate = atof(optarg); break;
    case 'd': duration = atof(optarg); break;
    case 's': stops_per_hour = atof(optarg); break;
    case 'b': breakdown_share = atof(optarg); break;
    case 'f': flood = atoll(optarg); break;
    case 'S': seed = (unsigned)atol(optarg); break;
    case 'h': usage(stdout); return 0;
    case 'R': raw = 1; break;
    case 'B': batch = atoi(optarg); break;
    case 'c': {
      static char from_file[256];
      char line[512];
      FILE *f = fopen(optarg, "r");
      if (!f) {
        fprintf(stderr, "fofal-loomsim: cannot read %s\n", optarg);
        return 2;
      }
      while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "FOFAL_MQTT_URI=");
        if (!p || (p != line && strncmp(line, "export ", 7))) continue;
        p += strlen("FOFAL_MQTT_URI=");
        if (*p == '"') p++;
        p[strcspn(p, "\r\n\"")] = '\0';
        snprintf(from_file, sizeof from_file, "%s", p);
        uri = from_file;
      }
      fclose(f);
      break;
    }
    default: usage(stderr); return 2;
    }
  }
  if (nlooms < 1 || nlooms > 9999 || rate <= 0 || rate > 1000 || batch < 1 || batch > 256) {
    fprintf(stderr, "fofal-loomsim: --looms 1..9999, --rate (0, 1000] and --batch 1..256 please\n");
    return 2;
  }
  if (batch > 1 && !(flood > 0 && raw)) {
    fprintf(stderr, "fofal-loomsim: --batch goes with --flood N --raw\n");
    return 2;
  }
  srand(seed);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  char halls[16][32];
  int nhalls = 0;
  char *hl = strdup(halls_arg), *save = NULL;
  for (char *h = strtok_r(hl, ",", &save); h && nhalls < 16; h = strtok_r(NULL, ",", &save))
    snprintf(halls[nhalls++], 32, "%s", h);
  free(hl);
  if (!nhalls) snprintf(halls[nhalls++], 32, "H1");

  char id[64];
  unsigned run = (unsigned)rand();
  snprintf(id, sizeof id, "fofal-loomsim-%08x", run);
  MQTTAsync c;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.sendWhileDisconnected = 1;
  co.maxBufferedMessages = 100000;
  if (MQTTAsync_createWithOptions(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS) {
    fprintf(stderr, "fofal-loomsim: bad URI %s\n", uri);
    return 2;
  }
  MQTTAsync_setCallbacks(c, NULL, on_lost, on_msg, on_delivered);
  MQTTAsync_setConnected(c, NULL, on_connected);
  MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
  conn.keepAliveInterval = 20;
  conn.cleansession = 0;
  conn.automaticReconnect = 1;
  conn.minRetryInterval = 1;
  conn.maxRetryInterval = 5;
  conn.maxInflight = 2000;
  if (MQTTAsync_connect(c, &conn) != MQTTASYNC_SUCCESS) {
    fprintf(stderr, "fofal-loomsim: cannot connect to %s\n", uri);
    return 1;
  }
  for (int i = 0; i < 100 && !atomic_load(&connected) && !stop; i++) usleep(100 * 1000);
  if (!atomic_load(&connected)) {
    fprintf(stderr, "fofal-loomsim: no MQTT connection to %s within 10 s\n", uri);
    MQTTAsync_destroy(&c);
    return 1;
  }

  loom_t *looms = calloc((size_t)nlooms, sizeof *looms);
  for (int i = 0; i < nlooms; i++) {
    snprintf(looms[i].name, sizeof looms[i].name, "L%02d", i + 1);
    looms[i].hall = i * nhalls / nlooms;
    looms[i].nominal = 520 + urand() * 160;
    looms[i].picks = floor(urand() * 1e6);
  }
  char topic[256], payload[512], ts[40];
  long long sent = 0;
  double t0 = mono();
  if (flood > 0 && raw) {
    long long a = raw_flood(uri, tenant, looms, nlooms, flood, batch, run, 2000);
    double secs = mono() - t0;
    printf("{\"published\":%lld,\"acked\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.0f}\n", a, a, secs,
           secs > 0 ? (double)a / secs : 0.0);
    fflush(stdout);
  } else if (flood > 0) {
    /* As fast as paho and the broker go; the payload is a valid running sample. */
    for (long long k = 0; k < flood && !stop; k++) {
      loom_t *l = &looms[k % nlooms];
      l->picks += 10;
      fmt_ts(now_us(), ts);
      snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", tenant, l->name);
      snprintf(payload, sizeof payload,
               "{\"msg_id\":\"%s-%08x-%lld\",\"ts\":\"%s\",\"picks\":%.0f,\"ppm\":%.0f,\"state\":\"running\"}", l->name,
               run, ++l->seq, ts, l->picks, l->nominal);
      if (publish(c, topic, payload)) break;
      sent++;
    }
    while (atomic_load(&acked) < sent && !stop && mono() - t0 < 600) usleep(1000);
    double secs = mono() - t0;
    printf("{\"published\":%lld,\"acked\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.0f}\n", sent, (long long)atomic_load(&acked),
           secs, secs > 0 ? (double)atomic_load(&acked) / secs : 0.0);
    fflush(stdout);
  } else {
    double period = 1.0 / rate, next = mono(), next_env = mono();
    while (!stop && (duration <= 0 || mono() - t0 < duration)) {
      double now = mono();
      if (now < next) {
        usleep((useconds_t)((next - now) * 1e6));
        continue;
      }
      next += period;
      int64_t wall = now_us();
      fmt_ts(wall, ts);
      for (int i = 0; i < nlooms; i++) {
        loom_t *l = &looms[i];
        if (l->stopped && now >= l->stop_until) l->stopped = 0;
        if (!l->stopped && urand() < stops_per_hour * period / 3600.0) {
          double u = urand(), dur;
          l->stopped = 1;
          if (u < breakdown_share) {
            l->cause = urand() < 0.8 ? "mechanical" : "electrical";
            dur = 360 + urand() * 840;
          } else {
            double v = urand();
            l->cause = v < 0.5 ? "weft_break" : v < 0.89 ? "warp_break" : "other";
            dur = !strcmp(l->cause, "weft_break") ? 15 + urand() * 45 : !strcmp(l->cause, "warp_break") ? 45 + urand() * 135 : 30 + urand() * 240;
          }
          l->stop_until = now + dur;
        }
        double ppm = 0;
        if (!l->stopped) {
          ppm = l->nominal * (1 + (urand() - 0.5) * 0.04);
          l->picks += ppm * period / 60.0;
        }
        snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", tenant, l->name);
        if (l->stopped)
          snprintf(payload, sizeof payload,
                   "{\"msg_id\":\"%s-%08x-%lld\",\"ts\":\"%s\",\"picks\":%.0f,\"ppm\":0,\"state\":\"stopped\",\"stop_cause\":\"%s\"}",
                   l->name, run, ++l->seq, ts, floor(l->picks), l->cause);
        else
          snprintf(payload, sizeof payload,
                   "{\"msg_id\":\"%s-%08x-%lld\",\"ts\":\"%s\",\"picks\":%.0f,\"ppm\":%.1f,\"state\":\"running\"}", l->name,
                   run, ++l->seq, ts, floor(l->picks), ppm);
        if (publish(c, topic, payload)) break;
        sent++;
      }
      if (now >= next_env) {
        next_env = now + 30;
        for (int h = 0; h < nhalls; h++) {
          static long long env_seq;
          snprintf(topic, sizeof topic, "fofal/%s/halls/%s/env", tenant, halls[h]);
          snprintf(payload, sizeof payload,
                   "{\"msg_id\":\"%s-%08x-%lld\",\"ts\":\"%s\",\"temperature\":%.1f,\"humidity\":%.1f}", halls[h], run,
                   ++env_seq, ts, 26 + urand() * 4, 58 + urand() * 10);
          if (publish(c, topic, payload)) break;
          sent++;
        }
      }
    }
    for (int i = 0; i < 50 && atomic_load(&acked) < sent; i++) usleep(100 * 1000);
    fprintf(stderr, "fofal-loomsim: %lld messages published, %lld acknowledged by the broker\n", sent,
            (long long)atomic_load(&acked));
  }
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  MQTTAsync_disconnect(c, &d);
  usleep(200 * 1000);
  MQTTAsync_destroy(&c);
  free(looms);
  return 0;
}
