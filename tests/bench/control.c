/*
 * control.c — fofal-bench-control: generates a year of a weaving mill's control facts into
 * the control read model and times the cost, yield and loss reads on it (issue 18).
 *
 * How the model is filled: fofal.control.fact_recorded events (the facts the reaction
 * control.facts_from_events makes of the other modules' events, commands/control/
 * reactions.c) are made here and handed to the control projection's own apply functions
 * (fofal_projection_find("control")) inside PostgreSQL transactions of BATCH events in
 * pipeline mode, as the projector does, without Kafka. One tenant (TENANT), whose rows are
 * deleted first and, unless KEEP, at the end.
 *
 * The mill: LOOMS looms over DAYS days. Every loom gets a new beam every 7 days, warped
 * 3,000 m long from 2 yarn lots of 150 kg received on a priced purchase receipt, and a new
 * production order with it; every loom-day ROLLS declarations (each consuming warp of the
 * beam, each paid to its weaver and cut, the cut paid to its cutter) and STOPS loom stops
 * of mixed causes and lengths.
 *
 * Then QUERIES reads of each kind, the statements of the API (fofal__control_read_sql,
 * api/control/control_api.c) with the computation of costing.c, one at a time, as the
 * connection's role: the cost of a random order (4 statements), the yields by loom of a
 * random month, the losses of a random month.
 *
 * Output, one JSON line each on stdout:
 *   {"bench":"control_gen",...}                              what was generated, events/s
 *   {"bench":"control","read":"order_cost"|"yields_month"|"losses_month","queries","p50_ms","p99_ms","max_ms"}
 *   {"bench":"control_size",...}                             the control schema on disk
 * Exit 0, 1 on a failure (reason on stderr), 2 on a usage error.
 */
#include "commands.h"
#include "costing.h"
#include "events.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_sql.h"

static char *dsn, *tenant, *log_level;
static long long n_looms, n_days, n_rolls, n_stops, n_queries, batch, seed, keep_rows;

static fofal_setting_t settings[] = {
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal_owner dbname=fofal", 0, 0,
     "PostgreSQL of the stack (a role that may write the control schema).", &dsn},
    {"LOOMS", FOFAL_SET_INT, "24", 1, 1000, "Looms of the mill.", &n_looms},
    {"DAYS", FOFAL_SET_INT, "365", 7, 3650, "Days of the generated period.", &n_days},
    {"ROLLS", FOFAL_SET_INT, "12", 1, 1000, "Declarations a loom-day.", &n_rolls},
    {"STOPS", FOFAL_SET_INT, "20", 0, 10000, "Stops a loom-day.", &n_stops},
    {"QUERIES", FOFAL_SET_INT, "200", 1, 1000000, "Reads of each kind.", &n_queries},
    {"BATCH", FOFAL_SET_INT, "5000", 1, 1000000, "Events per PostgreSQL transaction.", &batch},
    {"SEED", FOFAL_SET_INT, "18", 0, 2147483647, "Seed of the query picks.", &seed},
    {"KEEP", FOFAL_SET_INT, "0", 0, 1, "1: leave the generated rows (for a look); 0: delete them at the end.", &keep_rows},
    {"TENANT", FOFAL_SET_STR, "bench-control", 0, 0, "The tenant the mill is generated for.", &tenant},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

#define BEAM_DAYS 7
#define BEAM_MM 3000000LL /* 3,000 m */

typedef struct {
  fofal_pg_t *pg;
  const fofal_projection_def_t *def;
  fofal_apply_ctx_t ctx;
  long long events, in_batch, seq, norders;
  char (*orders)[FOFAL_UUID_LEN + 1];
  char err[512];
} gen_t;

static int flush(gen_t *g, int last) {
  if (fofal_pg_pipeline_end(g->pg, g->err, sizeof g->err) || fofal_pg_exec(g->pg, "COMMIT", g->err, sizeof g->err)) return 1;
  g->in_batch = 0;
  if (last) return 0;
  return fofal_pg_exec(g->pg, "BEGIN", g->err, sizeof g->err) || fofal_pg_pipeline_begin(g->pg, g->err, sizeof g->err);
}

/* One fact (data stolen: its kind and ref, and source_event set here). */
static int fact(gen_t *g, int64_t at_us, json_t *data) {
  static const char type[] = "fofal.control.fact_recorded.v1";
  char id[FOFAL_UUID_LEN + 1], src[FOFAL_UUID_LEN + 1], pos[64];
  fofal_uuid7(id);
  fofal_uuid7(src);
  json_object_set_new(data, "source_event", json_string(src));
  fofal_event_t ev = {.id = id, .source = "/fofal/control", .type = (char *)type, .subject = id, .time_us = at_us,
                      .tenant = tenant, .seq = ++g->seq, .actor = "r:control.facts_from_events", .data = data};
  snprintf(pos, sizeof pos, "control:0:%lld", g->events);
  g->ctx.position = pos;
  int rc = -1;
  for (int i = 0; i < g->def->napplies; i++)
    if (!strcmp(g->def->applies[i].type, type)) rc = g->def->applies[i].apply(&g->ctx, &ev);
  json_decref(data);
  if (rc) {
    if (rc == -1) snprintf(g->err, sizeof g->err, "the control projection has no apply function for %s", type);
    return 1;
  }
  g->events++;
  if (++g->in_batch >= batch) return flush(g, 0);
  return 0;
}

