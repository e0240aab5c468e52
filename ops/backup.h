/*
 * backup.h — `fofal backup` and `fofal restore` (backup.c): the log that is not derived,
 * written to a folder as checksummed, incremental segments and produced back as it was.
 */
#ifndef FOFAL_OPS_BACKUP_H
#define FOFAL_OPS_BACKUP_H

#include <jansson.h>
#include <stdatomic.h>

typedef struct {
  const char *brokers;
  const char *dir;          /* the archive's folder (created by a first backup) */
  const char *topic_prefix; /* restore: put topic T into <prefix>T; NULL or "": T itself */
  const char *pg_dsn;       /* the database of identity_keys.person_keys (as its owner) */
  int keys_only;            /* restore: only the person keys (PostgreSQL lost, Kafka intact) */
  const char *files_dir;    /* the stored files (FOFAL_FILES_DIR, api/filestore.h); NULL or "": none */
  atomic_int *stop;         /* may be NULL; set: stop at the next record, nothing half-written */
} fofal_backup_opts_t;

/* Appends to the archive every committed record written since its last backup (all of them
 * on the first): the event topics and the compacted topics of fofal_topics_all, the
 * positions of the consumer groups that read them, and the person data keys (wrapped under
 * the master key, which is never archived) of identity_keys.person_keys, whole. Progress on stderr. *summary (new) says
 * what was written. 0, or a FOFAL_E* code with the reason in errbuf (the archive as it was). */
int fofal_backup_run(const fofal_backup_opts_t *o, json_t **summary, char *errbuf, size_t errlen);

/* Checks every checksum of the archive first (FOFAL_EPARSE: damaged, nothing written), then
 * refuses a target partition that holds records or a person whose stored key differs
 * (FOFAL_EEXIST), then produces every record to its topic (created when missing) and
 * partition in order, commits the groups' positions translated to the new offsets, and
 * inserts the person keys that are missing. *summary (new) says what was restored. */
int fofal_restore_run(const fofal_backup_opts_t *o, json_t **summary, char *errbuf, size_t errlen);

#endif
