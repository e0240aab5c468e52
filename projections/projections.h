/*
 * projections.h — read models: the PostgreSQL adapter, migrations, and the projectors.
 *
 * The only header of projections/ that other folders include. Every libpq call of the
 * project is in projections/pg.c.
 */
#ifndef FOFAL_PROJECTIONS_H
#define FOFAL_PROJECTIONS_H

#include "events.h"

typedef struct fofal_pg fofal_pg_t;

/* Connects with a libpq conninfo string. 0 or FOFAL_EUNAVAIL (detail in errbuf; the
 * password, if any, never is). */
int fofal_pg_connect(fofal_pg_t **out, const char *dsn, char *errbuf, size_t errlen);
void fofal_pg_close(fofal_pg_t *pg);
/* Runs one or more statements without parameters. 0 or FOFAL_EPG. */
int fofal_pg_exec(fofal_pg_t *pg, const char *sql, char *errbuf, size_t errlen);
/* Runs a parameterised statement that returns at most one row with one column;
 * *out is a new string (NULL if no row). 0 or FOFAL_EPG. */
int fofal_pg_query_value(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params, char **out,
                         char *errbuf, size_t errlen);
/* 1 when the server answers `SELECT 1`, else 0. */
int fofal_pg_ping(fofal_pg_t *pg);

/* Applies the migrations under schemas_dir (every <module>/NNN_name.sql, ordered by NNN then
 * module) that are not yet recorded in fofal_meta.migrations, each in its own transaction,
 * under an advisory lock so two processes never migrate at once. A recorded migration whose
 * file changed is an error (FOFAL_ECONFIG): migrations are append-only. `report` gets one
 * line per migration. Returns the number applied, or a negative error. */
int fofal_pg_migrate(fofal_pg_t *pg, const char *schemas_dir, void (*report)(void *opaque, const char *line),
                     void *opaque, char *errbuf, size_t errlen);

#endif

/* Runs a parameterised statement that returns no rows we need. 0 or FOFAL_EPG. */
int fofal_pg_execp(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params, char *errbuf, size_t errlen);
/* Runs a parameterised query; calls fn once per row with the row's values (borrowed until
 * fn returns; NULL for SQL NULL). 0 or FOFAL_EPG. */
int fofal_pg_query(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params,
                   void (*fn)(void *opaque, int ncols, const char *const *values), void *opaque, char *errbuf,
                   size_t errlen);

/* ------------------------------------------------------------------ Redis
 * The hiredis adapter of projections/ (redis.c). A list of Redis commands applied at most
 * once per (stream, partition, offset): the applied offset is checked and set in the same
 * Lua script as the commands, so a projector that crashes and re-applies never doubles a
 * counter or a push. */
typedef struct fofal_redis fofal_redis_t;
typedef struct fofal_rops fofal_rops_t;

int fofal_redis_connect(fofal_redis_t **out, const char *addr, char *errbuf, size_t errlen);
void fofal_redis_close(fofal_redis_t *r);
fofal_rops_t *fofal_rops_new(void);
void fofal_rops_free(fofal_rops_t *ops);
void fofal_rops_clear(fofal_rops_t *ops);
int fofal_rops_count(const fofal_rops_t *ops);
/* Appends every command of src to dst. */
void fofal_rops_append(fofal_rops_t *dst, const fofal_rops_t *src);
/* Appends one command (argv copied). Besides Redis commands, DELIFEQ key field value
 * deletes key while its hash field equals value. */
void fofal_rops_add(fofal_rops_t *ops, int argc, const char *const *argv);
/* Applies ops if `offset` is beyond the offset recorded under `applied_key`, and records
 * it. 0 (applied or already applied) or FOFAL_EUNAVAIL / FOFAL_EREDIS. */
int fofal_redis_apply(fofal_redis_t *r, const char *applied_key, int64_t offset, const fofal_rops_t *ops,
                      char *errbuf, size_t errlen);
