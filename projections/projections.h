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


/* Runs a parameterised statement that returns no rows we need. 0 or FOFAL_EPG. */
int fofal_pg_execp(fofal_pg_t *pg, const char *sql, int nparams, const char *const *params, char *errbuf, size_t errlen);
/* Pipeline mode: between begin and end, fofal_pg_execp only queues its statement (no round
 * trip); end sends them, waits for every result, and returns the first error (after an
 * error PostgreSQL skips the rest of the pipeline; the caller rolls back). A synchronous
 * call in between (fofal_pg_exec, _query, _query_value) is allowed and costs a round trip:
 * it first sends what was queued and waits for it (returning its first error, if any),
 * runs, and the pipeline goes on. 0 or FOFAL_EPG / FOFAL_EUNAVAIL. */
int fofal_pg_pipeline_begin(fofal_pg_t *pg, char *errbuf, size_t errlen);
int fofal_pg_pipeline_end(fofal_pg_t *pg, char *errbuf, size_t errlen);
/* How many times a synchronous call sent a pipeline early, since the connection opened. */
long long fofal_pg_pipeline_flushes(const fofal_pg_t *pg);
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

/* Connects to "host:port" and, when password is not empty, authenticates as user (Redis
 * ACL; "" or NULL: the default user); reconnects authenticate again. */
int fofal_redis_connect(fofal_redis_t **out, const char *addr, const char *user, const char *password, char *errbuf,
                        size_t errlen);
/* AUTH on a fresh hiredis connection (no-op without a password). The password never
 * reaches errbuf. Shared by every hiredis adapter (api/redis.c too). */
struct redisContext;
int fofal_redis_auth(struct redisContext *c, const char *user, const char *password, char *errbuf, size_t errlen);
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
/* fofal_redis_apply for n (applied_keys[k], offsets[k], ops[k]) at once, in one round trip:
 * each applies or not on its own; the first error is returned (retrying all is safe). */
int fofal_redis_apply_many(fofal_redis_t *r, int n, const char *const *applied_keys, const int64_t *offsets,
                           fofal_rops_t *const *ops, char *errbuf, size_t errlen);
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
  /* NULL: the projection owns pg_schema (rebuild swaps the whole schema). Else the name of
   * a column of every table: the tables are shared with the same projection of other
   * modules ("audit.<m>" all write audit.events), and this one's rows are those whose
   * column equals `module` — the only rows its rebuild replaces and its verify compares. */
  const char *module_column;
} fofal_projection_def_t;

/* A module's read model lives in its folder projections/<m>/ (apply functions, Redis views,
 * tables) and registers itself: the folder defines
 * `const fofal_projection_module_t fofal_module_<m>_projections`, and the build, which finds
 * the folder, lists it in the generated table fofal_projection_modules[]
 * (<build>/modules/projections.gen.c). Nothing outside the folder names the module. */
typedef struct {
  const char *name;          /* "production": its projections read fofal.<name>.events */
  const fofal_projection_def_t *const *projections; /* NULL-terminated; the one named like the
                                                       module owns its Redis views */
  int audit;                 /* 0 (the default: a module is audited by registering) or 1:
                                the audit trail records every event of the module
                                (projection "audit.<name>", audit.c); FOFAL_AUDIT_OFF: not */
} fofal_projection_module_t;
#define FOFAL_AUDIT_OFF (-1)

/* Every registered module, sorted by name, NULL-terminated (generated). */
extern const fofal_projection_module_t *const fofal_projection_modules[];
/* Every projection (modules.c): per module in the table's order, its own projections, then
 * its audit projection; NULL-terminated. Built before main() runs, read-only afterwards. */
extern const fofal_projection_def_t *fofal_projections[];
/* The projection named `name`, or NULL. */
const fofal_projection_def_t *fofal_projection_find(const char *name);
/* The audit projection of `module` (audit.c) into *def, named "audit.<module>" with
 * name[] as its storage (the caller keeps both alive). Every module's audit projection
 * writes the one table audit.events, its rows told apart by module_column "module". */
#define FOFAL_PROJECTION_NAME_MAX 64
void fofal__audit_projection(const char *module, fofal_projection_def_t *def, char name[FOFAL_PROJECTION_NAME_MAX]);

