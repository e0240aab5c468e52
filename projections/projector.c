/*
 * projector.c — the projector framework: a module's events → PostgreSQL and Redis,
 * exactly once (DESIGN.md guarantee 5).
 *
 * Positions. The truth is PostgreSQL: fofal_meta.projector_offsets holds, per partition,
 * the next offset to apply, written in the same transaction as the rows derived from the
 * events before it. Redis keeps its own applied offset per partition, checked and moved
 * in the same Lua script as the commands (redis.c). On start the projector seeks each
 * partition to min(PostgreSQL position, Redis position) and applies each event only
 * where it is missing. Kafka's committed offsets are never used.
 *
 * Batches. A batch is what the consumer has at hand: after its first event it keeps
 * reading while events follow each other within FOFAL_BATCH_GAP_MS, for at most
 * FOFAL_BATCH_MAX_WAIT_MS, so that under load batches are large (one transaction for many
 * events) and a lone event (a breakdown) is not held back waiting for company.
 * Up to max_batch events are applied in one PostgreSQL transaction that first
 * takes the projector's advisory locks (lock_statement) and re-reads its positions: if
 * somebody else moved them (a rebuild swapping in its shadow), the batch is dropped and
 * the projector reloads. An event that cannot be applied (malformed, or refused by the
 * database) is recorded in fofal_meta.projection_errors and skipped, found by replaying
 * the failed batch one savepoint per event; the projector never stops on bad data.
 * The first pass queues the batch's statements, its positions and its COMMIT in a libpq
 * pipeline (one round trip); an
 * apply function that must read (a person's key, personal.c) makes a synchronous call,
 * which sends what was queued first (pg.c), so reads see the batch's earlier writes and
 * every event type takes the pipelined path. Counters of batches and of batches replayed
 * event by event are kept (fofal_projector_stats) and logged at stop.
 *
 * Outages. When PostgreSQL or Redis is unreachable the projector pauses: it retries with
 * backoff, then reloads its positions and goes on, with no gap and no duplicate.
 *
 * Workers. A projector may be one of `workers` side by side (opts.worker), each owning the
 * partitions p % workers == worker: its own consumer, connections, positions and
 * partition locks. A partition's events stay in order; partitions are independent (a
 * tenant's events are in one), so the workers together make what one would.
 *
 * Groups. With opts.group, a live projector takes its partitions from the consumer group
 * "fofal-projector.<name>": two or more processes then split each projection's partitions
 * between them instead of taking turns on all of them, and when one dies (or leaves) the
 * others get its partitions after the group's session timeout (10 s). The group only
 * hands out partitions: positions stay PostgreSQL's. On a change of assignment the batch at
 * hand is dropped, the lock statement is remade for the new partitions and the positions
 * are read again before anything is applied; a batch that a process still applies for a
 * partition it has just lost takes the partition's lock and checks its positions first, as
 * above, so the new owner and the old one never both apply an event.
 *
 * Round trips per batch: BEGIN with the locks, the positions, the Redis generation (live
 * projector), the pipeline, and one for Redis (every partition's script at once).
 *
 * Threads: one; the caller's.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARTS 1024

struct fofal_projector {
  fofal_projector_opts_t o;
  const char *schema;
  fofal_kafka_t *consumer;
  fofal_pg_t *pg;
  fofal_redis_t *redis;
  char topic[96], prefix[96], module_gen_key[96];
  int64_t gen;               /* the Redis generation `prefix` was made from (live projector) */
  int nparts;
  int64_t *pg_next, *redis_next, *last_in_batch;
  int64_t *last_event_us;
  fofal_rops_t **rops, *scratch;
  char (*rkeys)[160];         /* per batch: the applied keys, offsets and ops sent to Redis */
  const char **rkeyp;
  int64_t *roffs;
  fofal_rops_t **rsel;
  fofal_kmsg_t *batch;
  int nbatch;
  long long applied, batches, replayed, flushes_before; /* flushes of closed connections */
  char *lock_sql;              /* BEGIN and the batch's advisory locks (lock_statement) */
  unsigned char *mine;         /* with opts.group: the partitions the group gave this process */
  int reassigned;              /* with opts.group: the assignment changed; reload before applying */
  char errbuf[512];
};

