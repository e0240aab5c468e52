/*
 * pg.c — the PostgreSQL adapter (every libpq call of the project) and the migrator.
 *
 * Connections are used by one thread at a time. Errors carry PostgreSQL's own message;
 * connection strings are never copied into messages (they may hold a password).
 * Migrations: versioned SQL files, applied in order, each in a transaction together with
 * its row in fofal_meta.migrations, under pg_advisory_xact_lock so concurrent starts are
 * safe; an applied file that changed afterwards stops the migrator.
 */
#include "projections.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIGRATION_LOCK 7212633 /* arbitrary, project-wide advisory lock key */

struct fofal_pg {
  PGconn *conn;
  int pipelined;   /* statements queued without waiting (fofal_pg_pipeline_begin) */
  int queued;
  long long flushes; /* pipelines sent early for a synchronous call (pipeline_pause) */
  fofal_map_t *stmts; /* SQL text → name of its prepared statement on this connection */
  int nstmts;
};

/* Forgets the prepared statements (after an error or a reset, whatever their fate). */
static void forget_statements(fofal_pg_t *pg) {
  fofal_map_free(pg->stmts);
  pg->stmts = fofal_map_new(free);
  if (PQstatus(pg->conn) == CONNECTION_OK && !pg->pipelined) {
    PGresult *res = PQexec(pg->conn, "DEALLOCATE ALL");
    PQclear(res);
  }
}

static void trim_nl(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
}

static int pg_error(fofal_pg_t *pg, PGresult *res, char *errbuf, size_t errlen) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
  trim_nl(msg);
  int rc = PQstatus(pg->conn) == CONNECTION_OK ? FOFAL_EPG : FOFAL_EUNAVAIL;
  return fofal_err(errbuf, errlen, rc, "PostgreSQL: %s", msg);
}

static void ignore_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

int fofal_pg_connect(fofal_pg_t **out, const char *dsn, char *errbuf, size_t errlen) {
  *out = NULL;
  PGconn *c = PQconnectdb(dsn);
  if (PQstatus(c) != CONNECTION_OK) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    trim_nl(msg);
    PQfinish(c);
    return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "cannot connect to PostgreSQL: %s", msg);
  }
  fofal_pg_t *pg = fofal_calloc(1, sizeof *pg);
  pg->conn = c;
  pg->stmts = fofal_map_new(free);
  PQsetNoticeProcessor(c, ignore_notice, NULL);
  *out = pg;
  return 0;
}

void fofal_pg_close(fofal_pg_t *pg) {
  if (!pg) return;
  fofal_map_free(pg->stmts);
  PQfinish(pg->conn);
  free(pg);
}

/* Pipeline mode allows no synchronous call (libpq refuses them). One made while a
 * pipeline is open — an apply function reading a person's key, say — first sends what
 * was queued and reads its results (so statements still run in the order they were
 * made), leaves pipeline mode for the call, and enters it again afterwards: the batch
 * stays in its transaction and the caller's fofal_pg_pipeline_end works as before. An
 * error of the queued statements is the call's error (the transaction is then aborted
 * and the caller rolls back). */
static int pipeline_drain(fofal_pg_t *pg, char *errbuf, size_t errlen);

static int pipeline_pause(fofal_pg_t *pg, char *errbuf, size_t errlen) {
  if (!pg->pipelined) return 0;
  pg->flushes++;
  return pipeline_drain(pg, errbuf, errlen);
}

static void pipeline_resume(fofal_pg_t *pg, int paused) {
  if (!paused) return;
  if (PQenterPipelineMode(pg->conn)) pg->pipelined = 1;
}

int fofal_pg_exec(fofal_pg_t *pg, const char *sql, char *errbuf, size_t errlen) {
  int paused = pg->pipelined, rc = pipeline_pause(pg, errbuf, errlen);
  if (!rc) {
    PGresult *res = PQexec(pg->conn, sql);
    int st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = pg_error(pg, res, errbuf, errlen);
    PQclear(res);
  }
  pipeline_resume(pg, paused);
  return rc;
}

int fofal_pg_query_value(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params, char **out,
                         char *errbuf, size_t errlen) {
  *out = NULL;
  int paused = pg->pipelined, rc = pipeline_pause(pg, errbuf, errlen);
  if (!rc) {
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = pg_error(pg, res, errbuf, errlen);
    else if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
      *out = fofal_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
  }
  pipeline_resume(pg, paused);
  return rc;
}

