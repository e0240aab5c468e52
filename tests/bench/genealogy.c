/*
 * genealogy.c — fofal-bench-genealogy: generates a year of a weaving mill's stores into the
 * inventory read model and times the genealogy reads both ways on it (issue 14).
 *
 * How the model is filled: the events are made here (CloudEvents envelopes with the data
 * the deciders of commands/inventory/ write) and handed to the inventory projection's own
 * apply functions (fofal_projection_find("inventory"), projections/inventory/), inside
 * PostgreSQL transactions of BATCH events in pipeline mode, as the projector does — but
 * without Kafka: the read model is what a projector would have made of that log, and the
 * log itself is not kept. One tenant (TENANT), whose rows are deleted first.
 *
 * The mill: LOOMS looms over DAYS days. Every loom gets a new warp beam every 7 days,
 * warped from 2 yarn lots received into the yarn store just before (lot_received and
 * issued whole to the beam: lot_issued, with their stock_changed). Each roll woven
 * (unit_received, carrying its beam) is moved to the finished-goods store (unit_moved,
 * stock_changed); every 4 rolls there make a carton (carton_packed, 4 unit_packed),
 * every 10 cartons a pallet (pallet_built, 10 carton_palletised). About 4.5 events a
 * roll: the rolls a loom weaves a day are set so that the whole log has EVENTS events
 * (10 million by default; a real mill's 10-20 rolls a loom-day give a few hundred
 * thousand, so the default is a mill weaving far more, or ten years of one).
 *
 * Then QUERIES genealogy reads each way, the very statements GET /api/v1/inventory/
 * genealogy/{id} runs (fofal__inventory_genealogy_sql, api/inventory/stores_api.c): down
 * from random pallets, cartons and rolls (a third each), up from random yarn lots. They
 * run as the connection's role (the owner: row-level security is not in the way, unlike
 * the API's fofal_reader), one at a time, timed from send to the last row.
 *
 * Output, one JSON line each on stdout:
 *   {"bench":"genealogy_gen",...}    what was generated and how fast
 *   {"bench":"genealogy","direction":"down"|"up","queries","p50_ms","p99_ms","max_ms","mean_units"}
 *   {"bench":"genealogy_size",...}   the inventory schema's size on disk (tables + indexes)
 * Exit 0, 1 on a failure (reason on stderr), 2 on a usage error.
 */
#include "commands.h"
#include "events.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char *const fofal__inventory_genealogy_sql[2];

static char *dsn, *tenant, *log_level;
static long long n_events, n_looms, n_days, n_queries, batch, seed, keep_rows;

static fofal_setting_t settings[] = {
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal_owner dbname=fofal", 0, 0,
     "PostgreSQL of the stack (a role that may write the inventory schema).", &dsn},
    {"EVENTS", FOFAL_SET_INT, "10000000", 1000, 1000000000, "Events of the generated log (about).", &n_events},
    {"LOOMS", FOFAL_SET_INT, "24", 1, 1000, "Looms of the mill.", &n_looms},
    {"DAYS", FOFAL_SET_INT, "365", 7, 3650, "Days of the generated period.", &n_days},
    {"QUERIES", FOFAL_SET_INT, "1000", 1, 1000000, "Genealogy reads each way.", &n_queries},
    {"BATCH", FOFAL_SET_INT, "5000", 1, 1000000, "Events per PostgreSQL transaction.", &batch},
    {"SEED", FOFAL_SET_INT, "14", 0, 2147483647, "Seed of the query picks.", &seed},
    {"KEEP", FOFAL_SET_INT, "0", 0, 1, "1: leave the generated rows (for a look); 0: delete them at the end.", &keep_rows},
    {"TENANT", FOFAL_SET_STR, "bench-genealogy", 0, 0, "The tenant the mill is generated for.", &tenant},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

#define ROLLS_PER_CARTON 4
#define CARTONS_PER_PALLET 10
#define LOTS_PER_BEAM 2
#define BEAM_DAYS 7