long long fofal_projector_applied(const fofal_projector_t *p) { return p->applied; }

/* Is partition `part` this projector's? All are, unless it is one of several workers. */
static int owns(const fofal_projector_t *p, int part) {
  if (p->mine) return p->mine[part];
  return p->o.workers <= 1 || part % p->o.workers == p->o.worker;
}

void fofal_projector_stats(const fofal_projector_t *p, fofal_projector_stats_t *out) {
  *out = (fofal_projector_stats_t){.events = p->applied, .batches = p->batches, .replayed = p->replayed,
                                   .pipeline_flushes = p->flushes_before + fofal_pg_pipeline_flushes(p->pg)};
}

const char *fofal_ev_str(const json_t *data, const char *key) { return json_string_value(json_object_get(data, key)); }

const char *fofal_ev_num(const json_t *data, const char *key, char buf[40]) {
  const json_t *v = json_object_get(data, key);
  if (json_is_integer(v)) snprintf(buf, 40, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, 40, "%.10g", json_real_value(v));
  else return NULL;
  return buf;
}

char *fofal_ev_jtext(const json_t *data, const char *key) {
  const json_t *v = json_object_get(data, key);
  return v ? fofal_json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

void fofal_ev_meta(const fofal_event_t *ev, fofal_ev_meta_t *m) {
  snprintf(m->seq, sizeof m->seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, m->at);
}

int fofal_apply_sql(fofal_apply_ctx_t *ctx, const char *sql_fmt, int nparams, const char *const *params) {
  if (!ctx->pg) return 0;
  /* Every "%s" becomes the target schema ("%%" a percent sign), however many there are. */
  char sql[8192];
  size_t n = 0, sl = strlen(ctx->pg_schema);
  for (const char *c = sql_fmt; *c; c++) {
    if (c[0] == '%' && (c[1] == 's' || c[1] == '%')) {
      const char *add = c[1] == 's' ? ctx->pg_schema : "%";
      size_t al = c[1] == 's' ? sl : 1;
      if (n + al >= sizeof sql) return fofal_err(ctx->errbuf, ctx->errlen, FOFAL_EINVAL, "projection SQL too long");
      memcpy(sql + n, add, al);
      n += al;
      c++;
    } else {
      if (n + 1 >= sizeof sql) return fofal_err(ctx->errbuf, ctx->errlen, FOFAL_EINVAL, "projection SQL too long");
      sql[n++] = *c;
    }
  }
  sql[n] = '\0';
  return fofal_pg_execp(ctx->pg, sql, nparams, params, ctx->errbuf, ctx->errlen);
}

void fofal_apply_redis(fofal_apply_ctx_t *ctx, int argc, const char *const *argv) {
  if (ctx->rops) fofal_rops_add(ctx->rops, argc, argv);
}

void fofal_apply_push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *module) {
  if (!ctx->push) return;
  json_t *msg = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:O}", "tenant", ev->tenant, "module", module, "aggregate",
                          ev->subject, "type", ev->type, "seq", (json_int_t)ev->seq, "position", ctx->position, "data",
                          ev->data);
  char *s = fofal_json_dumps(msg, JSON_COMPACT);
  const char *argv[] = {"XADD", FOFAL_PUSH_STREAM, "MAXLEN", "~", "100000", "*", "m", s};
  fofal_apply_redis(ctx, 8, argv);
  free(s);
  json_decref(msg);
}

/* -------------------------------------------------------------- positions */

typedef struct {
  fofal_projector_t *p;
} load_t;

static void on_offset_row(void *opaque, int ncols, const char *const *v) {
  fofal_projector_t *p = opaque;
  (void)ncols;
  int part = atoi(v[0]);
  if (part >= 0 && part < p->nparts) p->pg_next[part] = atoll(v[1]);
}