static unsigned long long rng;
static long long pick(long long n) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (long long)((rng >> 33) % (unsigned long long)n);
}

static void month_of(int64_t us, char m[8]) {
  char at[32];
  fofal_time_format(us, at);
  memcpy(m, at, 7);
  m[7] = '\0';
}

static int generate(gen_t *g) {
  static const char *const causes[] = {"warp_break", "weft_break", "mechanical", "electrical", "other"};
  int64_t start = fofal_now_us() - (int64_t)n_days * 86400000000LL;
  long long beam_no = 0, lot_no = 0;
  g->orders = calloc((size_t)(n_looms * (n_days / BEAM_DAYS + 1)), sizeof *g->orders);
  if (!g->orders) abort();
  for (long long day = 0; day < n_days; day++) {
    int64_t t = start + day * 86400000000LL;
    char month[8], at[32];
    month_of(t, month);
    for (long long l = 0; l < n_looms; l++) {
      char loom[16], beam[32], order[FOFAL_UUID_LEN + 1], weaver[16];
      snprintf(loom, sizeof loom, "L%02lld", l + 1);
      snprintf(weaver, sizeof weaver, "W%03lld", 100 + (l + day) % (n_looms * 3));
      long long week = day / BEAM_DAYS;
      snprintf(beam, sizeof beam, "B-%s-%lld", loom, week);
      if (day % BEAM_DAYS == 0) {
        char receipt[FOFAL_UUID_LEN + 1], lot1[32], lot2[32];
        fofal_uuid7(receipt);
        snprintf(lot1, sizeof lot1, "YL-%07lld", ++lot_no);
        snprintf(lot2, sizeof lot2, "YL-%07lld", ++lot_no);
        fofal_uuid7(order);
        memcpy(g->orders[g->norders++], order, sizeof order);
        beam_no++;
        if (fact(g, t, json_pack("{s:s,s:s,s:s,s:[{s:i,s:s,s:i},{s:i,s:s,s:i}]}", "kind", "receipt_priced", "ref", receipt,
                                 "receipt_id", receipt, "lines", "line", 1, "unit", "kg", "unit_price", 9300, "line", 2,
                                 "unit", "kg", "unit_price", 9800)) ||
            fact(g, t, json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i},{s:s,s:i,s:i}]}", "kind", "receipt_stocked", "ref", receipt,
                                 "receipt_id", receipt, "lots", "lot", lot1, "line", 1, "weight_g", 150000, "lot", lot2,
                                 "line", 2, "weight_g", 150000)) ||
            fact(g, t, json_pack("{s:s,s:s,s:s,s:s,s:i}", "kind", "lot_issued", "ref", beam, "lot", lot1, "beam", beam,
                                 "weight_g", 150000)) ||
            fact(g, t, json_pack("{s:s,s:s,s:s,s:s,s:i}", "kind", "lot_issued", "ref", beam, "lot", lot2, "beam", beam,
                                 "weight_g", 150000)) ||
            fact(g, t, json_pack("{s:s,s:s,s:s,s:I,s:s}", "kind", "beam_warped", "ref", beam, "beam", beam, "length_mm",
                                 (json_int_t)BEAM_MM, "article", "FT-BENCH")))
          return 1;
      } else
        memcpy(order, g->orders[g->norders - n_looms + l < 0 ? 0 : g->norders - n_looms + l], sizeof order);
      for (long long r = 0; r < n_rolls; r++) {
        char label[FOFAL_UUID_LEN + 1];
        int64_t tr = t + r * (86400000000LL / n_rolls);
        fofal_uuid7(label);
        long long waste = pick(3), second = pick(5);
        if (fact(g, tr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:[{s:s,s:i}]}", "kind", "output_declared", "ref",
                                  label, "label_id", label, "order_id", order, "article", "FT-BENCH", "loom", loom, "weaver",
                                  weaver, "month", month, "quantity", 40, "length_mm", 20000, "beams", "beam", beam,
                                  "meters_mm", 21000)) ||
            fact(g, tr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "kind", "pay_accrued", "ref", order, "order_id",
                                  order, "article", "FT-BENCH", "badge", weaver, "role", "weaver", "month", month,
                                  "amount_minor", 18000)) ||
            fact(g, tr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:[{s:s,s:I},{s:s,s:I}]}", "kind",
                                  "roll_cut", "ref", label, "label_id", label, "order_id", order, "article", "FT-BENCH",
                                  "loom", loom, "weaver", weaver, "month", month, "first_choice",
                                  (json_int_t)(40 - waste - second), "second_choice", (json_int_t)second, "waste_pieces",
                                  (json_int_t)waste, "waste_mm", 300, "waste_g", 120, "lots", "grade", "1", "pieces",
                                  (json_int_t)(40 - waste - second), "grade", "2", "pieces", (json_int_t)second)) ||
            fact(g, tr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "kind", "pay_accrued", "ref", order, "order_id",
                                  order, "article", "FT-BENCH", "badge", "C01", "role", "cutter", "month", month,
                                  "amount_minor", 3600)))
          return 1;
      }
      for (long long s = 0; s < n_stops; s++) {
        int64_t ts = t + s * (86400000000LL / (n_stops ? n_stops : 1));
        fofal_time_format(ts, at);
        long long c = pick(10);
        const char *cause = causes[c < 6 ? c % 2 : c < 8 ? c - 4 : 4];
        if (fact(g, ts, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s,s:s}", "kind", "loom_stop", "ref", loom, "loom", loom,
                                  "cause", cause, "stopped_s", (json_int_t)(30 + pick(c < 6 ? 400 : 3600)),
                                  "after_breakdown", c == 6 && pick(2), "at", at, "month", month)))
          return 1;
      }
    }
  }
  return 0;
}