typedef struct {
  const char *brokers, *pg_dsn, *redis_addr, *schemas_dir;
  const char *redis_user, *redis_password; /* AUTH (README, Security); "" or NULL: none */
  const fofal_projection_def_t *def;
  const char *name;          /* projector name in fofal_meta.projector_offsets */
  const char *pg_schema;     /* NULL: def->pg_schema */
  const char *redis_prefix;  /* NULL: the live generation, read from Redis */
  int max_batch;
  int shadow;                /* 1: a rebuild — stop at `stop_at` offsets, do not publish pushes */
  int worker, workers;       /* workers > 1 (a shadow only): one of several projectors of the same
                                name, each on its own thread and connections, owning the
                                partitions p with p % workers == worker (their positions, their
                                advisory lock); 0 or 1: every partition */
  const int64_t *stop_at;    /* per partition; with shadow */
  int group;                 /* 1 (a live projector of one worker): its partitions are those the
                                consumer group "fofal-projector.<name>" gives it, so that several
                                processes share the work (projector.c, "Groups") */
  atomic_int *stop;
  void (*progress)(void *opaque, long long applied, long long remaining);
  void *progress_opaque;
} fofal_projector_opts_t;

typedef struct fofal_projector fofal_projector_t;
int fofal_projector_new(fofal_projector_t **out, const fofal_projector_opts_t *o, char *errbuf, size_t errlen);
/* Runs until *stop, or for a shadow until stop_at is reached. */
int fofal_projector_run(fofal_projector_t *p, char *errbuf, size_t errlen);
void fofal_projector_free(fofal_projector_t *p);
long long fofal_projector_applied(const fofal_projector_t *p);
/* What a projector did so far: transactions (batches) committed, and how many of them
 * failed as a whole and were applied again one savepoint per event ("replayed": a bad
 * event, or a bug that makes the pipelined path fail; see projector.c). */
typedef struct {
  long long events, batches, replayed, pipeline_flushes;
} fofal_projector_stats_t;
void fofal_projector_stats(const fofal_projector_t *p, fofal_projector_stats_t *out);

/* For apply functions: run SQL against the batch's transaction (skipped when this event
 * was already applied to PostgreSQL), and queue a Redis command (skipped when already
 * applied to Redis). Every `%s` in sql is replaced by the target schema (`%%` is a percent
 * sign); at most 8 KiB once expanded. */
int fofal_apply_sql(fofal_apply_ctx_t *ctx, const char *sql_fmt, int nparams, const char *const *params);
void fofal_apply_redis(fofal_apply_ctx_t *ctx, int argc, const char *const *argv);
/* Personal data (personal.c). The master key FOFAL_PD_MASTER_KEY (hex), set once at
 * start-up before any projector runs; "" or NULL leaves it unset (then an event with a
 * sealed field stops the projector with a clear error). 0 or FOFAL_EINVAL. */
int fofal_projections_pd_master(const char *hex);
/* The unwrapped key of `person` into key; with `create`, made first if missing. 0,
 * FOFAL_ENOENT (the person is erased — also with create — or, without create, never had
 * a key), FOFAL_ECONFIG (the stored key does not open with `master`) or FOFAL_EPG. */
int fofal_person_key(fofal_pg_t *pg, const unsigned char *master, const char *tenant, const char *person, int create,
                     unsigned char key[FOFAL_PD_KEY_BYTES], char *errbuf, size_t errlen);
/* Deletes the key of `person` (crypto-shredding), leaving a tombstone: every sealed field
 * of theirs reads "erased" from now on, and no key is made for them again. 0 or FOFAL_EPG. */
int fofal_person_erase(fofal_pg_t *pg, const char *tenant, const char *person, char *errbuf, size_t errlen);
/* Opens every sealed top-level field of obj in place ("erased" for an erased person or a
 * value that does not open). 0, or an error of fofal_person_key (errbuf; obj partly opened). */
int fofal_open_personal(fofal_pg_t *pg, const unsigned char *master, const char *tenant, json_t *obj, char *errbuf,
                        size_t errlen);
/* *out: a copy of ev->data (new) with every sealed field opened with its person's key —
 * "erased" when the key was deleted. Opens nothing when ctx->pg is NULL (nothing will be
 * written). 0, or FOFAL_EIO / FOFAL_ECONFIG with ctx->errbuf (then *out is NULL). */
