/*
 * rebuild.c — fofal rebuild and fofal verify: a read model rebuilt beside the live one
 * and swapped in without downtime (DESIGN.md guarantee 8), and the proof of guarantee 5
 * (the live read model equals a fresh rebuild). Contracts in projections.h.
 *
 * The shadow. A projector of its own ("<name>@rebuild" / "<name>@verify", shadow = 1)
 * projects the module's topic into a schema of its own (<s>__rebuild / <s>__verify, made
 * with LIKE … INCLUDING ALL from the live tables) and a Redis prefix of its own, up to the
 * high watermarks read at the start. It runs on its own connections and never takes the
 * live projector's advisory lock, whose name differs.
 *
 * The swap. Positions in fofal_meta.projector_offsets are the truth, and every batch of
 * the live projector takes pg_advisory_xact_lock('fofal-projector:<name>') and re-reads
 * them (projector.c). We take that lock in a transaction of our own: the live projector
 * stops between two batches. Under it we bring the shadow exactly to the live positions
 * (having first waited for the live projector to pass the shadow's, so that the live one
 * has published every WebSocket push up to there), rename the schemas, write the shadow's
 * positions as the live projector's, set its Redis applied offsets, move the Redis
 * generation, and COMMIT. Queries keep running: a schema rename takes no lock on the
 * tables, and readers resolve "production.orders" to whichever schema is called so when
 * their statement starts. The live projector's next batch finds its positions moved,
 * reloads (reading the generation again) and goes on from the shadow's positions.
 *
 * Failure. Until COMMIT nothing live has changed; a failed or interrupted run removes its
 * shadow, and one killed with SIGKILL leaves it for the next run, which drops leftovers
 * first. A kill between setting the Redis generation and COMMIT (a few microseconds) leaves
 * the views of the new generation at the shadow's positions while the live projector
 * goes on writing the old one until it restarts (then it re-derives the difference); the
 * next rebuild repairs it too. Rebuilds and verifies of one module are serialised by a
 * session advisory lock.
 *
 * Threads: the caller's; the shadow projector runs on it too.
 */
#include "projections.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARTS 1024
#define STALL_US (5 * 1000000LL)       /* the live projector counts as stopped after this */
#define REDIS_SETTLE_US (30 * 1000000LL)

typedef struct {
  const fofal_rebuild_opts_t *o;
  const fofal_projection_def_t *def;
  const char *verb;             /* "rebuild" or "verify" */
  int owner;                    /* this projection owns the module's Redis views */
  char topic[96];
  char live[64], shadow[80], old[80];
  char shadow_name[96];
  char gen_key[96], live_prefix[160], prefix[160];
  long long gen;
  int nparts;
  int64_t *hw, *shadow_pos, *live_pos, *target;
  fofal_pg_t *pg;               /* control connection: holds the module lock */
  fofal_pg_t *tx;               /* the swap/compare transaction: holds the live projector's lock */
  fofal_redis_t *redis;
  fofal_kafka_t *kafka;
  int64_t t0, pass_t0;
  long long applied;            /* by finished shadow passes */
  long long batches, replayed;  /* the shadow's transactions, and those replayed event by event */
  long long pass_offsets;       /* offsets this pass covers, fixed when it starts */
  double project_s;             /* time the shadow spent projecting */
  int gen_moved;                /* the gen key was set to gen+1 */
  char err[512];
} job_t;

static int stopped(const job_t *j) { return fofal_stopped(j->o->stop); }

static void report(job_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(job_t *j, const char *fmt, ...) {
  if (!j->o->report) return;
  char line[512];
  int n = snprintf(line, sizeof line, "%s %s: ", j->verb, j->def->name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  j->o->report(j->o->report_opaque, line);
}

/* 1234567 → "1,234,567" */
static void thousands(long long v, char out[32]) {
  char raw[32];
  int n = snprintf(raw, sizeof raw, "%lld", v < 0 ? -v : v), o = 0;
  if (v < 0) out[o++] = '-';
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) out[o++] = ',';
    out[o++] = raw[i];
  }
  out[o] = '\0';
}

/* Our identifiers go into SQL text: only plain lower-case names, short enough for the
 * __rebuild/__verify suffix within PostgreSQL's 63 bytes. */
static int plain_ident(const char *s) {
  if (!s || !*s || strlen(s) > 48 || !(islower((unsigned char)*s) || *s == '_')) return 0;
  for (; *s; s++)
    if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_')) return 0;
  return 1;
}

/* --------------------------------------------------------------- positions */

typedef struct {
  int64_t *pos;
  int n;
} pos_t;

static void on_pos(void *opaque, int ncols, const char *const *v) {
  pos_t *p = opaque;
  (void)ncols;
  int part = atoi(v[0]);
  if (part >= 0 && part < p->n) p->pos[part] = atoll(v[1]);
}

static int read_positions(job_t *j, fofal_pg_t *pg, const char *projector, int64_t *out) {
  pos_t p = {out, j->nparts};
  for (int i = 0; i < j->nparts; i++) out[i] = 0;
  const char *params[] = {projector, j->topic};
  return fofal_pg_query(pg, "SELECT partition, next_offset FROM fofal_meta.projector_offsets "
                            "WHERE projector = $1 AND topic = $2",
                        2, params, on_pos, &p, j->err, sizeof j->err);
}

static int read_watermarks(job_t *j, int64_t *out) {
  for (int i = 0; i < j->nparts; i++) {
    int64_t lo;
    int rc = fofal_kafka_watermarks(j->kafka, j->topic, i, &lo, &out[i], 10000, j->err, sizeof j->err);
    if (rc) return rc;
  }
  return 0;
}

static long long sum_gap(const job_t *j, const int64_t *hi, const int64_t *lo) {
  long long s = 0;
  for (int i = 0; i < j->nparts; i++)
    if (hi[i] > lo[i]) s += hi[i] - lo[i];
  return s;
}

/* ------------------------------------------------------------------ Redis */

static int redis_set(job_t *j, const char *key, const char *value) {
  const char *argv[] = {"SET", key, value};
  return fofal_redis_cmd(j->redis, 3, argv, j->err, sizeof j->err);
}