static int read_pg_positions(fofal_projector_t *p, int64_t *out) {
  int64_t *save = p->pg_next;
  p->pg_next = out;
  for (int i = 0; i < p->nparts; i++) out[i] = 0;
  const char *params[] = {p->o.name, p->topic};
  int rc = fofal_pg_query(p->pg, "SELECT partition, next_offset FROM fofal_meta.projector_offsets "
                                 "WHERE projector = $1 AND topic = $2",
                          2, params, on_offset_row, p, p->errbuf, sizeof p->errbuf);
  p->pg_next = save;
  return rc;
}

static void applied_key(fofal_projector_t *p, int part, char *out, size_t outlen) {
  snprintf(out, outlen, "%sapplied:%s:%d", p->prefix, p->o.name, part);
}

/* Reads every position and seeks the consumer to the lower of PostgreSQL's and Redis'. */
static int load_positions(fofal_projector_t *p) {
  int rc;
  if (p->o.redis_prefix) {
    snprintf(p->prefix, sizeof p->prefix, "%s", p->o.redis_prefix);
  } else {
    /* The live generation of this module's Redis keys; a rebuild moves it. */
    const char *setnx[] = {"SET", p->module_gen_key, "1", "NX"};
    if ((rc = fofal_redis_cmd(p->redis, 4, setnx, p->errbuf, sizeof p->errbuf))) return rc;
    int64_t gen;
    if ((rc = fofal_redis_applied(p->redis, p->module_gen_key, &gen, p->errbuf, sizeof p->errbuf))) return rc;
    p->gen = gen;
    snprintf(p->prefix, sizeof p->prefix, "fofal:%s:g%lld:", p->o.def->module, (long long)gen);
  }
  if ((rc = read_pg_positions(p, p->pg_next))) return rc;
  int32_t *parts = fofal_calloc((size_t)p->nparts, sizeof *parts);
  int64_t *start = fofal_calloc((size_t)p->nparts, sizeof *start);
  int owned = 0;
  for (int i = 0; i < p->nparts && !rc; i++) {
    if (!owns(p, i)) continue;
    char key[160];
    int64_t applied;
    applied_key(p, i, key, sizeof key);
    rc = fofal_redis_applied(p->redis, key, &applied, p->errbuf, sizeof p->errbuf);
    p->redis_next[i] = applied + 1;
    parts[owned] = i;
    start[owned++] = p->pg_next[i] < p->redis_next[i] ? p->pg_next[i] : p->redis_next[i];
  }
  if (!rc) rc = fofal_kafka_assign(p->consumer, p->topic, parts, start, owned, p->errbuf, sizeof p->errbuf);
  free(parts);
  free(start);
  return rc;
}

/* ---------------------------------------------------------------- batches */

static int apply_event(fofal_projector_t *p, const fofal_kmsg_t *m, fofal_pg_t *pg) {
  fofal_event_t ev;
  char err[256], pos[96];
  int part = m->partition;
  int do_pg = pg && m->offset >= p->pg_next[part];
  int do_redis = m->offset >= p->redis_next[part];
  int rc = fofal_event_decode(&ev, m->value, m->len, err, sizeof err);
  if (rc) return fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_EPARSE, "undecodable event: %s", err);
  p->last_event_us[part] = ev.time_us;
  snprintf(pos, sizeof pos, "%s:%d:%lld", p->o.def->module, part, (long long)m->offset);
  fofal_apply_ctx_t ctx = {.pg = do_pg ? pg : NULL, .pg_schema = p->schema, .redis_prefix = p->prefix,
                           .rops = do_redis ? p->rops[part] : NULL, .push = !p->o.shadow, .position = pos,
                           .errbuf = p->errbuf, .errlen = sizeof p->errbuf};
  for (int i = 0; i < p->o.def->napplies; i++) {
    const char *t = p->o.def->applies[i].type;
    if (!strcmp(t, ev.type) || !strcmp(t, "*")) {
      rc = p->o.def->applies[i].apply(&ctx, &ev);
      break;
    }
  }
  /* An event type this projection does not know changes nothing here (forward compatible). */
  fofal_event_clear(&ev);
  return rc;
}