typedef struct {
  fofal_pg_t *pg;
  const fofal_projection_def_t *def;
  fofal_apply_ctx_t ctx;
  long long events, in_batch, seq;
  int64_t t0; /* when the generation began (fofal_mono_us) */
  char err[512];
  /* What the queries pick from. */
  char (*pallets)[FOFAL_UUID_LEN + 1], (*cartons)[FOFAL_UUID_LEN + 1], (*rolls)[FOFAL_UUID_LEN + 1];
  long long npallets, ncartons, nrolls, cap_p, cap_c, cap_r, nlots, nbeams;
} gen_t;

static int flush(gen_t *g, int last) {
  if (fofal_pg_pipeline_end(g->pg, g->err, sizeof g->err) || fofal_pg_exec(g->pg, "COMMIT", g->err, sizeof g->err)) return 1;
  g->in_batch = 0;
  if (last) return 0;
  return fofal_pg_exec(g->pg, "BEGIN", g->err, sizeof g->err) || fofal_pg_pipeline_begin(g->pg, g->err, sizeof g->err);
}

/* One event (data stolen) through the projection's apply function of its type. */
static int emit(gen_t *g, const char *name, const char *subject, int64_t at_us, json_t *data) {
  char type[96], id[FOFAL_UUID_LEN + 1], pos[64];
  snprintf(type, sizeof type, "fofal.inventory.%s.v1", name);
  fofal_uuid7(id);
  fofal_event_t ev = {.id = id, .source = "/fofal/inventory", .type = type, .subject = (char *)subject, .time_us = at_us,
                      .tenant = tenant, .seq = ++g->seq, .actor = "u:bench/storekeeper_pf", .data = data};
  snprintf(pos, sizeof pos, "inventory:0:%lld", g->events);
  g->ctx.position = pos;
  int rc = -1;
  for (int i = 0; i < g->def->napplies; i++)
    if (!strcmp(g->def->applies[i].type, type)) rc = g->def->applies[i].apply(&g->ctx, &ev);
  json_decref(data);
  if (rc) {
    if (rc == -1) snprintf(g->err, sizeof g->err, "the inventory projection has no apply function for %s", type);
    return 1;
  }
  g->events++;
  /* A progress line on stderr at every tenth of the log (10 M events take minutes). */
  if (n_events >= 100000 && g->events % (n_events / 10) == 0) {
    fprintf(stderr, "fofal-bench-genealogy: %lld of about %lld events generated (%.0f s)\n", g->events, n_events,
            (double)(fofal_mono_us() - g->t0) / 1e6);
    fflush(stderr);
  }
  if (++g->in_batch >= batch) return flush(g, 0);
  return 0;
}

static int stock(gen_t *g, const char *loc_id, const char *loc, const char *holding, const char *hid, const char *kind,
                 const char *item, json_int_t delta, json_int_t on_hand, const char *cause, int64_t at_us) {
  char at[32];
  fofal_time_format(at_us, at);
  return emit(g, "stock_changed", loc_id, at_us,
              json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "location", loc, "holding", holding, "holding_id", hid,
                        "kind", kind, "item", item, "delta", delta, "on_hand", on_hand, "cause", cause, "occurred_at", at));
}

static void keep(char (**arr)[FOFAL_UUID_LEN + 1], long long *n, long long *cap, const char *id) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 1024;
    *arr = realloc(*arr, (size_t)*cap * sizeof **arr);
    if (!*arr) abort();
  }
  memcpy((*arr)[(*n)++], id, FOFAL_UUID_LEN + 1);
}

/* An SSCC-18 of serial n (GS1 company prefix 0312345; the check digit computed). */
static void sscc_of(long long n, char out[19]) {
  snprintf(out, 19, "0031234567%07lld", n % 10000000);
  int sum = 0;
  for (int i = 0; i < 17; i++) sum += (out[i] - '0') * (i % 2 == 0 ? 3 : 1);
  out[17] = (char)('0' + (10 - sum % 10) % 10);
  out[18] = '\0';
}