static int read_gen(job_t *j) {
  const char *setnx[] = {"SET", j->gen_key, "1", "NX"};
  char *v = NULL;
  int rc = fofal_redis_cmd(j->redis, 4, setnx, j->err, sizeof j->err);
  if (!rc) rc = fofal_redis_get(j->redis, j->gen_key, &v, j->err, sizeof j->err);
  if (!rc) {
    char *end = NULL;
    j->gen = v ? strtoll(v, &end, 10) : -1;
    if (!v || *end || j->gen < 1)
      rc = fofal_err(j->err, sizeof j->err, FOFAL_EREDIS, "%s holds \"%s\", not a generation number", j->gen_key,
                     v ? v : "(nothing)");
  }
  free(v);
  snprintf(j->live_prefix, sizeof j->live_prefix, "fofal:%s:g%lld:", j->def->module, j->gen);
  return rc;
}

typedef struct {
  job_t *j;
  size_t plen;
  fofal_map_t *doomed;
} gens_t;

/* Keys of a generation other than the live one: leftovers of killed rebuilds. */
static int collect_other_gen(void *opaque, const char *key) {
  gens_t *g = opaque;
  const char *p = key + g->plen;
  char *end;
  long long gen = strtoll(p, &end, 10);
  if (end == p || *end != ':' || gen == g->j->gen) return 0;
  char prefix[192];
  snprintf(prefix, sizeof prefix, "%.*s", (int)(end + 1 - key), key);
  if (!fofal_map_get(g->doomed, prefix)) fofal_map_put(g->doomed, prefix, (void *)1);
  return 0;
}

typedef struct {
  job_t *j;
  int rc;
  long long deleted;
} del_t;

static void del_each(void *opaque, const char *prefix, void *value) {
  del_t *d = opaque;
  (void)value;
  long long n = 0;
  if (!d->rc) d->rc = fofal_redis_del_prefix(d->j->redis, prefix, &n, d->j->err, sizeof d->j->err);
  d->deleted += n;
}

static int drop_other_generations(job_t *j) {
  char glob[128];
  gens_t g = {j, 0, fofal_map_new(NULL)};
  snprintf(glob, sizeof glob, "fofal:%s:g[0-9]*", j->def->module);
  g.plen = strlen(j->def->module) + 8; /* "fofal:" + module + ":g" */
  int rc = fofal_redis_scan(j->redis, glob, collect_other_gen, &g, j->err, sizeof j->err);
  del_t d = {j, rc, 0};
  if (!rc) fofal_map_each(g.doomed, del_each, &d);
  if (!d.rc && d.deleted) report(j, "removed %lld Redis keys of earlier generations", d.deleted);
  fofal_map_free(g.doomed);
  return d.rc;
}

static void applied_key(char *out, size_t len, const char *prefix, const char *projector, int part) {
  snprintf(out, len, "%sapplied:%s:%d", prefix, projector, part);
}

/* Raises the applied offsets of `to_name` under to_prefix to those of `from_name` under
 * from_prefix (never lowers one: a live projector may be moving it at the same time). */
static int copy_applied(job_t *j, const char *from_prefix, const char *from_name, const char *to_prefix,
                        const char *to_name) {
  static const char raise_lua[] = "local v = redis.call('GET', KEYS[1]) if v and tonumber(v) > "
                                  "tonumber(redis.call('GET', KEYS[2]) or '-1') then redis.call('SET', KEYS[2], v) end";
  int rc = 0;
  for (int i = 0; i < j->nparts && !rc; i++) {
    char from[256], to[256];
    applied_key(from, sizeof from, from_prefix, from_name, i);
    applied_key(to, sizeof to, to_prefix, to_name, i);
    const char *argv[] = {"EVAL", raise_lua, "2", from, to};
    rc = fofal_redis_cmd(j->redis, 5, argv, j->err, sizeof j->err);
  }
  return rc;
}

static int del_applied(job_t *j, const char *prefix, const char *projector) {
  int rc = 0;
  for (int i = 0; i < j->nparts && !rc; i++) {
    char key[256];
    applied_key(key, sizeof key, prefix, projector, i);
    const char *argv[] = {"UNLINK", key};
    rc = fofal_redis_cmd(j->redis, 2, argv, j->err, sizeof j->err);
  }
  return rc;
}

/* -------------------------------------------------------------- schemas */

typedef struct {
  char **v;
  int n;
} lines_t;

static void on_line(void *opaque, int ncols, const char *const *v) {
  lines_t *l = opaque;
  (void)ncols;
  l->v = fofal_realloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
  l->v[l->n++] = fofal_strdup(v[0] ? v[0] : "");
}