static int save_positions(fofal_projector_t *p) {
  for (int i = 0; i < p->nparts; i++) {
    if (p->last_in_batch[i] < p->pg_next[i]) continue;
    char part[16], next[24], at[40];
    snprintf(part, sizeof part, "%d", i);
    snprintf(next, sizeof next, "%lld", (long long)(p->last_in_batch[i] + 1));
    fofal_time_format(p->last_event_us[i], at);
    const char *params[] = {p->o.name, p->topic, part, next, p->last_event_us[i] ? at : NULL};
    int rc = fofal_pg_execp(p->pg,
                            "INSERT INTO fofal_meta.projector_offsets (projector, topic, partition, next_offset, "
                            "last_event_at, updated_at) VALUES ($1, $2, $3, $4, $5, now()) "
                            "ON CONFLICT (projector, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, "
                            "last_event_at = EXCLUDED.last_event_at, updated_at = now()",
                            5, params, p->errbuf, sizeof p->errbuf);
    if (rc) return rc;
  }
  return 0;
}

static int record_error(fofal_projector_t *p, const fofal_kmsg_t *m, const char *why) {
  char part[16], off[24];
  snprintf(part, sizeof part, "%d", m->partition);
  snprintf(off, sizeof off, "%lld", (long long)m->offset);
  const char *params[] = {p->o.name, p->topic, part, off, why};
  LOG_WARN("projector %s skips %s[%d]@%lld: %s", p->o.name, p->topic, m->partition, (long long)m->offset, why);
  return fofal_pg_execp(p->pg,
                        "INSERT INTO fofal_meta.projection_errors (projector, topic, partition, \"offset\", error) "
                        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        5, params, p->errbuf, sizeof p->errbuf);
}

/* Positions still ours? 1 yes, 0 moved by someone else, <0 error. Call inside the lock. */
static int positions_unchanged(fofal_projector_t *p) {
  int64_t *now = fofal_calloc((size_t)p->nparts, sizeof *now);
  int rc = read_pg_positions(p, now);
  if (!rc) {
    rc = 1;
    for (int i = 0; i < p->nparts; i++)
      if (owns(p, i) && now[i] != p->pg_next[i]) rc = 0;
  }
  free(now);
  return rc;
}

/* The module's Redis generation still the one our prefix was made from? 1 yes, 0 a rebuild
 * moved it, <0 error. A rebuild of a projector that was caught up leaves its positions as
 * they were, so this is what makes it reload its prefix. Call inside the lock (the
 * rebuild moves the generation before its COMMIT). */
static int generation_unchanged(fofal_projector_t *p) {
  if (p->o.redis_prefix) return 1;
  int64_t gen;
  int rc = fofal_redis_applied(p->redis, p->module_gen_key, &gen, p->errbuf, sizeof p->errbuf);
  return rc ? rc : gen == p->gen;
}

static void reset_batch_ops(fofal_projector_t *p) {
  for (int i = 0; i < p->nparts; i++) {
    fofal_rops_clear(p->rops[i]);
    p->last_in_batch[i] = -1;
  }
}

/* The statement that opens a batch: BEGIN, the projector's lock shared, then the lock of
 * each partition it owns, exclusive, in ascending order (one round trip). The workers of
 * one projector run side by side, and two processes that own a partition in common take
 * turns on it (each batch then re-reads its positions). A rebuild's swap or a verify takes
 * the projector's lock exclusive (rebuild.c): it waits for the batches under way and holds
 * every worker between two batches. Locks are taken in one order (the projector's first,
 * partitions ascending), so they cannot deadlock. */