static int generate(gen_t *g) {
  char mp[FOFAL_UUID_LEN + 1], pf[FOFAL_UUID_LEN + 1], order[FOFAL_UUID_LEN + 1], at[32];
  fofal_aggregate_ref(tenant, "location", "MP-A", mp);
  fofal_aggregate_ref(tenant, "location", "PF-1", pf);
  fofal_uuid7(order);
  const int64_t day_us = 86400LL * 1000000, t0 = fofal_now_us() - n_days * day_us;
  long long beams = n_looms * ((n_days + BEAM_DAYS - 1) / BEAM_DAYS);
  double per_roll = 4.0 + 2.0 / ROLLS_PER_CARTON + 1.0 / (ROLLS_PER_CARTON * CARTONS_PER_PALLET);
  long long rolls = (long long)((double)(n_events - 2 - beams * LOTS_PER_BEAM * 4) / per_roll);
  if (rolls < n_looms * n_days) rolls = n_looms * n_days; /* at least a roll a loom-day */
  long long per_loom_day = rolls / (n_looms * n_days), extra = rolls % (n_looms * n_days);
  if (emit(g, "location_defined", mp, t0, json_pack("{s:s,s:s,s:s}", "location", "MP-A", "kind", "raw", "name", "Yarn")) ||
      emit(g, "location_defined", pf, t0, json_pack("{s:s,s:s,s:s}", "location", "PF-1", "kind", "finished", "name", "FG")))
    return 1;
  char pending[ROLLS_PER_CARTON][FOFAL_UUID_LEN + 1], cartons[CARTONS_PER_PALLET][FOFAL_UUID_LEN + 1];
  int npend = 0, ncart = 0;
  json_int_t pf_on_hand = 0;
  long long roll_no = 0, pallet_no = 0;
  char **beam_of = calloc((size_t)n_looms, sizeof *beam_of);
  for (long long d = 0; d < n_days; d++) {
    for (long long l = 0; l < n_looms; l++) {
      int64_t t = t0 + d * day_us + l * (day_us / n_looms / 2);
      char loom[16], beam[48];
      snprintf(loom, sizeof loom, "L%02lld", l + 1);
      if (d % BEAM_DAYS == 0) { /* a new beam, warped from lots received just before */
        snprintf(beam, sizeof beam, "BM-%s-%03lld", loom, d / BEAM_DAYS + 1);
        free(beam_of[l]);
        beam_of[l] = strdup(beam);
        g->nbeams++;
        for (int k = 0; k < LOTS_PER_BEAM; k++) {
          char lot[48], sup[48], lid[FOFAL_UUID_LEN + 1];
          snprintf(lot, sizeof lot, "YL-%06lld", ++g->nlots);
          snprintf(sup, sizeof sup, "SUP-%06lld", g->nlots * 7 + 3);
          fofal_aggregate_ref(tenant, "yarnlot", lot, lid);
          fofal_time_format(t, at);
          json_int_t grams = 150000 + (g->nlots % 7) * 10000;
          if (emit(g, "lot_received", lid, t,
                   json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s}", "lot", lot, "item", "YRN-NE20-WHT", "supplier_lot", sup,
                             "weight_g", grams, "cones", 100, "location", "MP-A", "occurred_at", at)) ||
              stock(g, mp, "MP-A", lot, lid, "lot", "YRN-NE20-WHT", grams, grams, "received", t) ||
              emit(g, "lot_issued", lid, t + 1000,
                   json_pack("{s:s,s:s,s:I,s:s,s:s,s:i,s:i,s:s}", "lot", lot, "item", "YRN-NE20-WHT", "weight_g", grams,
                             "beam", beam_of[l], "location", "MP-A", "remaining_g", 0, "reserved_g", 0, "occurred_at", at)) ||
              stock(g, mp, "MP-A", lot, lid, "lot", "YRN-NE20-WHT", -grams, 0, "issued", t + 1000))
            return 1;
        }
      }
      long long today = per_loom_day + (d * n_looms + l < extra ? 1 : 0);
      for (long long r = 0; r < today; r++) {
        char label[FOFAL_UUID_LEN + 1], shift[32];
        int64_t tr = t + 2000 + r * (day_us / 2 / (today + 1));
        fofal_uuid7(label);
        fofal_time_format(tr, at);
        snprintf(shift, sizeof shift, "%.10s/%c", at, "ABC"[r * 3 / (today + 1)]);
        roll_no++;
        if (emit(g, "unit_received", label, tr,
                 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,s:[{s:s,s:f}]}", "label_id", label, "order_id", order,
                           "article", "FT-100x200", "loom", loom, "weaver", "W-BENCH", "shift", shift, "quantity", 1,
                           "length_m", 40.0, "woven_at", at, "beams", "beam", beam_of[l], "meters", 40.0)) ||
            emit(g, "unit_moved", label, tr + 1000,
                 json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "label_id", label, "from", "loom", "to", "PF-1", "quantity", 1,
                           "article", "FT-100x200", "occurred_at", at)) ||
            stock(g, pf, "PF-1", label, label, "unit", "FT-100x200", 1, 1, "moved_in", tr + 1000))
          return 1;
        pf_on_hand++;
        if (roll_no % 97 == 0) keep(&g->rolls, &g->nrolls, &g->cap_r, label);
        memcpy(pending[npend++], label, sizeof pending[0]);
        if (npend < ROLLS_PER_CARTON) continue;
        char carton[FOFAL_UUID_LEN + 1];
        fofal_uuid7(carton);
        json_t *units = json_array();
        for (int k = 0; k < npend; k++) json_array_append_new(units, json_string(pending[k]));
        if (emit(g, "carton_packed", carton, tr + 2000,
                 json_pack("{s:s,s:o,s:s,s:i,s:s}", "carton_id", carton, "units", units, "location", "PF-1", "pieces", npend,
                           "occurred_at", at)))
          return 1;
        for (int k = 0; k < npend; k++)
          if (emit(g, "unit_packed", pending[k], tr + 2000,
                   json_pack("{s:s,s:s,s:s}", "label_id", pending[k], "carton_id", carton, "occurred_at", at)))
            return 1;
        npend = 0;
        keep(&g->cartons, &g->ncartons, &g->cap_c, carton);
        memcpy(cartons[ncart++], carton, sizeof cartons[0]);
        if (ncart < CARTONS_PER_PALLET) continue;
        char pallet[FOFAL_UUID_LEN + 1], sscc[19];
        fofal_uuid7(pallet);
        sscc_of(++pallet_no, sscc);
        json_t *cs = json_array();
        for (int k = 0; k < ncart; k++) json_array_append_new(cs, json_string(cartons[k]));
        if (emit(g, "pallet_built", pallet, tr + 3000,
                 json_pack("{s:s,s:s,s:o,s:s,s:i,s:s}", "pallet_id", pallet, "sscc", sscc, "cartons", cs, "location", "PF-1",
                           "pieces", ncart * ROLLS_PER_CARTON, "occurred_at", at)))
          return 1;
        for (int k = 0; k < ncart; k++)
          if (emit(g, "carton_palletised", cartons[k], tr + 3000,
                   json_pack("{s:s,s:s,s:s}", "carton_id", cartons[k], "pallet_id", pallet, "occurred_at", at)))
            return 1;
        ncart = 0;
        keep(&g->pallets, &g->npallets, &g->cap_p, pallet);
      }
    }
  }
  for (long long l = 0; l < n_looms; l++) free(beam_of[l]);
  free(beam_of);
  (void)pf_on_hand;
  return 0;
}