static void lines_free(lines_t *l) {
  for (int i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

/* Runs a query whose first column is SQL text, then each of those statements, each of
 * which must contain `must` (a guard against a statement aimed at the live schema). */
static int exec_generated(job_t *j, const char *sql, int nparams, const char *const *params, const char *must) {
  lines_t l = {0};
  int rc = fofal_pg_query(j->pg, sql, nparams, params, on_line, &l, j->err, sizeof j->err);
  for (int i = 0; i < l.n && !rc; i++) {
    if (!strstr(l.v[i], must))
      rc = fofal_err(j->err, sizeof j->err, FOFAL_EINVAL, "refusing a generated statement that is not about %s: %s",
                     j->shadow, l.v[i]);
    else
      rc = fofal_pg_exec(j->pg, l.v[i], j->err, sizeof j->err);
  }
  lines_free(&l);
  return rc;
}

static int check_live(job_t *j) {
  char *v = NULL;
  const char *p1[] = {j->live};
  int rc = fofal_pg_query_value(j->pg,
                                "SELECT CASE WHEN pg_get_userbyid(nspowner) = current_user THEN '' "
                                "ELSE pg_get_userbyid(nspowner) END FROM pg_namespace WHERE nspname = $1",
                                1, p1, &v, j->err, sizeof j->err);
  if (rc) return rc;
  if (!v) return fofal_err(j->err, sizeof j->err, FOFAL_ENOENT, "schema %s does not exist (run fofal migrate)", j->live);
  if (*v) {
    rc = fofal_err(j->err, sizeof j->err, FOFAL_EFORBIDDEN,
                   "schema %s belongs to %s: run this as that user, who owns what the projector writes", j->live, v);
    free(v);
    return rc;
  }
  free(v);
  /* Everything of the schema goes away with it in the swap: refuse if it holds more than
   * what the shadow rebuilds. */
  char list[1024] = "{";
  for (int i = 0; j->def->tables[i]; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "", j->def->tables[i]);
  strncat(list, "}", sizeof list - strlen(list) - 1);
  const char *p2[] = {j->live, list};
  lines_t l = {0};
  rc = fofal_pg_query(j->pg,
                      "SELECT c.relname || ' (relkind ' || c.relkind::text || ')' FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                      "AND c.relkind IN ('r','p','v','m','f','S','c') AND NOT (c.relname = ANY($2::text[])) "
                      "UNION ALL SELECT 'missing table ' || t FROM unnest($2::text[]) t WHERE to_regclass(quote_ident($1) "
                      "|| '.' || quote_ident(t)) IS NULL "
                      "UNION ALL SELECT 'trigger ' || tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT tg.tgisinternal "
                      "UNION ALL SELECT 'foreign key ' || co.conname FROM pg_constraint co JOIN pg_class c ON c.oid IN "
                      "(co.conrelid, co.confrelid) JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                      "AND co.contype = 'f'",
                      2, p2, on_line, &l, j->err, sizeof j->err);
  if (!rc && l.n)
    rc = fofal_err(j->err, sizeof j->err, FOFAL_ECONFIG,
                   "schema %s does not match projection %s (%s%s): a %s would lose or break it; list every table "
                   "in the projection's `tables`",
                   j->live, j->def->name, l.v[0], l.n > 1 ? ", …" : "", j->verb);
  lines_free(&l);
  if (rc) return rc;
  for (int i = 0; fofal_projections[i]; i++)
    if (fofal_projections[i] != j->def && !strcmp(fofal_projections[i]->pg_schema, j->def->pg_schema))
      return fofal_err(j->err, sizeof j->err, FOFAL_ECONFIG,
                       "projections %s and %s both write schema %s: a %s of one would drop the other's rows",
                       j->def->name, fofal_projections[i]->name, j->live, j->verb);
  return 0;
}

static int create_shadow(job_t *j) {
  char sql[1024];
  int rc;
  snprintf(sql, sizeof sql, "BEGIN; CREATE SCHEMA \"%s\"", j->shadow);
  if ((rc = fofal_pg_exec(j->pg, sql, j->err, sizeof j->err))) goto out;
  char must[96];
  snprintf(must, sizeof must, " %s.", j->shadow);
  for (int i = 0; j->def->tables[i]; i++) {
    const char *t = j->def->tables[i];
    /* Indexes and the constraints they back are made apart, under the live names: a later
     * migration may well name them. */
    snprintf(sql, sizeof sql, "CREATE TABLE \"%s\".\"%s\" (LIKE \"%s\".\"%s\" INCLUDING ALL EXCLUDING INDEXES)", j->shadow, t,
             j->live, t);
    if ((rc = fofal_pg_exec(j->pg, sql, j->err, sizeof j->err))) goto out;
    const char *p[] = {j->live, t, j->shadow};
    if ((rc = exec_generated(j,
                             "SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', $3::text, c.relname, co.conname, "
                             "pg_get_constraintdef(co.oid)) FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 "
                             "AND co.contype IN ('p', 'u', 'x') ORDER BY co.contype, co.conname",
                             3, p, must)) ||
        (rc = exec_generated(j,
                             "SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident($1) || '.' || "
                             "quote_ident($2) || ' USING ', ' ON ' || quote_ident($3) || '.' || quote_ident($2) || ' USING ') "
                             "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = "
                             "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND NOT EXISTS (SELECT 1 FROM "
                             "pg_constraint co WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid)",
                             3, p, must)))
      goto out;
    /* Row-level security, its policies, and the table's grants, as on the live table. */
    if ((rc = exec_generated(j,
                             "SELECT format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', $3::text, c.relname) "
                             "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = $1 AND c.relname = $2 AND c.relrowsecurity "
                             "UNION ALL SELECT format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', $3::text, c.relname) "
                             "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = $1 AND c.relname = $2 AND c.relforcerowsecurity",
                             3, p, must)) ||
        (rc = exec_generated(j,
                             "SELECT format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s%s%s', policyname, $3::text, "
                             "tablename, permissive, cmd, (SELECT string_agg(CASE WHEN r = 'public' THEN 'PUBLIC' "
                             "ELSE quote_ident(r) END, ', ') FROM unnest(roles) r), "
                             "CASE WHEN qual IS NOT NULL THEN ' USING (' || qual || ')' ELSE '' END, "
                             "CASE WHEN with_check IS NOT NULL THEN ' WITH CHECK (' || with_check || ')' ELSE '' END) "
                             "FROM pg_policies WHERE schemaname = $1 AND tablename = $2",
                             3, p, must)) ||
        (rc = exec_generated(j,
                             "SELECT format('GRANT %s ON TABLE %I.%I TO %s%s', a.privilege_type, $3::text, c.relname, "
                             "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
                             "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
                             "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
                             "WHERE n.nspname = $1 AND c.relname = $2 AND a.grantee <> c.relowner",
                             3, p, must)))
      goto out;
  }
  const char *p[] = {j->live, j->shadow};
  if ((rc = exec_generated(j,
                           "SELECT format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type, $2::text, "
                           "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
                           "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
                           "FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = $1 AND a.grantee <> n.nspowner",
                           2, p, j->shadow)))
    goto out;
  rc = fofal_pg_exec(j->pg, "COMMIT", j->err, sizeof j->err);
out:
  if (rc) fofal_pg_exec(j->pg, "ROLLBACK", NULL, 0);
  return rc;
}

/* Removes the shadow: schema, positions, Redis keys. Also what a killed run left. */
static int drop_shadow(job_t *j) {
  char sql[256];
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", j->shadow);
  const char *p[] = {j->shadow_name};
  int rc = fofal_pg_exec(j->pg, sql, j->err, sizeof j->err);
  if (!rc)
    rc = fofal_pg_execp(j->pg, "DELETE FROM fofal_meta.projector_offsets WHERE projector = $1", 1, p, j->err,
                        sizeof j->err);
  if (!rc && !j->gen_moved) rc = fofal_redis_del_prefix(j->redis, j->prefix, NULL, j->err, sizeof j->err);
  return rc;
}

/* ------------------------------------------------------------ the shadow */

/* Progress in offsets, whose total is known when the pass starts and does not move: a
 * topic written in transactions holds a commit marker after each of them, which takes an
 * offset and is no event, so a count of events is known only at the end. */
static void on_progress(void *opaque, long long applied, long long remaining) {
  job_t *j = opaque;
  long long done = j->pass_offsets - remaining;
  if (done < 0) done = 0;
  double secs = (double)(fofal_mono_us() - j->pass_t0) / 1e6;
  double rate = secs > 0 ? (double)applied / secs : 0, orate = secs > 0 ? (double)done / secs : 0;
  char e[32], a[32], t[32], r[32], eta[48];
  thousands(j->applied + applied, e);
  thousands(done, a);
  thousands(j->pass_offsets, t);
  thousands((long long)rate, r);
  if (!remaining) snprintf(eta, sizeof eta, "done");
  else if (orate < 1) snprintf(eta, sizeof eta, "ETA ?");
  else snprintf(eta, sizeof eta, "ETA %.0f s", (double)remaining / orate + 0.5);
  report(j, "%s events applied; offsets %s/%s (%.0f%%), %s ev/s, %s", e, a, t,
         j->pass_offsets ? 100.0 * (double)done / (double)j->pass_offsets : 100.0, r, eta);
}

/* Projects as the shadow until every partition reaches stop_at. */
static int run_shadow(job_t *j, const int64_t *stop_at) {
  fofal_projector_t *p = NULL;
  fofal_projector_opts_t po = {.brokers = j->o->brokers, .pg_dsn = j->o->pg_dsn, .redis_addr = j->o->redis_addr,
                               .def = j->def, .name = j->shadow_name, .pg_schema = j->shadow, .redis_prefix = j->prefix,
                               .max_batch = j->o->max_batch, .shadow = 1, .stop_at = stop_at, .stop = j->o->stop,
                               .progress = on_progress, .progress_opaque = j};
  j->pass_t0 = fofal_mono_us();
  j->pass_offsets = sum_gap(j, stop_at, j->shadow_pos);
  int rc = fofal_projector_new(&p, &po, j->err, sizeof j->err);
  if (!rc) rc = fofal_projector_run(p, j->err, sizeof j->err);
  fofal_projector_stats_t st = {0};
  if (p) fofal_projector_stats(p, &st);
  long long n = st.events;
  j->batches += st.batches;
  j->replayed += st.replayed;
  double secs = (double)(fofal_mono_us() - j->pass_t0) / 1e6;
  j->applied += n;
  j->project_s += secs;
  fofal_projector_free(p);
  if (!rc && !stopped(j)) {
    char a[32], r[32];
    thousands(n, a);
    thousands(secs > 0 ? (long long)((double)n / secs) : 0, r);
    report(j, "the shadow applied %s events in %.1f s (%s ev/s) in %lld batches, %lld replayed event by event", a,
           secs, r, st.batches, st.replayed);
  }
  if (!rc && stopped(j)) rc = fofal_err(j->err, sizeof j->err, FOFAL_EABORT, "interrupted");
  return rc;
}

/* Waits until the live positions reach the shadow's: while the live projector moves, at
 * most wait_s. 0 when reached, 1 when not (stalled or timed out), or an error. */
static int wait_for_live(job_t *j) {
  int64_t start = fofal_mono_us(), moved = start, last_report = 0;
  int64_t *prev = fofal_calloc((size_t)j->nparts, sizeof *prev);
  int rc, wait_s = j->o->wait_s > 0 ? j->o->wait_s : 60;
  for (int first = 1;; first = 0) {
    if ((rc = read_positions(j, j->pg, j->def->name, j->live_pos))) break;
    long long behind = sum_gap(j, j->shadow_pos, j->live_pos);
    if (!behind) break;
    if (!first && memcmp(prev, j->live_pos, (size_t)j->nparts * sizeof *prev)) moved = fofal_mono_us();
    memcpy(prev, j->live_pos, (size_t)j->nparts * sizeof *prev);
    int64_t now = fofal_mono_us();
    if (now - moved > STALL_US || now - start > wait_s * 1000000LL) {
      char b[32];
      thousands(behind, b);
      report(j, "the live projector %s is %s events behind the shadow and %s", j->def->name, b,
             now - moved > STALL_US ? "does not move (is fofal-projector running?)" : "did not catch up in time");
      rc = 1;
      break;
    }
    if (now - last_report >= 1000000) {
      char b[32];
      thousands(behind, b);
      report(j, "waiting for the live projector to reach the shadow: %s events behind", b);
      last_report = now;
    }
    if (stopped(j)) {
      rc = fofal_err(j->err, sizeof j->err, FOFAL_EABORT, "interrupted");
      break;
    }
    usleep(100 * 1000);
  }
  free(prev);
  return rc;
}

/* Opens the transaction that holds the live projector's lock. From here until COMMIT or
 * ROLLBACK the live projector waits between two batches. */
static int lock_live(job_t *j) {
  char lock[160];
  snprintf(lock, sizeof lock, "fofal-projector:%s", j->def->name);
  const char *p[] = {lock};
  int rc = fofal_pg_connect(&j->tx, j->o->pg_dsn, j->err, sizeof j->err);
  if (!rc) rc = fofal_pg_exec(j->tx, "BEGIN; SET LOCAL lock_timeout = '60s'", j->err, sizeof j->err);
  if (!rc) rc = fofal_pg_execp(j->tx, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p, j->err, sizeof j->err);
  return rc;
}

/* Under the live lock: brings the shadow to max(shadow, live) per partition. */
static int catch_up(job_t *j) {
  int rc = read_positions(j, j->tx, j->def->name, j->live_pos);
  if (rc) return rc;
  int more = 0;
  for (int i = 0; i < j->nparts; i++) {
    j->target[i] = j->live_pos[i] > j->shadow_pos[i] ? j->live_pos[i] : j->shadow_pos[i];
    if (j->target[i] > j->shadow_pos[i]) more = 1;
  }
  if (more) {
    char n[32];
    thousands(sum_gap(j, j->target, j->shadow_pos), n);
    report(j, "live projector paused; catching the shadow up to its positions (%s offsets ahead)", n);
    if ((rc = run_shadow(j, j->target))) return rc;
  }
  return read_positions(j, j->tx, j->shadow_name, j->shadow_pos);
}

/* ----------------------------------------------------------------- common */

static int job_open(job_t *j, const fofal_rebuild_opts_t *o, const char *verb, char *errbuf, size_t errlen) {
  const fofal_projection_def_t *d = o->def;
  memset(j, 0, sizeof *j);
  j->o = o;
  j->def = d;
  j->verb = verb;
  j->t0 = fofal_mono_us();
  j->owner = !strcmp(d->name, d->module);
  if (!plain_ident(d->pg_schema) || !d->tables || !d->tables[0])
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "projection %s: schema or tables not set", d->name);
  for (int i = 0; d->tables[i]; i++)
    if (!plain_ident(d->tables[i]))
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "projection %s: table name \"%s\" is not a plain identifier",
                       d->name, d->tables[i]);
  if (fofal_topic_events(d->module, j->topic, sizeof j->topic))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "projection %s: unknown module %s", d->name, d->module);
  snprintf(j->live, sizeof j->live, "%s", d->pg_schema);
  snprintf(j->shadow, sizeof j->shadow, "%s__%s", d->pg_schema, verb);
  snprintf(j->old, sizeof j->old, "%s__old", d->pg_schema);
  snprintf(j->shadow_name, sizeof j->shadow_name, "%s@%s", d->name, verb);
  snprintf(j->gen_key, sizeof j->gen_key, "fofal:%s:gen", d->module);
  int rc;
  fofal_kafka_opts_t ko = {.brokers = o->brokers, .client_id = "fofal-cli-rebuild", .read_committed = 1};
  if ((rc = fofal_pg_connect(&j->pg, o->pg_dsn, j->err, sizeof j->err)) ||
      (rc = fofal_redis_connect(&j->redis, o->redis_addr, j->err, sizeof j->err)) ||
      (rc = fofal_kafka_consumer_new(&j->kafka, &ko, j->err, sizeof j->err)))
    return fofal_err(errbuf, errlen, rc, "%s", j->err);
  j->nparts = fofal_kafka_partition_count(j->kafka, j->topic, 10000, j->err, sizeof j->err);
  if (j->nparts < 0) return fofal_err(errbuf, errlen, j->nparts, "%s", j->err);
  if (j->nparts > MAX_PARTS)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s has %d partitions, more than %d", j->topic, j->nparts, MAX_PARTS);
  size_t n = (size_t)j->nparts;
  j->hw = fofal_calloc(n, sizeof *j->hw);
  j->shadow_pos = fofal_calloc(n, sizeof *j->shadow_pos);
  j->live_pos = fofal_calloc(n, sizeof *j->live_pos);
  j->target = fofal_calloc(n, sizeof *j->target);
  /* One rebuild or verify per module at a time; held until our connection closes, so a
   * killed run releases it. */
  char lock[160], *got = NULL;
  snprintf(lock, sizeof lock, "fofal-rebuild:%s", d->module);
  const char *p[] = {lock};
  if ((rc = fofal_pg_query_value(j->pg, "SELECT pg_try_advisory_lock(hashtext($1))", 1, p, &got, j->err, sizeof j->err)))
    return fofal_err(errbuf, errlen, rc, "%s", j->err);
  int mine = got && !strcmp(got, "t");
  free(got);
  if (!mine)
    return fofal_err(errbuf, errlen, FOFAL_EEXIST, "another rebuild or verify of module %s is running", d->module);
  if ((rc = read_gen(j)) || (rc = check_live(j))) return fofal_err(errbuf, errlen, rc, "%s", j->err);
  if (j->owner && !strcmp(verb, "rebuild"))
    snprintf(j->prefix, sizeof j->prefix, "fofal:%s:g%lld:", d->module, j->gen + 1);
  else
    snprintf(j->prefix, sizeof j->prefix, "fofal:%s:%s:%s:", d->module, verb, d->name);
  return 0;
}