static void lock_statement(fofal_projector_t *p) {
  char *sql = fofal_asprintf("BEGIN; SELECT pg_advisory_xact_lock_shared(hashtext('fofal-projector:%s'))", p->o.name);
  for (int i = 0; i < p->nparts; i++) {
    if (!owns(p, i)) continue;
    char *more = fofal_asprintf("%s; SELECT pg_advisory_xact_lock(hashtext('fofal-projector:%s:%d'))", sql, p->o.name, i);
    free(sql);
    sql = more;
  }
  p->lock_sql = sql;
}

/* Applies the gathered batch. 0, FOFAL_EAGAIN-like 1 (positions moved: reloaded), or an
 * outage error (FOFAL_EUNAVAIL) after which the caller reloads. */
static int run_batch(fofal_projector_t *p) {
  int rc;
  for (int careful = 0; careful < 2; careful++) {
    reset_batch_ops(p);
    if ((rc = fofal_pg_exec(p->pg, p->lock_sql, p->errbuf, sizeof p->errbuf))) goto fail;
    int same = positions_unchanged(p);
    if (same == 1) same = generation_unchanged(p);
    if (same < 0) {
      rc = same;
      goto fail;
    }
    if (!same) {
      fofal_pg_exec(p->pg, "ROLLBACK", NULL, 0);
      LOG_INFO("projector %s: positions or Redis generation were moved (a rebuild swapped in); reloading", p->o.name);
      return 1;
    }
    rc = careful ? 0 : fofal_pg_pipeline_begin(p->pg, p->errbuf, sizeof p->errbuf);
    if (rc) goto fail;
    for (int i = 0; i < p->nbatch && !rc; i++) {
      fofal_kmsg_t *m = &p->batch[i];
      if (careful) {
        /* One savepoint per event: a bad event is recorded and skipped, with its Redis ops. */
        fofal_rops_t *keep = p->rops[m->partition];
        p->rops[m->partition] = p->scratch;
        fofal_rops_clear(p->scratch);
        fofal_pg_exec(p->pg, "SAVEPOINT ev", NULL, 0);
        rc = apply_event(p, m, p->pg);
        p->rops[m->partition] = keep;
        if (!rc) {
          fofal_rops_append(keep, p->scratch);
        } else if (rc != FOFAL_EUNAVAIL) {
          char why[512];
          snprintf(why, sizeof why, "%s", p->errbuf);
          fofal_pg_exec(p->pg, "ROLLBACK TO SAVEPOINT ev", NULL, 0);
          rc = record_error(p, m, why);
        }
      } else {
        rc = apply_event(p, m, p->pg);
      }
      if (!rc && m->offset > p->last_in_batch[m->partition]) p->last_in_batch[m->partition] = m->offset;
    }
    /* The first pass queues its statements, the positions and the COMMIT in a pipeline:
     * one round trip for the batch (plus one per synchronous read an apply function makes,
     * see pg.c). After an error PostgreSQL skips the rest up to the pipeline's end, the
     * COMMIT included, so the batch commits whole or not at all. The first error is the
     * one to report: what the pipeline says after it is only its consequence. */
    if (!rc) rc = save_positions(p);
    if (!rc) rc = careful ? fofal_pg_exec(p->pg, "COMMIT", p->errbuf, sizeof p->errbuf)
                          : fofal_pg_execp(p->pg, "COMMIT", 0, NULL, p->errbuf, sizeof p->errbuf);
    if (!careful) {
      char later[256];
      int prc = rc ? fofal_pg_pipeline_end(p->pg, later, sizeof later)
                   : fofal_pg_pipeline_end(p->pg, p->errbuf, sizeof p->errbuf);
      if (!rc) rc = prc;
    }
    if (!rc) break;
    fofal_pg_exec(p->pg, "ROLLBACK", NULL, 0);
    if (rc == FOFAL_EUNAVAIL || careful) goto fail;
    LOG_WARN("projector %s: a batch of %d failed (%s); applying it event by event", p->o.name, p->nbatch, p->errbuf);
    p->replayed++;
  }
  p->batches++;
  /* Redis after PostgreSQL: idempotent per partition, every partition's script in one
   * round trip, retried until it answers. */
  int n = 0;
  for (int i = 0; i < p->nparts; i++) {
    if (p->last_in_batch[i] < p->redis_next[i] && fofal_rops_count(p->rops[i]) == 0) continue;
    if (p->last_in_batch[i] < 0) continue;
    applied_key(p, i, p->rkeys[n], sizeof p->rkeys[n]);
    p->rkeyp[n] = p->rkeys[n];
    p->roffs[n] = p->last_in_batch[i];
    p->rsel[n++] = p->rops[i];
  }
  for (int attempt = 0; n; attempt++) {
    rc = fofal_redis_apply_many(p->redis, n, p->rkeyp, p->roffs, p->rsel, p->errbuf, sizeof p->errbuf);
    if (!rc || fofal_stopped(p->o.stop)) break;
    if (attempt % 20 == 0) LOG_WARN("projector %s paused: %s", p->o.name, p->errbuf);
    usleep(250 * 1000);
  }
  if (rc) return rc;
  for (int i = 0; i < p->nparts; i++)
    if (p->last_in_batch[i] >= 0 && p->last_in_batch[i] >= p->redis_next[i]) p->redis_next[i] = p->last_in_batch[i] + 1;
  for (int i = 0; i < p->nparts; i++)
    if (p->last_in_batch[i] >= p->pg_next[i]) p->pg_next[i] = p->last_in_batch[i] + 1;
  p->applied += p->nbatch;
  return 0;
fail:
  fofal_pg_exec(p->pg, "ROLLBACK", NULL, 0);
  return rc ? rc : FOFAL_EPG;
}