/* Deletes the bench tenant's rows from every table of the inventory projection. */
static int clear_tenant(gen_t *g) {
  for (int i = 0; g->def->tables[i]; i++) {
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM inventory.%s WHERE tenant = $1", g->def->tables[i]);
    const char *p[] = {tenant};
    if (fofal_pg_execp(g->pg, sql, 1, p, g->err, sizeof g->err)) return 1;
  }
  return 0;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

typedef struct {
  long long units;
} count_t;

static void count_units(void *opaque, int ncols, const char *const *values) {
  count_t *c = opaque;
  json_t *j = ncols > 0 && values[0] ? json_loads(values[0], 0, NULL) : NULL;
  c->units += (long long)json_array_size(json_object_get(j, "units"));
  json_decref(j);
}

static unsigned long long rng;
static long long pick(long long n) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (long long)((rng >> 33) % (unsigned long long)n);
}

/* QUERIES reads one way; its JSON line. */
static int measure(gen_t *g, int up) {
  long long *us = calloc((size_t)n_queries, sizeof *us);
  count_t c = {0};
  for (long long q = 0; q < n_queries; q++) {
    char key[64];
    if (up) {
      snprintf(key, sizeof key, "YL-%06lld", pick(g->nlots) + 1);
    } else {
      long long w = q % 3;
      if (w == 0 && g->npallets) memcpy(key, g->pallets[pick(g->npallets)], FOFAL_UUID_LEN + 1);
      else if (w == 1 && g->ncartons) memcpy(key, g->cartons[pick(g->ncartons)], FOFAL_UUID_LEN + 1);
      else if (g->nrolls) memcpy(key, g->rolls[pick(g->nrolls)], FOFAL_UUID_LEN + 1);
      else snprintf(key, sizeof key, "%s", g->cartons[pick(g->ncartons)]);
    }
    const char *params[] = {tenant, key};
    int64_t t = fofal_mono_us();
    if (fofal_pg_query(g->pg, fofal__inventory_genealogy_sql[up], 2, params, count_units, &c, g->err, sizeof g->err)) {
      free(us);
      return 1;
    }
    us[q] = fofal_mono_us() - t;
  }
  qsort(us, (size_t)n_queries, sizeof *us, cmp_ll);
  printf("{\"bench\":\"genealogy\",\"direction\":\"%s\",\"queries\":%lld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
         "\"mean_units\":%.1f,\"of\":\"%s\"}\n",
         up ? "up" : "down", n_queries, us[n_queries / 2] / 1000.0, us[(n_queries * 99) / 100] / 1000.0,
         us[n_queries - 1] / 1000.0, (double)c.units / (double)n_queries,
         up ? "random yarn lots" : "random pallets, cartons and rolls, a third each");
  fflush(stdout);
  free(us);
  return 0;
}