static void job_close(job_t *j) {
  if (j->tx) fofal_pg_exec(j->tx, "ROLLBACK", NULL, 0);
  fofal_pg_close(j->tx);
  fofal_pg_close(j->pg);
  fofal_redis_close(j->redis);
  fofal_kafka_free(j->kafka);
  free(j->hw);
  free(j->shadow_pos);
  free(j->live_pos);
  free(j->target);
}

/* Drops leftovers, creates the shadow and projects it up to the high watermarks. */
static int build_shadow(job_t *j) {
  int rc;
  report(j, "creating %s from %s (projector %s)", j->shadow, j->live, j->shadow_name);
  if ((rc = drop_shadow(j)) || (rc = create_shadow(j)) || (rc = read_watermarks(j, j->hw))) return rc;
  char n[32];
  int64_t *zero = fofal_calloc((size_t)j->nparts, sizeof *zero);
  thousands(sum_gap(j, j->hw, zero), n);
  free(zero);
  report(j, "projecting %s up to its high watermarks (%s offsets)", j->topic, n);
  if ((rc = run_shadow(j, j->hw))) return rc;
  return read_positions(j, j->pg, j->shadow_name, j->shadow_pos);
}

/* ---------------------------------------------------------------- rebuild */

static int committed_anyway(job_t *j) {
  fofal_pg_t *pg = NULL;
  char *v = NULL, err[256];
  const char *p[] = {j->old, j->shadow};
  int rc = fofal_pg_connect(&pg, j->o->pg_dsn, err, sizeof err);
  if (!rc)
    rc = fofal_pg_query_value(pg, "SELECT to_regnamespace($1) IS NOT NULL AND to_regnamespace($2) IS NULL", 2, p, &v,
                              err, sizeof err);
  fofal_pg_close(pg);
  int out = rc ? -1 : (v && !strcmp(v, "t"));
  free(v);
  return out;
}

