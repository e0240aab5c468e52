/*
 * event_gen.c — fofal-bench-event-gen: fills fofal.production.events with EVENTS valid
 * production events, directly (no command path), so that the projection benchmarks have a
 * large log to project.
 *
 * Events are written the way the decider writes them (commands/processor.c emit_events):
 * CloudEvents structured-mode JSON from fofal_event_encode, the ce_* headers of the Kafka
 * protocol binding, key = subject = order id, fofalseq = the aggregate's version. The
 * producer is idempotent (not transactional: a read_committed consumer reads it alike).
 *
 * The mix per order is a production order's life: order_created, order_released,
 * order_started (with its loom), six output_declared with an increasing declared_total
 * reaching the ordered quantity, order_completed — ten events per order, orders spread
 * round-robin over TENANTS tenants. Orders are interleaved the way a factory interleaves
 * them: a wave of WAVE orders takes its first step, then its second, and so on, so that
 * consecutive events in a partition belong to different orders. EVENTS need not be a
 * multiple of ten: the last orders then stop part-way through their life. Event times are
 * one millisecond apart, ending now. Like the decider, it writes every event of a tenant
 * to the tenant's partition (fofal_tenant_partition): the projection's views that several
 * orders feed (a loom's current order) converge only in one order of application.
 *
 * With CSV_DIR, it also writes the rows the production projection derives from these
 * events (projections/production.c) as CSV for COPY: CSV_DIR/orders.csv (one row per
 * order, in its final state) and CSV_DIR/declarations.csv (one row per output_declared),
 * an empty field for NULL. The first line names the columns (ops/bench passes it to
 * COPY as its column list): columns added later to the tables take their defaults, and
 * the bench's comparison with the projected rows says when those are not what the
 * projection writes.
 *
 * Output: one JSON line {"bench":"event_gen",...} on stdout with the number of events
 * acknowledged by the broker. Exit 0 when every event was delivered, 1 on a failure
 * (reason on stderr), 2 on a usage error. Threads: one (plus librdkafka's).
 */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PER_ORDER 10
#define DECLARATIONS 6       /* output_declared events per order */
#define WAVE 1000            /* orders interleaved with each other */
#define MAX_QUEUED 50000     /* below librdkafka's queue.buffering.max.messages (100000) */

static char *brokers, *csv_dir, *log_level;
static long long n_events, n_tenants, linger_ms;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    {"EVENTS", FOFAL_SET_INT, "1000000", 1, 100000000, "Events to produce.", &n_events},
    {"TENANTS", FOFAL_SET_INT, "4", 1, 1000, "Tenants the orders are spread over (bench-t1, bench-t2, ...).",
     &n_tenants},
    {"CSV_DIR", FOFAL_SET_STR, "", 0, 0, "Folder to write orders.csv and declarations.csv into (\"\": none).",
     &csv_dir},
    {"LINGER_MS", FOFAL_SET_INT, "20", 0, 1000, "Producer linger.ms (larger batches than the decider's).", &linger_ms},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

typedef struct {
  int64_t delivered, failed;
} counts_t;

/* One order of the current wave: what its events say, and the row they project to. */
typedef struct {
  char id[FOFAL_UUID_LEN + 1];
  char tenant[32], article[24], loom[16];
  const char *unit;
  int has_due;
  int quantity, declared;
  int steps;                 /* events this order gets (EVENTS_PER_ORDER but for the last) */
  int64_t created_us, updated_us, started_us, completed_us; /* 0: not yet */
} order_t;

typedef struct {
  fofal_kafka_t *k;
  counts_t counts;
  int64_t produced;
  FILE *orders_csv, *decl_csv;
  int nparts; /* of the events topic: each tenant's events go to its partition */
  char err[512];
} gen_t;

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  counts_t *c = opaque;
  if (err) c->failed++;
  else c->delivered++;
}

static const char *const shifts[] = {"A", "B", "C"};