static int clear_tenant(gen_t *g) {
  for (int i = 0; g->def->tables[i]; i++) {
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM control.%s WHERE tenant = $1", g->def->tables[i]);
    const char *p[] = {tenant};
    if (fofal_pg_execp(g->pg, sql, 1, p, g->err, sizeof g->err)) return 1;
  }
  return 0;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

/* The rows of a statement, as the API's worker gets them: one JSON value each. */
static void collect(void *opaque, int ncols, const char *const *values) {
  json_t *rows = opaque, *j = ncols > 0 && values[0] ? json_loads(values[0], 0, NULL) : NULL;
  if (j) json_array_append_new(rows, j);
}

static int run(gen_t *g, int which, int n, const char *const *params, json_t **rows) {
  *rows = json_array();
  return fofal_pg_query(g->pg, fofal__control_read_sql[which], n, params, collect, *rows, g->err, sizeof g->err);
}

/* QUERIES reads of `kind` (0 order cost, 1 yields of a month by loom, 2 losses of a month). */
static int measure(gen_t *g, int kind) {
  static const char *const names[] = {"order_cost", "yields_month", "losses_month"};
  long long *us = calloc((size_t)n_queries, sizeof *us);
  int64_t first = fofal_now_us() - (int64_t)n_days * 86400000000LL;
  for (long long q = 0; q < n_queries; q++) {
    json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *h = NULL, *out = NULL;
    char month[8];
    month_of(first + pick(n_days) * 86400000000LL, month);
    int64_t t = fofal_mono_us();
    int rc;
    if (kind == 0) {
      const char *p[] = {tenant, g->orders[pick(g->norders)], NULL, NULL, NULL};
      rc = run(g, 0, 5, p, &a) || run(g, 1, 5, p, &b) || run(g, 2, 5, p, &c) || run(g, 3, 5, p, &d) ||
           run(g, 8, 5, p, &e) || run(g, 9, 5, p, &f) || run(g, 10, 5, p, &h);
      if (!rc) {
        const json_t *set = json_array_get(h, 0), *o = json_array_get(a, 0);
        out = fofal__ctl_cost(b, c, d, json_integer_value(json_object_get(o, "pieces")));
        json_t *m = fofal__ctl_machine(e);
        fofal__ctl_cost_add(out, m, fofal__ctl_overhead(f, m), json_is_true(json_object_get(set, "rates_in_use")));
        fofal__ctl_variance(out, json_object_get(set, "standard"), json_integer_value(json_object_get(o, "length_mm")));
      }
    } else if (kind == 1) {
      const char *p[] = {tenant, NULL, NULL, NULL, month, month, "false", "true", "false", "true", "false"};
      rc = run(g, 4, 11, p, &a);
      size_t i;
      json_t *r;
      if (!rc) json_array_foreach(a, i, r) fofal__ctl_yield(r);
    } else {
      const char *p[] = {tenant, NULL, month, month, NULL, "true", "false", "false", "true"};
      rc = run(g, 5, 9, p, &a) || run(g, 6, 9, p, &b) || run(g, 7, 9, p, &c);
      if (!rc) out = fofal__ctl_losses(a, b, c);
    }
    us[q] = fofal_mono_us() - t;
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
    json_decref(f);
    json_decref(h);
    json_decref(out);
    if (rc) {
      free(us);
      return 1;
    }
  }
  qsort(us, (size_t)n_queries, sizeof *us, cmp_ll);
  printf("{\"bench\":\"control\",\"read\":\"%s\",\"queries\":%lld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
         names[kind], n_queries, us[n_queries / 2] / 1000.0, us[(n_queries * 99) / 100] / 1000.0,
         us[n_queries - 1] / 1000.0);
  fflush(stdout);
  free(us);
  return 0;
}

int main(int argc, char **argv) {
  static gen_t gen;
  gen_t *g = &gen;
  int lrc = fofal_settings_load(settings, NSET, argc, argv,
                                "usage: fofal-bench-control [--config STACK_ENV] [--days=N] [--option=value ...]\n\n"
                                "Generates a mill's control facts (LOOMS looms over DAYS days: beams, priced yarn, ROLLS\n"
                                "declarations with their pay and cuts and STOPS stops a loom-day) into the control read\n"
                                "model through the projection's own apply functions, then times QUERIES reads of an\n"
                                "order's cost, a month's yields and a month's losses (the API's statements). Prints\n"
                                "{\"bench\":\"control_gen\"|\"control\"|\"control_size\",...} lines.",
                                g->err, sizeof g->err);
  if (lrc == 1) return 0;
  if (lrc) {
    fprintf(stderr, "fofal-bench-control: %s\n", g->err);
    fofal_settings_free(settings, NSET);
    return 2;
  }
  fofal_log_init("fofal-bench-control", log_level);
  rng = (unsigned long long)seed;
  int rc = 1;
  if (!(g->def = fofal_projection_find("control"))) {
    snprintf(g->err, sizeof g->err, "no control projection in this build");
    goto out;
  }
  if (fofal_pg_connect(&g->pg, dsn, g->err, sizeof g->err)) goto out;
  if (clear_tenant(g)) goto out;
  g->ctx = (fofal_apply_ctx_t){.pg = g->pg, .pg_schema = "control", .redis_prefix = "fofal:control:bench:",
                               .errbuf = g->err, .errlen = sizeof g->err};
  int64_t t0 = fofal_mono_us();
  if (fofal_pg_exec(g->pg, "BEGIN", g->err, sizeof g->err) || fofal_pg_pipeline_begin(g->pg, g->err, sizeof g->err) ||
      generate(g) || flush(g, 1))
    goto out;
  double secs = (double)(fofal_mono_us() - t0) / 1e6;
  printf("{\"bench\":\"control_gen\",\"events\":%lld,\"looms\":%lld,\"days\":%lld,\"orders\":%lld,\"seconds\":%.3f,"
         "\"events_per_s\":%.1f,\"via\":\"the control projection's apply functions, straight into PostgreSQL (no "
         "Kafka)\"}\n",
         g->events, n_looms, n_days, g->norders, secs, (double)g->events / secs);
  fflush(stdout);
  if (fofal_pg_exec(g->pg, "ANALYZE control.fact_outputs; ANALYZE control.fact_output_beams; ANALYZE control.fact_labour; "
                           "ANALYZE control.fact_cuts; ANALYZE control.fact_cut_lots; ANALYZE control.fact_stops; ANALYZE "
                           "control.fact_beams; ANALYZE control.fact_beam_lots",
                    g->err, sizeof g->err))
    goto out;
  if (!g->norders) {
    snprintf(g->err, sizeof g->err, "no order generated");
    goto out;
  }
  if (measure(g, 0) || measure(g, 1) || measure(g, 2)) goto out;
  char *size = NULL;
  if (fofal_pg_query_value(g->pg,
                           "SELECT sum(pg_total_relation_size(c.oid))::text FROM pg_class c JOIN pg_namespace n ON n.oid = "
                           "c.relnamespace WHERE n.nspname = 'control' AND c.relkind = 'r'",
                           0, NULL, &size, g->err, sizeof g->err))
    goto out;
  long long bytes = size ? atoll(size) : 0;
  free(size);
  printf("{\"bench\":\"control_size\",\"bytes\":%lld,\"mb\":%.1f,\"schema\":\"control: tables, their indexes and TOAST, "
         "every tenant of the stack\"}\n",
         bytes, (double)bytes / 1048576.0);
  rc = 0;
out:
  /* Rows with no log behind them would make `fofal verify control` differ from a rebuild. */
  if (g->pg && !keep_rows && clear_tenant(g) && !rc) rc = 1;
  if (rc) fprintf(stderr, "fofal-bench-control: %s\n", g->err);
  fofal_pg_close(g->pg);
  free(g->orders);
  fofal_settings_free(settings, NSET);
  return rc;
}