static int swap(job_t *j) {
  char sql[512], gen[24];
  const char *p[] = {j->def->name, j->topic, j->shadow_name}, *ps[] = {j->shadow_name, j->topic};
  int rc;
  snprintf(sql, sizeof sql, "ALTER SCHEMA \"%s\" RENAME TO \"%s\"; ALTER SCHEMA \"%s\" RENAME TO \"%s\"", j->live, j->old,
           j->shadow, j->live);
  if ((rc = fofal_pg_exec(j->tx, sql, j->err, sizeof j->err)) ||
      (rc = fofal_pg_execp(j->tx, "DELETE FROM fofal_meta.projector_offsets WHERE projector = $1 AND topic = $2", 2, p,
                           j->err, sizeof j->err)) ||
      (rc = fofal_pg_execp(j->tx,
                           "INSERT INTO fofal_meta.projector_offsets (projector, topic, partition, next_offset, "
                           "last_event_at, updated_at) SELECT $1::text, topic, partition, next_offset, last_event_at, now() "
                           "FROM fofal_meta.projector_offsets WHERE projector = $3 AND topic = $2",
                           3, p, j->err, sizeof j->err)) ||
      (rc = fofal_pg_execp(j->tx, "DELETE FROM fofal_meta.projector_offsets WHERE projector = $1 AND topic = $2", 2,
                           ps, j->err, sizeof j->err)))
    return rc;
  /* Redis, for the owner of the views: the new generation gets the live projector's
   * applied offsets (the shadow's, where the live projector reads them after reloading) and
   * those of the module's other projections; then the generation moves. Nobody reads the
   * new generation before that, so a failure up to here changes nothing live. */
  if (j->owner) {
    if ((rc = copy_applied(j, j->prefix, j->shadow_name, j->prefix, j->def->name))) return rc;
    for (int i = 0; fofal_projections[i] && !rc; i++)
      if (fofal_projections[i] != j->def && !strcmp(fofal_projections[i]->module, j->def->module))
        rc = copy_applied(j, j->live_prefix, fofal_projections[i]->name, j->prefix, fofal_projections[i]->name);
    if (rc) return rc;
    snprintf(gen, sizeof gen, "%lld", j->gen + 1);
    if ((rc = redis_set(j, j->gen_key, gen))) return rc;
    j->gen_moved = 1;
  }
  rc = fofal_pg_exec(j->tx, "COMMIT", j->err, sizeof j->err);
  if (rc) {
    int done = committed_anyway(j);
    if (done == 1) {
      rc = 0;
    } else if (done == 0 && j->gen_moved) {
      snprintf(gen, sizeof gen, "%lld", j->gen);
      char keep[512];
      snprintf(keep, sizeof keep, "%s", j->err);
      if (!redis_set(j, j->gen_key, gen)) j->gen_moved = 0;
      snprintf(j->err, sizeof j->err, "%s", keep);
    } else if (done < 0) {
      char keep[400];
      snprintf(keep, sizeof keep, "%s", j->err);
      fofal_err(j->err, sizeof j->err, rc,
                "%s; cannot tell whether the swap committed (schema %s exists if it did): check, then run the rebuild "
                "again",
                keep, j->old);
      j->gen_moved = 1; /* do not touch the new generation's keys */
    }
  }
  fofal_pg_close(j->tx);
  j->tx = NULL;
  /* A projection without views of its own: its applied offsets live in the current
   * generation. Raised after COMMIT, so a failed swap leaves them alone; if this step
   * fails, the live projector merely re-reads (without applying) the events in between. */
  if (!rc && !j->owner && copy_applied(j, j->prefix, j->shadow_name, j->live_prefix, j->def->name))
    report(j, "warning: could not move the Redis applied offsets (%s): the live projector will re-read some events",
           j->err);
  return rc;
}