int fofal_apply_open(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, json_t **out);

/* Reading an event's data for SQL parameters, shared by the modules' apply functions: a
 * string member or NULL; a number member as SQL text into buf (NULL when absent); any
 * member as compact JSON text (new, caller frees; NULL when absent); the event's sequence
 * number and time as text. */
const char *fofal_ev_str(const json_t *data, const char *key);
const char *fofal_ev_num(const json_t *data, const char *key, char buf[40]);
char *fofal_ev_jtext(const json_t *data, const char *key);
typedef struct {
  char seq[24], at[32];
} fofal_ev_meta_t;
void fofal_ev_meta(const fofal_event_t *ev, fofal_ev_meta_t *m);
/* A push for WebSocket clients of `module`: the event appended to the stream fofal:push,
 * which fofal-api tails. It is queued with the event's Redis commands, in the same Lua
 * script as the view it reports, so a push never precedes its projection and is never
 * sent twice. No-op when the projector does not push (ctx->push 0). */
void fofal_apply_push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *module);

/* ------------------------------------------------------- Redis, for operators
 * Used by rebuild.c and the fofal CLI; the projectors do not need them. */

/* Runs one command; its reply flattened into *out, a new NULL-terminated array of new
 * strings (free with fofal_redis_strings_free), *n elements: a string or integer gives one,
 * nil none, an array its elements depth-first (a nil element as ""). 0, FOFAL_EUNAVAIL or
 * FOFAL_EREDIS (an error reply; *out is NULL). */
int fofal_redis_query(fofal_redis_t *r, int argc, const char *const *argv, char ***out, size_t *n, char *errbuf,
                      size_t errlen);
void fofal_redis_strings_free(char **v);
/* GET key: *out is a new string, or NULL when the key does not exist. */
int fofal_redis_get(fofal_redis_t *r, const char *key, char **out, char *errbuf, size_t errlen);
/* Calls fn for every key matching the glob `pattern`, with SCAN's guarantees: a key that
 * exists throughout is seen at least once (maybe twice); one added or removed meanwhile may
 * or may not be. `key` is borrowed until fn returns; fn returns 0 to go on, anything else
 * stops the scan and is returned. */
int fofal_redis_scan(fofal_redis_t *r, const char *pattern, int (*fn)(void *opaque, const char *key), void *opaque,
                     char *errbuf, size_t errlen);
/* Deletes (UNLINK, in batches of 500) every key that starts with `prefix` (taken
 * literally: glob characters are escaped). *deleted (may be NULL) gets the count. */
int fofal_redis_del_prefix(fofal_redis_t *r, const char *prefix, long long *deleted, char *errbuf, size_t errlen);

/* ------------------------------------------------------- rebuild and verify
 * rebuild.c: DESIGN.md guarantee 8 (a read model is rebuilt into a shadow and swapped in
 * atomically, queries being served throughout) and the check of guarantee 5 (the live
 * read model equals a fresh rebuild). Both run a shadow projector (fofal_projector_* with
 * shadow = 1) into `<pg_schema>__rebuild` / `<pg_schema>__verify`, on connections of their
 * own, and serialise with each other per module through a session advisory lock
 * ("fofal-rebuild:<module>"): a second rebuild or verify of the same module fails with
 * FOFAL_EEXIST instead of waiting.
 *
 * Redis generations. A module's hot views live under "fofal:<module>:g<gen>:", where gen
 * is the integer at "fofal:<module>:gen". The projection named like its module
 * ("production") owns the views: its rebuild writes generation gen+1 and moves the gen key
 * in the swap. Any other projection of the module ("audit.production") has no views of its
 * own, only its applied offsets under the live generation: its rebuild leaves the
 * generation alone (moving it would hide the owner's views). */

