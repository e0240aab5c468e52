/*
 * pgpool.c — the read workers of fofal-api.
 *
 * FOFAL_API_PG_POOL threads each own one PostgreSQL connection (through the adapter of
 * projections/pg.c) and one Redis connection (redis.c), and run the jobs the loop thread
 * submits. A job's `run` executes on a worker; its `done` then executes on the loop
 * thread, posted with fofal__api_post. The queue is bounded (FOFAL_API_PG_QUEUE): a full
 * queue refuses a job at once, and the handler answers 503 rather than letting latency
 * grow without bound. The submitter manages its job's owner on the loop thread (a request
 * that goes away while its job runs is detached by the submitter, never by a worker); a
 * worker only ever touches the job.
 *
 * Tenancy (DESIGN.md guarantee 7). Right after connecting, a worker runs `SET ROLE
 * fofal_reader`: the tables' owner would bypass row-level security, fofal_reader does
 * not. Every query then runs in its own read-only transaction that first sets
 * fofal.tenant, transaction-local, so a pooled connection never carries one tenant's
 * setting into another's query, and a query that forgot its WHERE tenant still sees only
 * the caller's rows.
 *
 * Fairness (issue 22 item 7). Jobs wait in one FIFO per tenant (the job's `tenant`; jobs
 * that name none share one), and the workers take them from the tenants in turn, so one
 * tenant's flood of reads delays another tenant's read by at most one job per busy
 * tenant, not by the whole flood. A tenant may have at most FOFAL_API_PG_TENANT_QUEUE jobs
 * waiting (its read beyond that is answered 503 at once), and all of them together
 * FOFAL_API_PG_QUEUE.
 *
 * Failures. A connection that fails is dropped and re-opened for the next job; a job whose
 * connection broke mid-way is retried once on a fresh connection (it is read-only, so a
 * retry is always safe). While PostgreSQL is down each worker tries to connect at most
 * every 250 ms and fails jobs at once with FOFAL_EUNAVAIL in between: handlers answer 503
 * with Retry-After. Connecting is bounded by connect_timeout=2 unless the DSN sets it.
 *
 * @locality the queue: any thread under `lock`; a worker's connections: that worker only.
 */
#include "api.h"
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_US (250 * 1000)

struct fofal_worker {
  struct fofal_pool *pool;
  pthread_t th;
  int started;
  fofal_pg_t *pg;
  int64_t pg_retry_at_us;
  fofal__redis_t *redis;
  fofal_pg_t *wpg;            /* write connection (identity schema), see fofal__worker_pg */
  int64_t wpg_retry_at_us;
};

/* The jobs of one tenant waiting for a worker; in the ring while it has any. */
typedef struct tq {
  fofal_job_t *head, *tail;
  long long n;
  struct tq *next; /* in the ring */
  char tenant[64];
} tq_t;

typedef struct fofal_pool {
  fofal_api_t *api;
  char *dsn;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  fofal_map_t *tqs;          /* tenant → tq_t * with jobs waiting */
  tq_t *ring, *ring_tail;    /* the tenants with jobs, served in turn */
  long long queued, cap, tenant_cap;
  int stop;
  int nworkers;
  fofal_worker_t *workers;
} pool_t;

/* ------------------------------------------------------------ connection */

static void pg_drop(fofal_worker_t *w) {
  fofal_pg_close(w->pg);
  w->pg = NULL;
  w->pg_retry_at_us = fofal_mono_us() + RETRY_US;
}

static int pg_ensure(fofal_worker_t *w, char *errbuf, size_t errlen) {
  if (w->pg) return 0;
  if (fofal_mono_us() < w->pg_retry_at_us)
    return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "PostgreSQL is unreachable");
  int rc = fofal_pg_connect(&w->pg, w->pool->dsn, errbuf, errlen);
  if (!rc) {
    /* Row-level security applies to fofal_reader, not to the tables' owner. No JIT: a
     * read's plan is cheap to run but can be costed high (the genealogy's correlated
     * subplans at 10 M events: 4 M), and PostgreSQL then spent 2–3 s compiling a
     * statement that ran in 33 ms (ops/bench genealogy). */
    rc = fofal_pg_exec(w->pg,
                       "SET ROLE fofal_reader; SET TIME ZONE 'UTC'; SET statement_timeout = '10s'; SET jit = off;"
                       "SET default_transaction_read_only = on",
                       errbuf, errlen);
    if (rc == FOFAL_EPG) rc = FOFAL_EUNAVAIL; /* e.g. migrations not applied yet: not usable */
  }
  if (rc) {
    pg_drop(w);
    return rc;
  }
  return 0;
}