int fofal_rebuild_run(const fofal_rebuild_opts_t *o, fofal_rebuild_result_t *res, char *errbuf, size_t errlen) {
  job_t j;
  int rc = job_open(&j, o, "rebuild", errbuf, errlen);
  memset(res, 0, sizeof *res);
  if (rc) goto out;
  char sql[256];
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", j.old);
  if ((rc = fofal_pg_exec(j.pg, sql, j.err, sizeof j.err))) goto fail;
  if (j.owner && (rc = drop_other_generations(&j))) goto fail;
  if ((rc = build_shadow(&j))) goto fail;
  if ((rc = wait_for_live(&j)) < 0) goto fail;
  report(&j, "swapping: taking the live projector's lock");
  if ((rc = lock_live(&j)) || (rc = catch_up(&j)) || (rc = swap(&j))) goto fail;
  res->gen = j.gen_moved ? j.gen + 1 : j.gen;
  report(&j, "swapped in: %s is the rebuilt model%s", j.live,
         j.owner ? "; the Redis generation moved" : "");
  /* The old model is no longer visible: failures from here on are leftovers for the next run. */
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", j.old);
  long long gone = 0;
  if (fofal_pg_exec(j.pg, sql, j.err, sizeof j.err) ||
      (j.owner ? fofal_redis_del_prefix(j.redis, j.live_prefix, &gone, j.err, sizeof j.err) ||
                     del_applied(&j, j.prefix, j.shadow_name)
               : fofal_redis_del_prefix(j.redis, j.prefix, &gone, j.err, sizeof j.err)))
    report(&j, "warning: cleaning up after the swap failed (%s); the next rebuild removes the rest", j.err);
  else
    report(&j, "dropped %s%s", j.old, j.owner ? " and the old generation's Redis keys" : "");
  goto out;
fail:
  if (j.tx) {
    fofal_pg_exec(j.tx, "ROLLBACK", NULL, 0);
    fofal_pg_close(j.tx);
    j.tx = NULL;
  }
  {
    char keep[512];
    snprintf(keep, sizeof keep, "%s", j.err);
    int crc = drop_shadow(&j);
    if (crc) report(&j, "warning: could not remove the shadow (%s); the next run does", j.err);
    rc = fofal_err(errbuf, errlen, rc, "%s", keep);
  }
out:
  res->events = j.applied;
  res->batches = j.batches;
  res->replayed = j.replayed;
  res->seconds = (double)(fofal_mono_us() - j.t0) / 1e6;
  res->events_per_s = j.project_s > 0 ? (double)j.applied / j.project_s : 0;
  job_close(&j);
  return rc;
}

/* ----------------------------------------------------------------- verify */