/* The data of step `step` (0-based) of order o at time t (a new reference), and its type. */
static json_t *event_data(gen_t *g, order_t *o, int step, int64_t t, const char **type) {
  json_t *d;
  char ts[32];
  fofal_time_format(t, ts);
  if (step == 0) {
    *type = "fofal.production.order_created.v1";
    d = json_pack("{s:s,s:s,s:i,s:s}", "order_id", o->id, "article", o->article, "quantity", o->quantity, "unit",
                  o->unit);
    if (o->has_due) json_object_set_new(d, "due_date", json_string("2027-03-31"));
  } else if (step == 1) {
    *type = "fofal.production.order_released.v1";
    d = json_pack("{s:s}", "order_id", o->id);
  } else if (step == 2) {
    *type = "fofal.production.order_started.v1";
    d = json_pack("{s:s,s:s}", "order_id", o->id, "loom", o->loom);
  } else if (step < 3 + DECLARATIONS) {
    int k = step - 3, qty = o->quantity / DECLARATIONS;
    if (k == DECLARATIONS - 1) qty = o->quantity - o->declared; /* the last one completes the quantity */
    o->declared += qty;
    char label[FOFAL_UUID_LEN + 1], weaver[16];
    fofal_uuid7(label);
    snprintf(weaver, sizeof weaver, "W%03d", (int)((o->id[35] + k) % 200));
    const char *shift = shifts[(o->id[34] + k) % 3];
    *type = "fofal.production.output_declared.v1";
    d = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "order_id", o->id, "label_id", label, "quantity", qty, "weaver",
                  weaver, "loom", o->loom, "shift", shift, "declared_total", o->declared);
    if (g->decl_csv)
      fprintf(g->decl_csv, "%s,%s,%s,%d,%s,%s,%s,%s,%s\n", o->tenant, label, o->id, qty, weaver, o->loom, shift, ts, ts);
  } else {
    *type = "fofal.production.order_completed.v1";
    d = json_pack("{s:s,s:i,s:s}", "order_id", o->id, "declared_total", o->declared, "loom", o->loom);
  }
  if (step == 0) o->created_us = t;
  if (step == 2) o->started_us = t;
  if (step == EVENTS_PER_ORDER - 1) o->completed_us = t;
  o->updated_us = t;
  return d;
}

/* Produces step `step` of order o as the decider would. 0 or -1 (reason in g->err). */
static int produce(gen_t *g, const char *topic, order_t *o, int step, int64_t t) {
  const char *type;
  json_t *data = event_data(g, o, step, t, &type);
  char id[FOFAL_UUID_LEN + 1], cmd_id[FOFAL_UUID_LEN + 1];
  const char *source = "/fofal/production";
  fofal_uuid7(id);
  fofal_uuid7(cmd_id);
  fofal_event_t ev = {.id = id, .source = (char *)source, .type = (char *)type, .subject = o->id, .time_us = t,
                      .tenant = o->tenant, .seq = step + 1, .actor = "u:bench/event-gen", .command_id = cmd_id,
                      .correlation_id = cmd_id, .data = data};
  char *buf = fofal_event_encode(&ev);
  json_decref(data);
  const fofal_kheader_t *h;
  int nh = fofal_event_kafka_headers(&h);
  while (fofal_kafka_outq_len(g->k) > MAX_QUEUED) fofal_kafka_poll(g->k, 1);
  int rc = fofal_kafka_produce(g->k, topic, fofal_tenant_partition(o->tenant, g->nparts), o->id, FOFAL_UUID_LEN, buf, strlen(buf), h, nh, on_delivery,
                               &g->counts, g->err, sizeof g->err);
  free(buf);
  if (rc) return -1;
  if (++g->produced % 1000 == 0) fofal_kafka_poll(g->k, 0);
  return 0;
}

/* The orders row the projection ends with after o->steps events. */
static void order_row(gen_t *g, const order_t *o) {
  static const char *const status[] = {"created", "released", "started", "started", "started", "started",
                                       "started", "started", "started", "completed"};
  char created[32], updated[32], started[32] = "", completed[32] = "";
  if (!g->orders_csv) return;
  fofal_time_format(o->created_us, created);
  fofal_time_format(o->updated_us, updated);
  if (o->started_us) fofal_time_format(o->started_us, started);
  if (o->completed_us) fofal_time_format(o->completed_us, completed);
  fprintf(g->orders_csv, "%s,%s,%s,%d,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s\n", o->tenant, o->id, o->article, o->quantity,
          o->unit, o->has_due ? "2027-03-31" : "", o->steps >= 3 ? o->loom : "", status[o->steps - 1], o->declared,
          o->steps, created, updated, started, completed);
}

/* The column lists of the CSV files, their first lines. */
#define ORDERS_COLUMNS                                                                                             \
  "tenant,order_id,article,quantity,unit,due_date,loom,status,declared,version,created_at,updated_at,started_at," \
  "completed_at"
#define DECLARATIONS_COLUMNS "tenant,label_id,order_id,quantity,weaver,loom,shift,declared_at,woven_at"

static FILE *open_csv(const char *name, char *err, size_t errlen) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", csv_dir, name);
  FILE *f = fopen(path, "w");
  if (!f) snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
  return f;
}