int fofal_pg_ping(fofal_pg_t *pg) {
  if (!pg) return 0;
  PGresult *res = PQexec(pg->conn, "SELECT 1");
  int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  PQclear(res);
  if (!ok && PQstatus(pg->conn) != CONNECTION_OK) {
    PQreset(pg->conn);
    forget_statements(pg);
  }
  return ok;
}

/* ------------------------------------------------------------ migrations */

typedef struct {
  long num;
  char id[256];   /* "<module>/<file>" */
  char path[1024];
} mig_t;

static int mig_cmp(const void *a, const void *b) {
  const mig_t *x = a, *y = b;
  if (x->num != y->num) return x->num < y->num ? -1 : 1;
  return strcmp(x->id, y->id);
}

static char *read_file(const char *path, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = fofal_malloc(cap + 1);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static void checksum(const char *s, char out[17]) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int list_migrations(const char *dir, mig_t **out, int *n, char *errbuf, size_t errlen) {
  DIR *top = opendir(dir);
  int cap = 16;
  *n = 0;
  *out = fofal_calloc((size_t)cap, sizeof **out);
  if (!top) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "cannot open %s: %s", dir, strerror(errno));
  struct dirent *m;
  while ((m = readdir(top))) {
    if (m->d_name[0] == '.') continue;
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/%s", dir, m->d_name);
    DIR *d = opendir(sub);
    if (!d) continue;
    struct dirent *f;
    while ((f = readdir(d))) {
      size_t len = strlen(f->d_name);
      char *end;
      long num = strtol(f->d_name, &end, 10);
      if (len < 5 || strcmp(f->d_name + len - 4, ".sql") || end == f->d_name || *end != '_') continue;
      if (*n == cap) *out = fofal_realloc(*out, (size_t)(cap *= 2) * sizeof **out);
      mig_t *mg = &(*out)[(*n)++];
      mg->num = num;
      snprintf(mg->id, sizeof mg->id, "%s/%s", m->d_name, f->d_name);
      snprintf(mg->path, sizeof mg->path, "%s/%s", sub, f->d_name);
    }
    closedir(d);
  }
  closedir(top);
  qsort(*out, (size_t)*n, sizeof **out, mig_cmp);
  return 0;
}

int fofal_pg_migrate(fofal_pg_t *pg, const char *schemas_dir, void (*report)(void *opaque, const char *line),
                     void *opaque, char *errbuf, size_t errlen) {
  mig_t *migs = NULL;
  int n = 0, applied = 0, rc;
  char *sql = NULL, *have = NULL, line[512], sum[17];
  if ((rc = list_migrations(schemas_dir, &migs, &n, errbuf, errlen))) goto out;
  if ((rc = fofal_pg_exec(pg,
                          "CREATE SCHEMA IF NOT EXISTS fofal_meta;"
                          "CREATE TABLE IF NOT EXISTS fofal_meta.migrations ("
                          " id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                          errbuf, errlen)))
    goto out;
  for (int i = 0; i < n; i++) {
    free(sql);
    sql = read_file(migs[i].path, 1 << 20);
    if (!sql) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "cannot read %s", migs[i].path);
      goto out;
    }
    checksum(sql, sum);
    char lock[96];
    snprintf(lock, sizeof lock, "BEGIN; SELECT pg_advisory_xact_lock(%d)", MIGRATION_LOCK);
    if ((rc = fofal_pg_exec(pg, lock, errbuf, errlen))) goto out;
    const char *params[] = {migs[i].id, sum};
    free(have);
    if ((rc = fofal_pg_query_value(pg, "SELECT checksum FROM fofal_meta.migrations WHERE id = $1", 1, params, &have,
                                   errbuf, errlen)))
      goto rollback;
    if (have) {
      if (strcmp(have, sum)) {
        rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG,
                       "migration %s was applied and has changed since (checksum %s, now %s); add a new migration "
                       "instead of editing an applied one",
                       migs[i].id, have, sum);
        goto rollback;
      }
      fofal_pg_exec(pg, "COMMIT", NULL, 0);
      continue;
    }
    if ((rc = fofal_pg_exec(pg, sql, errbuf, errlen))) {
      char inner[400];
      snprintf(inner, sizeof inner, "%s", errbuf ? errbuf : "");
      fofal_err(errbuf, errlen, rc, "migration %s failed: %s", migs[i].id, inner);
      goto rollback;
    }
    char *ignored = NULL;
    if ((rc = fofal_pg_query_value(pg, "INSERT INTO fofal_meta.migrations (id, checksum) VALUES ($1, $2)", 2, params,
                                   &ignored, errbuf, errlen)) ||
        (rc = fofal_pg_exec(pg, "COMMIT", errbuf, errlen)))
      goto rollback;
    applied++;
    if (report) {
      snprintf(line, sizeof line, "applied %s", migs[i].id);
      report(opaque, line);
    }
  }
  rc = applied;
  goto out;
rollback:
  fofal_pg_exec(pg, "ROLLBACK", NULL, 0);
out:
  free(have);
  free(sql);
  free(migs);
  return rc;
}