typedef struct {
  long long rows;
  char md5[40];
} sum_t;

static void on_sum(void *opaque, int ncols, const char *const *v) {
  sum_t *s = opaque;
  (void)ncols;
  s->rows = atoll(v[0]);
  snprintf(s->md5, sizeof s->md5, "%s", v[1] ? v[1] : "");
}

static int table_sum(job_t *j, const char *schema, const char *table, const char *order, sum_t *out) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT count(*), coalesce(md5(string_agg(md5(t::text), ',' ORDER BY %s)), md5('')) FROM \"%s\".\"%s\" t",
           order, schema, table);
  return fofal_pg_query(j->tx, sql, 0, NULL, on_sum, out, j->err, sizeof j->err);
}

/* ---- Redis views: an order-independent digest of every key under a prefix */

static uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

static uint64_t hash_parts(int n, const char *const *parts) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < n; i++) {
    for (const char *p = parts[i]; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL; /* separator */
  }
  return mix(h);
}

typedef struct {
  job_t *j;
  size_t plen;
  fofal_map_t *keys;
} keys_t;

/* 1 if rest ("applied:<projector>:<partition>") is a projector's applied offset. */
static int is_applied_key(const char *rest) {
  if (strncmp(rest, "applied:", 8)) return 0;
  const char *name = rest + 8, *colon = strrchr(name, ':');
  if (!colon || !colon[1]) return 0;
  for (const char *d = colon + 1; *d; d++)
    if (!isdigit((unsigned char)*d)) return 0;
  size_t n = (size_t)(colon - name);
  if (memchr(name, '@', n)) return 1;
  for (int i = 0; fofal_projections[i]; i++)
    if (strlen(fofal_projections[i]->name) == n && !strncmp(fofal_projections[i]->name, name, n)) return 1;
  return 0;
}

static int collect_key(void *opaque, const char *key) {
  keys_t *k = opaque;
  if (!is_applied_key(key + k->plen) && !fofal_map_get(k->keys, key)) fofal_map_put(k->keys, key, (void *)1);
  return 0;
}

typedef struct {
  uint64_t sum;
  long long keys;
} class_sum_t;

typedef struct {
  job_t *j;
  size_t plen;
  fofal_map_t *classes; /* class → class_sum_t */
  int rc;
} digest_t;

/* The kind of view a key is: "<tenant>:<kind>:…" after the prefix (production.c's layout). */
static void key_class(const char *rel, char out[64]) {
  const char *a = strchr(rel, ':'), *b = a ? strchr(a + 1, ':') : NULL;
  if (a && b && b - a - 1 > 0 && b - a - 1 < 64) snprintf(out, 64, "%.*s", (int)(b - a - 1), a + 1);
  else snprintf(out, 64, "other");
}

static void digest_key(void *opaque, const char *key, void *value) {
  digest_t *d = opaque;
  (void)value;
  if (d->rc) return;
  char **type = NULL, **v = NULL, cls[64];
  size_t nt = 0, n = 0;
  uint64_t sum = 0;
  const char *rel = key + d->plen;
  const char *ta[] = {"TYPE", key};
  if ((d->rc = fofal_redis_query(d->j->redis, 2, ta, &type, &nt, d->j->err, sizeof d->j->err))) return;
  const char *t = nt ? type[0] : "none";
  const char *argv[5] = {NULL, key, "0", "-1", "WITHSCORES"};
  int argc = 2, pairs = 0, indexed = 0;
  if (!strcmp(t, "string")) argv[0] = "GET";
  else if (!strcmp(t, "hash")) argv[0] = "HGETALL", pairs = 1;
  else if (!strcmp(t, "set")) argv[0] = "SMEMBERS";
  else if (!strcmp(t, "zset")) argv[0] = "ZRANGE", argc = 5, pairs = 1;
  else if (!strcmp(t, "list")) argv[0] = "LRANGE", argc = 4, indexed = 1;
  if (argv[0]) d->rc = fofal_redis_query(d->j->redis, argc, argv, &v, &n, d->j->err, sizeof d->j->err);
  if (!d->rc) {
    if (!argv[0] || n == 0) {
      const char *parts[] = {rel, t};
      sum += hash_parts(2, parts);
    }
    for (size_t i = 0; i < n; i += pairs ? 2 : 1) {
      char idx[24];
      snprintf(idx, sizeof idx, "%zu", i);
      const char *parts[] = {rel, t, indexed ? idx : v[i], pairs && i + 1 < n ? v[i + 1] : (indexed ? v[i] : "")};
      sum += hash_parts(4, parts);
    }
    key_class(rel, cls);
    class_sum_t *c = fofal_map_get(d->classes, cls);
    if (!c) {
      c = fofal_calloc(1, sizeof *c);
      fofal_map_put(d->classes, cls, c);
    }
    c->sum += sum;
    c->keys++;
  }
  fofal_redis_strings_free(type);
  fofal_redis_strings_free(v);
}

/* Per kind of view under prefix (applied offsets aside): an order-independent digest of
 * every key with its content, and the number of keys. A new map class → class_sum_t. */
static int redis_digest(job_t *j, const char *prefix, fofal_map_t **out) {
  char *glob = fofal_asprintf("%s*", prefix); /* our prefixes hold no glob characters */
  keys_t k = {j, strlen(prefix), fofal_map_new(NULL)};
  int rc = fofal_redis_scan(j->redis, glob, collect_key, &k, j->err, sizeof j->err);
  digest_t d = {j, strlen(prefix), fofal_map_new(free), rc};
  if (!rc) fofal_map_each(k.keys, digest_key, &d);
  fofal_map_free(k.keys);
  free(glob);
  *out = d.classes;
  return d.rc;
}

typedef struct {
  char **names;
  int n;
} names_t;