typedef struct {
  const char *brokers, *pg_dsn, *redis_addr;
  const char *redis_user, *redis_password; /* AUTH (README, Security); "" or NULL: none */
  const fofal_projection_def_t *def;
  int max_batch;             /* events per PostgreSQL transaction of the shadow; 0: 5000 */
  int workers;               /* shadow projectors in parallel, each with its share of the
                                partitions, its thread and connections; 0: one per core
                                (at most the partitions, at most 8) */
  int wait_s;                /* how long to wait for the live projector to reach the shadow; 0: 60 */
  atomic_int *stop;        /* set (e.g. from a signal handler) to give up; may be NULL */
  int compare_redis;         /* verify: compare the Redis views too (the owner projection only) */
  /* One line per step and, while the shadow projects, at least one a second (no newline;
   * borrowed until the call returns). May be NULL. */
  void (*report)(void *opaque, const char *line);
  void *report_opaque;
} fofal_rebuild_opts_t;

typedef struct {
  long long events;          /* applied by the shadow projector (both passes) */
  double seconds;            /* wall time of the whole command */
  double events_per_s;       /* events / the time the shadow spent projecting */
  long long gen;             /* the module's Redis generation afterwards */
  long long batches;         /* the shadow's PostgreSQL transactions */
  long long replayed;        /* of which failed whole and were applied again event by event */
} fofal_rebuild_result_t;

/* Rebuilds o->def without downtime:
 *  1. drops what an interrupted run left (schemas <s>__rebuild and <s>__old, the offsets of
 *     "<name>@rebuild", Redis keys of other generations than the live one);
 *  2. creates <s>__rebuild with the live tables' definitions (LIKE … INCLUDING ALL), row-level
 *     security, policies and grants; refuses when the live schema holds a relation the
 *     projection does not list in def->tables (it would be lost in the swap) or when another
 *     projection writes the same schema;
 *  3. projects the topic up to its high watermarks (read_committed) as "<name>@rebuild";
 *  4. waits (bounded by wait_s, and while the live projector makes progress) until the live
 *     positions reach the shadow's, so that no WebSocket push is skipped;
 *  5. swaps, in one transaction holding the live projector's advisory lock: catches the
 *     shadow up to the live positions, renames <s> → <s>__old and <s>__rebuild → <s>, moves
 *     the live projector's positions (PostgreSQL and Redis applied offsets) to the shadow's
 *     and, right before COMMIT, the Redis generation (put back if the commit fails). The
 *     live projector's next batch sees its positions moved and reloads.
 *  6. drops <s>__old and the old generation's keys.
 * On failure or *stop, everything of the shadow is removed and the live model is untouched.
 * A projection of shared tables (def->module_column) has its shadow in
 * <s>__<module>__rebuild, and its swap replaces only the live rows whose column equals its
 * module (DELETE and INSERT in the swap transaction, instead of the renames of step 5);
 * other modules' rows are untouched, and their rebuilds may run at the same time.
 * 0 or a negative FOFAL_E* code (FOFAL_EABORT when stopped), detail in errbuf. */
int fofal_rebuild_run(const fofal_rebuild_opts_t *o, fofal_rebuild_result_t *res, char *errbuf, size_t errlen);

typedef struct {
  char name[72];             /* table name, or "redis:<kind>" for a kind of hot view ("redis:order") */
  char live[40], rebuilt[40];/* md5 of the rows (PostgreSQL) / 64-bit digest (Redis), hex */
  long long live_rows, rebuilt_rows; /* rows, or Redis keys */
  int equal;
} fofal_verify_item_t;

/* Builds a fresh shadow of o->def into <s>__verify (as "<name>@verify", Redis keys under
 * "fofal:<module>:verify:<name>:") up to the high watermarks, waits (bounded by wait_s) until
 * the live projector has reached it, then under the live projector's advisory lock catches
 * the shadow up to exactly the live positions and compares every table of def->tables: the
 * row count and md5 over the md5 of each row's text, ordered by primary key. With
 * o->compare_redis, for the projection that owns the module's Redis views, the views too:
 * per kind of view ("<tenant>:<kind>:…"), the key count and an order-independent digest of
 * every key and its content, applied offsets aside (it first waits, bounded, for the live
 * projector's Redis step to reach its PostgreSQL positions). A projection of shared
 * tables (def->module_column) compares only its module's rows, in <s>__<module>__verify.
 * The shadow is removed at the end, also on failure. *items is a new array of *n items (caller frees). 0 (compare
 * items[].equal) or a negative error. */
int fofal_verify_run(const fofal_rebuild_opts_t *o, fofal_verify_item_t **items, int *n, char *errbuf,
                     size_t errlen);

#endif