int fofal_pg_execp(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params, char *errbuf, size_t errlen) {
  /* Each distinct statement is prepared once per connection: projectors run the same few
   * statements millions of times, and parsing and planning each was most of their cost. */
  const char *name = fofal_map_get(pg->stmts, sql);
  if (!name) {
    char *nm = fofal_asprintf("fofal_s%d", ++pg->nstmts);
    if (pg->pipelined) {
      if (!PQsendPrepare(pg->conn, nm, sql, nparams, NULL)) {
        free(nm);
        return pg_error(pg, NULL, errbuf, errlen);
      }
    } else {
      PGresult *res = PQprepare(pg->conn, nm, sql, nparams, NULL);
      if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = pg_error(pg, res, errbuf, errlen);
        PQclear(res);
        free(nm);
        return rc;
      }
      PQclear(res);
    }
    fofal_map_put(pg->stmts, sql, nm);
    name = nm;
  }
  if (pg->pipelined) {
    if (!PQsendQueryPrepared(pg->conn, name, nparams, params, NULL, NULL, 0)) return pg_error(pg, NULL, errbuf, errlen);
    pg->queued++;
    return 0;
  }
  PGresult *res = PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
  int st = PQresultStatus(res), rc = 0;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = pg_error(pg, res, errbuf, errlen);
  PQclear(res);
  return rc;
}

int fofal_pg_query(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params,
                   void (*fn)(void *opaque, int ncols, const char *const *values), void *opaque, char *errbuf,
                   size_t errlen) {
  int paused = pg->pipelined, rc = pipeline_pause(pg, errbuf, errlen);
  if (rc) {
    pipeline_resume(pg, paused);
    return rc;
  }
  PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_error(pg, res, errbuf, errlen);
  } else {
    int nc = PQnfields(res);
    const char **vals = fofal_calloc((size_t)nc, sizeof *vals);
    for (int r = 0; r < PQntuples(res); r++) {
      for (int c = 0; c < nc; c++) vals[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
      fn(opaque, nc, vals);
    }
    free(vals);
  }
  PQclear(res);
  pipeline_resume(pg, paused);
  return rc;
}

int fofal_pg_pipeline_begin(fofal_pg_t *pg, char *errbuf, size_t errlen) {
  if (!PQenterPipelineMode(pg->conn)) return pg_error(pg, NULL, errbuf, errlen);
  pg->pipelined = 1;
  pg->queued = 0;
  return 0;
}

int fofal_pg_pipeline_end(fofal_pg_t *pg, char *errbuf, size_t errlen) {
  if (!pg->pipelined) return 0; /* a paused pipeline that could not be entered again */
  return pipeline_drain(pg, errbuf, errlen);
}

long long fofal_pg_pipeline_flushes(const fofal_pg_t *pg) { return pg ? pg->flushes : 0; }

/* Sends the queued statements with a sync, reads every result, leaves pipeline mode. */
static int pipeline_drain(fofal_pg_t *pg, char *errbuf, size_t errlen) {
  int rc = 0;
  pg->pipelined = 0;
  if (!PQpipelineSync(pg->conn)) rc = pg_error(pg, NULL, errbuf, errlen);
  /* Every queued statement has a result followed by a NULL; then the sync's result. */
  for (int done = 0; !done;) {
    PGresult *res = PQgetResult(pg->conn);
    if (!res) {
      if (PQstatus(pg->conn) != CONNECTION_OK) {
        if (!rc) rc = pg_error(pg, NULL, errbuf, errlen);
        break;
      }
      continue;
    }
    switch (PQresultStatus(res)) {
    case PGRES_PIPELINE_SYNC:
      done = 1;
      break;
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_PIPELINE_ABORTED:
      break;
    default:
      if (!rc) rc = pg_error(pg, res, errbuf, errlen);
      break;
    }
    PQclear(res);
  }
  if (!PQexitPipelineMode(pg->conn) && !rc) rc = pg_error(pg, NULL, errbuf, errlen);
  pg->queued = 0;
  /* After an error PostgreSQL skipped the rest of the pipeline, prepares included. */
  if (rc) forget_statements(pg);
  return rc;
}