int main(int argc, char **argv) {
  static gen_t gen;
  gen_t *g = &gen;
  order_t *wave = NULL;
  int rc = 1;
  int lrc = fofal_settings_load(settings, NSET, argc, argv,
                                "usage: fofal-bench-event-gen [--config STACK_ENV] [--events=N] [--option=value ...]\n\n"
                                "Produces EVENTS production events (ten per order: created, released, started, six\n"
                                "output_declared, completed) to fofal.production.events and prints\n"
                                "{\"bench\":\"event_gen\",...}. With CSV_DIR, also the rows they project to.",
                                g->err, sizeof g->err);
  if (lrc == 1) return 0;
  if (lrc) {
    fprintf(stderr, "fofal-bench-event-gen: %s\n", g->err);
    fofal_settings_free(settings, NSET);
    return 2;
  }
  fofal_log_init("fofal-bench-event-gen", log_level);
  if (*csv_dir && (!(g->orders_csv = open_csv("orders.csv", g->err, sizeof g->err)) ||
                   !(g->decl_csv = open_csv("declarations.csv", g->err, sizeof g->err))))
    goto fail;
  if (g->orders_csv) {
    fprintf(g->orders_csv, "%s\n", ORDERS_COLUMNS);
    fprintf(g->decl_csv, "%s\n", DECLARATIONS_COLUMNS);
  }
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-bench-event-gen", .linger_ms = (int)linger_ms,
                          .message_timeout_ms = 120000};
  if (fofal_kafka_producer_new(&g->k, &o, g->err, sizeof g->err)) goto fail;
  char topic[64];
  fofal_topic_events("production", topic, sizeof topic);
  int np = fofal_kafka_partition_count(g->k, topic, 10000, g->err, sizeof g->err);
  if (np < 0) goto fail;
  g->nparts = np;

  wave = fofal_calloc(WAVE, sizeof *wave);
  int64_t t0 = fofal_mono_us(), now_us = fofal_now_us(), left = n_events, orders = 0, ev_no = 0;
  int64_t first_us = now_us - n_events * 1000;
  while (left > 0) {
    /* A wave of up to WAVE orders; each order gets EVENTS_PER_ORDER events, the last ones fewer. */
    int n = 0;
    for (; n < WAVE && left > 0; n++) {
      order_t *od = &wave[n];
      memset(od, 0, sizeof *od);
      fofal_uuid7(od->id);
      snprintf(od->tenant, sizeof od->tenant, "bench-t%lld", (orders % n_tenants) + 1);
      snprintf(od->article, sizeof od->article, "FOUTA-%03d", (int)(orders % 150) + 1);
      snprintf(od->loom, sizeof od->loom, "L%02d", (int)(orders % 40) + 1);
      od->unit = orders % 5 == 4 ? "meters" : "pieces";
      od->has_due = orders % 3 != 0;
      od->quantity = 120 + (int)(orders % 50) * 12;
      od->steps = left >= EVENTS_PER_ORDER ? EVENTS_PER_ORDER : (int)left;
      left -= od->steps;
      orders++;
    }
    for (int step = 0; step < EVENTS_PER_ORDER; step++)
      for (int i = 0; i < n; i++)
        if (step < wave[i].steps && produce(g, topic, &wave[i], step, first_us + 1000 * ev_no++)) goto fail;
    for (int i = 0; i < n; i++) order_row(g, &wave[i]);
  }
  if (fofal_kafka_flush(g->k, 120000)) {
    snprintf(g->err, sizeof g->err, "%" PRId64 " events still undelivered 120 s after the last one",
             g->produced - g->counts.delivered - g->counts.failed);
    goto fail;
  }
  double secs = (double)(fofal_mono_us() - t0) / 1e6;
  if (g->orders_csv && (fclose(g->orders_csv) | fclose(g->decl_csv))) {
    g->orders_csv = g->decl_csv = NULL;
    snprintf(g->err, sizeof g->err, "writing the CSV files failed: %s", strerror(errno));
    goto fail;
  }
  g->orders_csv = g->decl_csv = NULL;
  int64_t decl = (int64_t)(n_events / EVENTS_PER_ORDER) * DECLARATIONS;
  int64_t tail = n_events % EVENTS_PER_ORDER;
  if (tail > 3) decl += tail - 3;
  printf("{\"bench\":\"event_gen\",\"events\":%" PRId64 ",\"failed\":%" PRId64 ",\"orders\":%" PRId64
         ",\"declarations\":%" PRId64 ",\"tenants\":%lld,\"partitions\":%d,\"seconds\":%.3f,\"events_per_s\":%.1f}\n",
         g->counts.delivered, g->counts.failed, orders, decl, n_tenants, np, secs,
         (double)g->counts.delivered / secs);
  rc = g->counts.failed ? 1 : 0;
  if (g->counts.failed) fprintf(stderr, "fofal-bench-event-gen: %" PRId64 " events failed\n", g->counts.failed);
  goto out;
fail:
  fprintf(stderr, "fofal-bench-event-gen: %s\n", g->err);
out:
  if (g->orders_csv) fclose(g->orders_csv);
  if (g->decl_csv) fclose(g->decl_csv);
  free(wave);
  fofal_kafka_free(g->k);
  fofal_settings_free(settings, NSET);
  return rc;
}