/* The offset recorded under applied_key, or -1. */
int fofal_redis_applied(fofal_redis_t *r, const char *applied_key, int64_t *offset, char *errbuf, size_t errlen);
/* Runs one command, discarding the reply. */
int fofal_redis_cmd(fofal_redis_t *r, int argc, const char *const *argv, char *errbuf, size_t errlen);

/* The Redis stream of WebSocket pushes: entries {"m": JSON}, trimmed to ~100,000. */
#define FOFAL_PUSH_STREAM "fofal:push"

/* ------------------------------------------------------------- projectors
 * A projection turns one module's events into PostgreSQL rows (in schema `pg_schema`,
 * created by its SQL in schemas/<module>/) and Redis keys. Apply functions are called in
 * log order per aggregate, inside the batch's PostgreSQL transaction; they must be
 * deterministic functions of the event. */
typedef struct {
  fofal_pg_t *pg;            /* NULL when this event is already in PostgreSQL */
  const char *pg_schema;     /* where to write: the live schema, or a rebuild's shadow */
  const char *redis_prefix;  /* "fofal:<module>:g<gen>:" — every Redis key starts with it */
  fofal_rops_t *rops;        /* NULL when this event is already in Redis */
  int push;                  /* 1: publish WebSocket pushes (live projector only) */
  const char *position;      /* "<module>:<partition>:<offset>" of this event */
  char *errbuf;
  size_t errlen;
} fofal_apply_ctx_t;

typedef struct {
  const char *type;          /* current event type, e.g. "fofal.production.order_created.v1"; "*": any */
  int (*apply)(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
} fofal_apply_t;

typedef struct {
  const char *name;          /* projection name: "production", "audit.production" */
  const char *module;        /* "production": reads fofal.<module>.events */
  const char *pg_schema;     /* "production" */
  const char *const *tables; /* the tables of pg_schema, for verify; NULL-terminated */
  const fofal_apply_t *applies;
  int napplies;
} fofal_projection_def_t;

extern const fofal_projection_def_t fofal_production_projection;
extern const fofal_projection_def_t fofal_audit_production_projection;
/* Every projection, NULL-terminated. */
extern const fofal_projection_def_t *const fofal_projections[];
/* The projection named `name`, or NULL. */
const fofal_projection_def_t *fofal_projection_find(const char *name);

typedef struct {
  const char *brokers, *pg_dsn, *redis_addr, *schemas_dir;
  const fofal_projection_def_t *def;
  const char *name;          /* projector name in fofal_meta.projector_offsets */
  const char *pg_schema;     /* NULL: def->pg_schema */
  const char *redis_prefix;  /* NULL: the live generation, read from Redis */
  int max_batch;
  int shadow;                /* 1: a rebuild — stop at `stop_at` offsets, do not publish pushes */
  const int64_t *stop_at;    /* per partition; with shadow */
  volatile int *stop;
  void (*progress)(void *opaque, long long applied, long long remaining);
  void *progress_opaque;
} fofal_projector_opts_t;

typedef struct fofal_projector fofal_projector_t;
int fofal_projector_new(fofal_projector_t **out, const fofal_projector_opts_t *o, char *errbuf, size_t errlen);
/* Runs until *stop, or for a shadow until stop_at is reached. */
int fofal_projector_run(fofal_projector_t *p, char *errbuf, size_t errlen);
void fofal_projector_free(fofal_projector_t *p);
long long fofal_projector_applied(const fofal_projector_t *p);

/* For apply functions: run SQL against the batch's transaction (skipped when this event
 * was already applied to PostgreSQL), and queue a Redis command (skipped when already
 * applied to Redis). `%s` in sql is replaced by the target schema. */
int fofal_apply_sql(fofal_apply_ctx_t *ctx, const char *sql_fmt, int nparams, const char *const *params);
void fofal_apply_redis(fofal_apply_ctx_t *ctx, int argc, const char *const *argv);