typedef struct {
  json_t *rows;
} rows_t;

static void on_row(void *opaque, int ncols, const char *const *values) {
  rows_t *r = opaque;
  if (ncols < 1) return;
  json_t *v = values[0] ? json_loads(values[0], JSON_DECODE_ANY, NULL) : json_null();
  if (!v) v = json_string(values[0]);
  json_array_append_new(r->rows, v);
}

static int query_once(fofal_worker_t *w, const char *tenant, const char *sql, int nparams, const char *const *params,
                      json_t **rows, char *errbuf, size_t errlen) {
  int rc;
  char *ignored = NULL;
  const char *tp[] = {tenant};
  rows_t r = {json_array()};
  if ((rc = pg_ensure(w, errbuf, errlen))) goto out;
  if ((rc = fofal_pg_exec(w->pg, "BEGIN READ ONLY", errbuf, errlen))) goto fail;
  if ((rc = fofal_pg_query_value(w->pg, "SELECT set_config('fofal.tenant', $1, true)", 1, tp, &ignored, errbuf, errlen)))
    goto fail;
  if ((rc = fofal_pg_query(w->pg, sql, nparams, params, on_row, &r, errbuf, errlen))) goto fail;
  if ((rc = fofal_pg_exec(w->pg, "COMMIT", errbuf, errlen))) goto fail;
  *rows = r.rows;
  r.rows = NULL;
  goto out;
fail:
  if (rc == FOFAL_EUNAVAIL) pg_drop(w);
  else fofal_pg_exec(w->pg, "ROLLBACK", NULL, 0);
out:
  free(ignored);
  json_decref(r.rows);
  return rc;
}

int fofal__worker_query(fofal_worker_t *w, const char *tenant, const char *sql, int nparams,
                        const char *const *params, json_t **rows, char *errbuf, size_t errlen) {
  *rows = NULL;
  int had_conn = w->pg != NULL;
  int rc = query_once(w, tenant, sql, nparams, params, rows, errbuf, errlen);
  /* A connection that broke since its last use (server restart): once more, fresh. */
  if (rc == FOFAL_EUNAVAIL && had_conn) {
    w->pg_retry_at_us = 0;
    rc = query_once(w, tenant, sql, nparams, params, rows, errbuf, errlen);
  }
  return rc;
}

struct fofal__redis *fofal__worker_redis(fofal_worker_t *w) { return w->redis; }

/* The write connection stays the tables' owner (no SET ROLE): the identity schema is not
 * readable by fofal_reader at all. Its queries filter by tenant themselves. */
int fofal__worker_pg(fofal_worker_t *w, fofal_pg_t **pg, char *errbuf, size_t errlen) {
  *pg = NULL;
  if (!w->wpg) {
    if (fofal_mono_us() < w->wpg_retry_at_us)
      return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "PostgreSQL is unreachable");
    int rc = fofal_pg_connect(&w->wpg, w->pool->dsn, errbuf, errlen);
    if (!rc) rc = fofal_pg_exec(w->wpg, "SET TIME ZONE 'UTC'; SET statement_timeout = '10s'; SET jit = off", errbuf, errlen);
    if (rc) {
      fofal__worker_pg_drop(w);
      return FOFAL_EUNAVAIL;
    }
  }
  *pg = w->wpg;
  return 0;
}

void fofal__worker_pg_drop(fofal_worker_t *w) {
  fofal_pg_close(w->wpg);
  w->wpg = NULL;
  w->wpg_retry_at_us = fofal_mono_us() + RETRY_US;
}

/* ---------------------------------------------------------------- workers */

/* Under the lock: the next job, a tenant after the other (NULL when none waits). */
static fofal_job_t *take(pool_t *p) {
  tq_t *t = p->ring;
  if (!t) return NULL;
  fofal_job_t *job = t->head;
  t->head = job->next;
  if (!t->head) t->tail = NULL;
  t->n--;
  p->queued--;
  p->ring = t->next;
  if (!p->ring) p->ring_tail = NULL;
  t->next = NULL;
  if (t->n) { /* to the end of the ring: the other tenants first */
    if (p->ring_tail) p->ring_tail->next = t;
    else p->ring = t;
    p->ring_tail = t;
  } else {
    free(fofal_map_take(p->tqs, t->tenant));
  }
  job->next = NULL;
  return job;
}