/* ------------------------------------------------------------- life cycle */

static int connect_all(fofal_projector_t *p) {
  int rc = 0;
  if (!p->pg) {
    if ((rc = fofal_pg_connect(&p->pg, p->o.pg_dsn, p->errbuf, sizeof p->errbuf))) return rc;
    /* No fsync wait per batch. Safe for exactly-once: rows and positions commit together,
     * so a PostgreSQL crash can only lose both, and the projector applies those events
     * again from the older positions (Redis skips what it already has). */
    if ((rc = fofal_pg_exec(p->pg, "SET synchronous_commit = off", p->errbuf, sizeof p->errbuf))) return rc;
  }
  if (!p->redis && (rc = fofal_redis_connect(&p->redis, p->o.redis_addr, p->o.redis_user, p->o.redis_password, p->errbuf, sizeof p->errbuf))) return rc;
  return 0;
}

/* After an outage: drop connections and the batch, wait until both answer, reload. */
static int recover(fofal_projector_t *p) {
  for (int attempt = 0; !fofal_stopped(p->o.stop); attempt++) {
    p->flushes_before += fofal_pg_pipeline_flushes(p->pg);
    fofal_pg_close(p->pg);
    p->pg = NULL;
    int rc = connect_all(p);
    if (!rc) rc = load_positions(p);
    if (!rc) {
      LOG_INFO("projector %s resumed", p->o.name);
      return 0;
    }
    if (rc != FOFAL_EUNAVAIL && rc != FOFAL_EPG && rc != FOFAL_EREDIS) return rc;
    if (attempt % 10 == 0) LOG_WARN("projector %s paused: %s", p->o.name, p->errbuf);
    usleep(500 * 1000);
  }
  return 0;
}

/* The group's callback (on the projector's thread, inside a consume): record what is ours
 * now; the run loop reloads before it applies anything (see "Groups"). */
static void on_rebalance(void *opaque, int assign, const char *topic, const int32_t *parts, int n) {
  fofal_projector_t *p = opaque;
  (void)topic;
  if (!assign) memset(p->mine, 0, (size_t)p->nparts);
  for (int i = 0; assign && i < n; i++)
    if (parts[i] >= 0 && parts[i] < p->nparts) p->mine[parts[i]] = 1;
  int owned = 0;
  for (int i = 0; i < p->nparts; i++) owned += p->mine[i];
  LOG_INFO("projector %s: %s %d partition(s) of %s; %d now mine", p->o.name, assign ? "assigned" : "revoked", n, p->topic,
           owned);
  p->reassigned = 1;
}

