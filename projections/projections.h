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