static void post_done(fofal_api_t *api, void *arg) {
  fofal_job_t *job = arg;
  job->done(api, job);
}

static void *worker_main(void *arg) {
  fofal_worker_t *w = arg;
  pool_t *p = w->pool;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    while (!p->stop && !p->ring) pthread_cond_wait(&p->cond, &p->lock);
    if (p->stop) {
      pthread_mutex_unlock(&p->lock);
      break;
    }
    fofal_job_t *job = take(p);
    pthread_mutex_unlock(&p->lock);
    job->run(w, job);
    fofal__api_post(p->api, post_done, job);
  }
  return NULL;
}

/* libpq keeps the last of repeated keywords; a URI cannot take one appended. */
static char *dsn_with_timeout(const char *dsn) {
  if (strstr(dsn, "connect_timeout") || strstr(dsn, "://")) return fofal_strdup(dsn);
  return fofal_asprintf("%s connect_timeout=2", dsn);
}

int fofal__pool_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  pool_t *p = fofal_calloc(1, sizeof *p);
  api->pool = p;
  p->api = api;
  p->dsn = dsn_with_timeout(api->conf.pg_dsn);
  p->cap = api->conf.pg_queue;
  p->tenant_cap = api->conf.pg_tenant_queue;
  p->tqs = fofal_map_new(NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->workers = fofal_calloc((size_t)api->conf.pg_pool, sizeof *p->workers);
  for (int i = 0; i < (int)api->conf.pg_pool; i++) {
    fofal_worker_t *w = &p->workers[i];
    w->pool = p;
    w->redis = fofal__redis_new(api->conf.redis_addr, api->conf.redis_user, api->conf.redis_password, 2000);
    if (!w->redis) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_REDIS_ADDR=%s is not host:port", api->conf.redis_addr);
    if (pthread_create(&w->th, NULL, worker_main, w))
      return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot start the read workers");
    w->started = 1;
    p->nworkers++;
  }
  return 0;
}

void fofal__pool_stop(fofal_api_t *api) {
  pool_t *p = api->pool;
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < (int)api->conf.pg_pool; i++) {
    fofal_worker_t *w = &p->workers[i];
    if (w->started) pthread_join(w->th, NULL);
    fofal_pg_close(w->pg);
    fofal_pg_close(w->wpg);
    fofal__redis_free(w->redis);
  }
  /* Jobs never run: their owners learn it through `done`. */
  fofal_job_t *job;
  while ((job = take(p))) {
    job->stopped = 1;
    job->done(api, job);
  }
  fofal_map_free(p->tqs);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  free(p->workers);
  free(p->dsn);
  free(p);
  api->pool = NULL;
}

int fofal__pool_submit(fofal_api_t *api, fofal_job_t *job) {
  pool_t *p = api->pool;
  int rc = 0;
  if (!p) return FOFAL_EUNAVAIL;
  job->next = NULL;
  job->stopped = 0;
  pthread_mutex_lock(&p->lock);
  tq_t *t = fofal_map_get(p->tqs, job->tenant);
  if (p->stop || p->queued >= p->cap || (t && job->tenant[0] && t->n >= p->tenant_cap)) {
    rc = FOFAL_EUNAVAIL;
  } else {
    if (!t) {
      t = fofal_calloc(1, sizeof *t);
      snprintf(t->tenant, sizeof t->tenant, "%s", job->tenant);
      fofal_map_put(p->tqs, t->tenant, t);
      if (p->ring_tail) p->ring_tail->next = t;
      else p->ring = t;
      p->ring_tail = t;
    }
    if (t->tail) t->tail->next = job;
    else t->head = job;
    t->tail = job;
    t->n++;
    p->queued++;
    pthread_cond_signal(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  if (rc) atomic_fetch_add(&fofal__metrics.read_jobs_rejected, 1);
  return rc;
}

fofal_api_t *fofal__worker_api(fofal_worker_t *w) { return w->pool->api; }