int fofal_projector_new(fofal_projector_t **out, const fofal_projector_opts_t *o, char *errbuf, size_t errlen) {
  int rc;
  fofal_projector_t *p = fofal_calloc(1, sizeof *p);
  p->o = *o;
  if (p->o.max_batch <= 0) p->o.max_batch = 5000;
  p->schema = o->pg_schema ? o->pg_schema : o->def->pg_schema;
  if (o->workers > 1 && (o->worker < 0 || o->worker >= o->workers)) {
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "projector %s: worker %d of %d", o->name, o->worker, o->workers);
    goto out;
  }
  fofal_topic_events(o->def->module, p->topic, sizeof p->topic);
  snprintf(p->module_gen_key, sizeof p->module_gen_key, "fofal:%s:gen", o->def->module);
  char client[160];
  snprintf(client, sizeof client, "fofal-projector-%s", o->name);
  char group[160];
  snprintf(group, sizeof group, "fofal-projector.%s", o->name);
  int grouped = o->group && !o->shadow && o->workers <= 1;
  fofal_kafka_opts_t co = {.brokers = o->brokers, .client_id = client, .read_committed = 1,
                           .group_id = grouped ? group : NULL, .rebalance = grouped ? on_rebalance : NULL, .opaque = p};
  if ((rc = fofal_kafka_consumer_new(&p->consumer, &co, errbuf, errlen))) goto out;
  p->nparts = fofal_kafka_partition_count_wait(p->consumer, p->topic, 10000, errbuf, errlen);
  if (p->nparts < 0) {
    rc = p->nparts;
    goto out;
  }
  if (p->nparts > MAX_PARTS) {
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s has %d partitions, more than %d", p->topic, p->nparts, MAX_PARTS);
    goto out;
  }
  size_t n = (size_t)p->nparts;
  p->pg_next = fofal_calloc(n, sizeof *p->pg_next);
  p->redis_next = fofal_calloc(n, sizeof *p->redis_next);
  p->last_in_batch = fofal_calloc(n, sizeof *p->last_in_batch);
  p->last_event_us = fofal_calloc(n, sizeof *p->last_event_us);
  p->rops = fofal_calloc(n, sizeof *p->rops);
  for (size_t i = 0; i < n; i++) p->rops[i] = fofal_rops_new();
  p->scratch = fofal_rops_new();
  p->rkeys = fofal_calloc(n, sizeof *p->rkeys);
  p->rkeyp = fofal_calloc(n, sizeof *p->rkeyp);
  p->roffs = fofal_calloc(n, sizeof *p->roffs);
  p->rsel = fofal_calloc(n, sizeof *p->rsel);
  p->batch = fofal_calloc((size_t)p->o.max_batch, sizeof *p->batch);
  if (grouped) p->mine = fofal_calloc(n, 1); /* nothing until the group assigns */
  lock_statement(p);
  if ((rc = connect_all(p)) || (rc = load_positions(p))) fofal_err(errbuf, errlen, rc, "%s", p->errbuf);
  const char *topics[] = {p->topic};
  if (!rc && grouped) rc = fofal_kafka_subscribe(p->consumer, topics, 1, errbuf, errlen);
out:
  if (rc) {
    fofal_projector_free(p);
    p = NULL;
  }
  *out = p;
  return rc;
}

static void release_batch(fofal_projector_t *p) {
  for (int i = 0; i < p->nbatch; i++) fofal_kafka_msg_release(&p->batch[i]);
  p->nbatch = 0;
}

/* For a shadow: 1 when every partition reached its stop offset. The consumer's position
 * counts, not the last event: a transactional partition ends with a commit marker. */
static int reached_stop(const fofal_projector_t *p) {
  if (!p->o.shadow || !p->o.stop_at) return 0;
  for (int i = 0; i < p->nparts; i++) {
    if (!owns(p, i) || p->pg_next[i] >= p->o.stop_at[i]) continue;
    int64_t pos = fofal_kafka_position(p->consumer, p->topic, i);
    if (pos < p->o.stop_at[i]) return 0;
  }
  return 1;
}