int main(int argc, char **argv) {
  static gen_t gen;
  gen_t *g = &gen;
  int lrc = fofal_settings_load(settings, NSET, argc, argv,
                                "usage: fofal-bench-genealogy [--config STACK_ENV] [--events=N] [--option=value ...]\n\n"
                                "Generates a mill's yarn lots, beams, rolls, cartons and pallets (about EVENTS inventory\n"
                                "events) into the inventory read model through the projection's own apply functions,\n"
                                "then times QUERIES genealogy reads each way (the API's statements). Prints\n"
                                "{\"bench\":\"genealogy_gen\"|\"genealogy\"|\"genealogy_size\",...} lines.",
                                g->err, sizeof g->err);
  if (lrc == 1) return 0;
  if (lrc) {
    fprintf(stderr, "fofal-bench-genealogy: %s\n", g->err);
    fofal_settings_free(settings, NSET);
    return 2;
  }
  fofal_log_init("fofal-bench-genealogy", log_level);
  rng = (unsigned long long)seed;
  int rc = 1;
  if (!(g->def = fofal_projection_find("inventory"))) {
    snprintf(g->err, sizeof g->err, "no inventory projection in this build");
    goto out;
  }
  if (fofal_pg_connect(&g->pg, dsn, g->err, sizeof g->err)) goto out;
  if (clear_tenant(g)) goto out; /* this tenant starts empty */
  g->ctx = (fofal_apply_ctx_t){.pg = g->pg, .pg_schema = "inventory", .redis_prefix = "fofal:inventory:bench:",
                               .errbuf = g->err, .errlen = sizeof g->err};
  int64_t t0 = g->t0 = fofal_mono_us();
  if (fofal_pg_exec(g->pg, "BEGIN", g->err, sizeof g->err) || fofal_pg_pipeline_begin(g->pg, g->err, sizeof g->err) ||
      generate(g) || flush(g, 1))
    goto out;
  double secs = (double)(fofal_mono_us() - t0) / 1e6;
  printf("{\"bench\":\"genealogy_gen\",\"events\":%lld,\"looms\":%lld,\"days\":%lld,\"lots\":%lld,\"beams\":%lld,"
         "\"pallets\":%lld,\"cartons\":%lld,\"seconds\":%.3f,\"events_per_s\":%.1f,\"via\":\"the inventory projection's "
         "apply functions, straight into PostgreSQL (no Kafka)\"}\n",
         g->events, n_looms, n_days, g->nlots, g->nbeams, g->npallets, g->ncartons, secs, (double)g->events / secs);
  fflush(stdout);
  if (fofal_pg_exec(g->pg, "ANALYZE inventory.units; ANALYZE inventory.cartons; ANALYZE inventory.pallets; ANALYZE "
                           "inventory.lots; ANALYZE inventory.lot_issues",
                    g->err, sizeof g->err))
    goto out;
  if (!g->npallets || !g->nlots) {
    snprintf(g->err, sizeof g->err, "too few events for a pallet: raise --events");
    goto out;
  }
  /* The reads run as fofal-api's read connections run them: without JIT (api/pgpool.c). */
  if (fofal_pg_exec(g->pg, "SET jit = off", g->err, sizeof g->err) || measure(g, 0) || measure(g, 1)) goto out;
  char *size = NULL;
  if (fofal_pg_query_value(g->pg,
                           "SELECT sum(pg_total_relation_size(c.oid))::text || ' ' || (SELECT count(*) FROM inventory.units) "
                           "|| ' ' || (SELECT count(*) FROM inventory.movements) FROM pg_class c JOIN pg_namespace n ON n.oid "
                           "= c.relnamespace WHERE n.nspname = 'inventory' AND c.relkind = 'r'",
                           0, NULL, &size, g->err, sizeof g->err))
    goto out;
  long long bytes = 0, units = 0, moves = 0;
  if (!size || sscanf(size, "%lld %lld %lld", &bytes, &units, &moves) != 3) {
    snprintf(g->err, sizeof g->err, "no size of the inventory schema");
    free(size);
    goto out;
  }
  free(size);
  printf("{\"bench\":\"genealogy_size\",\"bytes\":%lld,\"mb\":%.1f,\"units\":%lld,\"movements\":%lld,\"schema\":"
         "\"inventory: tables, their indexes and TOAST, every tenant of the stack\"}\n",
         bytes, (double)bytes / 1048576.0, units, moves);
  rc = 0;
out:
  /* Rows with no log behind them would make `fofal verify inventory` differ from a rebuild
   * (the test stack's later tests run it): they go, unless KEEP says otherwise. */
  if (g->pg && !keep_rows && clear_tenant(g) && !rc) rc = 1;
  if (rc) fprintf(stderr, "fofal-bench-genealogy: %s\n", g->err);
  fofal_pg_close(g->pg);
  free(g->pallets);
  free(g->cartons);
  free(g->rolls);
  fofal_settings_free(settings, NSET);
  return rc;
}