static void add_name(void *opaque, const char *key, void *value) {
  names_t *nm = opaque;
  (void)value;
  for (int i = 0; i < nm->n; i++)
    if (!strcmp(nm->names[i], key)) return;
  nm->names = fofal_realloc(nm->names, (size_t)(nm->n + 1) * sizeof *nm->names);
  nm->names[nm->n++] = fofal_strdup(key);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The live projector writes Redis after its PostgreSQL commit: wait until it has done so
 * for every event up to the positions we hold it at. */
static int wait_live_redis(job_t *j) {
  int64_t deadline = fofal_mono_us() + REDIS_SETTLE_US;
  for (;;) {
    int behind = 0, rc;
    for (int i = 0; i < j->nparts && !behind; i++) {
      if (!j->live_pos[i]) continue;
      char key[256], *v = NULL;
      applied_key(key, sizeof key, j->live_prefix, j->def->name, i);
      if ((rc = fofal_redis_get(j->redis, key, &v, j->err, sizeof j->err))) return rc;
      if (!v || atoll(v) < j->live_pos[i] - 1) behind = 1;
      free(v);
    }
    if (!behind) return 0;
    if (fofal_mono_us() > deadline)
      return fofal_err(j->err, sizeof j->err, FOFAL_ETIMEDOUT,
                       "the live projector's Redis offsets did not reach its PostgreSQL positions within %lld s",
                       REDIS_SETTLE_US / 1000000);
    usleep(50 * 1000);
  }
}

static int compare(job_t *j, fofal_verify_item_t **items, int *n) {
  int rc = 0, ntab = 0;
  while (j->def->tables[ntab]) ntab++;
  *items = fofal_calloc((size_t)ntab + 1, sizeof **items);
  *n = 0;
  for (int i = 0; i < ntab && !rc; i++) {
    const char *t = j->def->tables[i];
    char reg[160], *order = NULL;
    snprintf(reg, sizeof reg, "\"%s\".\"%s\"", j->live, t);
    const char *p[] = {reg};
    rc = fofal_pg_query_value(j->tx,
                              "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey::int2[], "
                              "a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                              "a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
                              1, p, &order, j->err, sizeof j->err);
    sum_t live = {0}, shadow = {0};
    if (!rc) rc = table_sum(j, j->live, t, order ? order : "t::text", &live);
    if (!rc) rc = table_sum(j, j->shadow, t, order ? order : "t::text", &shadow);
    free(order);
    if (rc) break;
    fofal_verify_item_t *it = &(*items)[(*n)++];
    snprintf(it->name, sizeof it->name, "%s", t);
    snprintf(it->live, sizeof it->live, "%s", live.md5);
    snprintf(it->rebuilt, sizeof it->rebuilt, "%s", shadow.md5);
    it->live_rows = live.rows;
    it->rebuilt_rows = shadow.rows;
    it->equal = live.rows == shadow.rows && !strcmp(live.md5, shadow.md5);
  }
  if (!rc && j->owner && j->o->compare_redis) {
    fofal_map_t *live = NULL, *shadow = NULL;
    names_t nm = {0};
    if (!(rc = wait_live_redis(j)) && !(rc = redis_digest(j, j->live_prefix, &live)) &&
        !(rc = redis_digest(j, j->prefix, &shadow))) {
      fofal_map_each(live, add_name, &nm);
      fofal_map_each(shadow, add_name, &nm);
      qsort(nm.names, (size_t)nm.n, sizeof *nm.names, cmp_str);
      *items = fofal_realloc(*items, (size_t)(*n + nm.n + 1) * sizeof **items);
      for (int i = 0; i < nm.n; i++) {
        class_sum_t none = {0}, *a = fofal_map_get(live, nm.names[i]), *b = fofal_map_get(shadow, nm.names[i]);
        if (!a) a = &none;
        if (!b) b = &none;
        fofal_verify_item_t *it = &(*items)[(*n)++];
        memset(it, 0, sizeof *it);
        snprintf(it->name, sizeof it->name, "redis:%s", nm.names[i]);
        snprintf(it->live, sizeof it->live, "%016llx", (unsigned long long)a->sum);
        snprintf(it->rebuilt, sizeof it->rebuilt, "%016llx", (unsigned long long)b->sum);
        it->live_rows = a->keys;
        it->rebuilt_rows = b->keys;
        it->equal = a->keys == b->keys && a->sum == b->sum;
      }
    }
    for (int i = 0; i < nm.n; i++) free(nm.names[i]);
    free(nm.names);
    fofal_map_free(live);
    fofal_map_free(shadow);
  }
  return rc;
}

int fofal_verify_run(const fofal_rebuild_opts_t *o, fofal_verify_item_t **items, int *n, char *errbuf, size_t errlen) {
  job_t j;
  *items = NULL;
  *n = 0;
  int rc = job_open(&j, o, "verify", errbuf, errlen);
  if (rc) goto out;
  if ((rc = build_shadow(&j))) goto fail;
  if ((rc = wait_for_live(&j)) < 0) goto fail;
  if (rc == 1) {
    long long behind = sum_gap(&j, j.shadow_pos, j.live_pos);
    rc = fofal_err(j.err, sizeof j.err, FOFAL_ETIMEDOUT,
                   "the live projector %s stayed %lld events behind the log: nothing to compare yet", j.def->name, behind);
    goto fail;
  }
  report(&j, "comparing: taking the live projector's lock");
  if ((rc = lock_live(&j)) || (rc = catch_up(&j))) goto fail;
  for (int i = 0; i < j.nparts; i++)
    if (j.shadow_pos[i] != j.live_pos[i]) {
      rc = fofal_err(j.err, sizeof j.err, FOFAL_EINVAL,
                     "partition %d: the shadow stopped at %lld, the live projector is at %lld", i,
                     (long long)j.shadow_pos[i], (long long)j.live_pos[i]);
      goto fail;
    }
  if ((rc = compare(&j, items, n))) goto fail;
  fofal_pg_exec(j.tx, "ROLLBACK", NULL, 0);
  if ((rc = drop_shadow(&j))) {
    rc = fofal_err(errbuf, errlen, rc, "removing the shadow: %s", j.err);
    goto out;
  }
  goto out;
fail : {
  char keep[512];
  snprintf(keep, sizeof keep, "%s", j.err);
  if (j.tx) fofal_pg_exec(j.tx, "ROLLBACK", NULL, 0);
  if (drop_shadow(&j)) report(&j, "warning: could not remove the shadow (%s); the next run does", j.err);
  rc = fofal_err(errbuf, errlen, rc, "%s", keep);
  free(*items);
  *items = NULL;
  *n = 0;
}
out:
  job_close(&j);
  return rc;
}