/* Offsets left to the stop offsets: from the consumer's position where it is ahead of the
 * last applied event (it has passed the commit markers after it). */
static long long remaining(const fofal_projector_t *p) {
  long long r = 0;
  for (int i = 0; p->o.stop_at && i < p->nparts; i++) {
    if (!owns(p, i)) continue;
    int64_t at = p->pg_next[i];
    if (at < p->o.stop_at[i] && p->nbatch == 0) {
      int64_t pos = fofal_kafka_position(p->consumer, p->topic, i);
      if (pos > at) at = pos;
    }
    if (p->o.stop_at[i] > at) r += p->o.stop_at[i] - at;
  }
  return r;
}

int fofal_projector_run(fofal_projector_t *p, char *errbuf, size_t errlen) {
  int rc = 0;
  int64_t last_progress = 0;
  while (!fofal_stopped(p->o.stop) && !reached_stop(p)) {
    int64_t deadline = 0;
    while (p->nbatch < p->o.max_batch) {
      int timeout = fofal_batch_wait_ms(deadline, FOFAL_BATCH_GAP_MS);
      if (!timeout) break;
      fofal_kmsg_t m;
      int got = fofal_kafka_consume(p->consumer, timeout, &m);
      if (got < 0) return fofal_err(errbuf, errlen, got, "fatal Kafka consumer error");
      if (got == 0) break; /* nothing within the gap (or the first wait): apply what we have */
      /* A shadow stops exactly at its target: later events belong to the live projector. */
      if (m.eof || !m.value || (p->o.shadow && p->o.stop_at && m.offset >= p->o.stop_at[m.partition])) {
        fofal_kafka_msg_release(&m);
        continue;
      }
      if (p->reassigned) { /* the group moved partitions during this consume */
        fofal_kafka_msg_release(&m);
        break;
      }
      p->batch[p->nbatch++] = m;
      if (!deadline) deadline = fofal_mono_us() + FOFAL_BATCH_MAX_WAIT_MS * 1000;
    }
    if (p->reassigned) {
      /* Drop what was gathered, lock the new partitions, read their positions and seek. */
      release_batch(p);
      p->reassigned = 0;
      free(p->lock_sql);
      lock_statement(p);
      if ((rc = load_positions(p)) && (rc = recover(p))) break;
      continue;
    }
    if (p->nbatch == 0) continue;
    rc = run_batch(p);
    release_batch(p);
    if (rc == 1 || rc == FOFAL_EUNAVAIL || rc == FOFAL_EPG || rc == FOFAL_EREDIS) {
      if ((rc = recover(p))) break;
      continue;
    }
    if (rc) break;
    if (p->o.progress && fofal_mono_us() - last_progress > 1000000) {
      p->o.progress(p->o.progress_opaque, p->applied, remaining(p));
      last_progress = fofal_mono_us();
    }
  }
  if (p->o.progress) p->o.progress(p->o.progress_opaque, p->applied, remaining(p));
  if (rc) return fofal_err(errbuf, errlen, rc, "%s", p->errbuf);
  return 0;
}

void fofal_projector_free(fofal_projector_t *p) {
  if (!p) return;
  release_batch(p);
  fofal_kafka_free(p->consumer);
  fofal_pg_close(p->pg);
  fofal_redis_close(p->redis);
  for (int i = 0; p->rops && i < p->nparts; i++) fofal_rops_free(p->rops[i]);
  fofal_rops_free(p->scratch);
  free(p->rops);
  free(p->rkeys);
  free(p->rkeyp);
  free(p->roffs);
  free(p->rsel);
  free(p->pg_next);
  free(p->redis_next);
  free(p->last_in_batch);
  free(p->last_event_us);
  free(p->batch);
  free(p->lock_sql);
  free(p->mine);
  free(p);
}
