/*
 * processor.c — the decider's stream processor: fofal.commands in, events out, exactly once.
 *
 * Role. Each instance is a member of the consumer group "fofal-decider". The owner of a
 * partition of fofal.commands is the single writer of every aggregate of the tenants
 * that hash there (fofal_tenant_partition; the key stays the aggregate id). It keeps, per
 * owned partition, the state of those aggregates and the results of recent commands (for
 * idempotency) in memory. Because a tenant's aggregates live together, a decider may read
 * any of them (fofal_cmd_t.lookup) and one decision may change several (a declaration
 * consumes its loom's beam and issues a label): their events, all on the tenant's
 * partition of the module's topic, and their states commit in the same transaction.
 *
 * Recovery. On assignment it first fetches the group's committed offsets (which waits
 * for in-flight transactions to settle), then reads the compacted fofal.decider.state
 * partition of the same number (one record per aggregate: tenant, version, state) and the
 * fofal.commands.results partition over the idempotency window. Nothing replays history.
 *
 * Idempotency. A command id seen within the window is not decided again: its first result
 * is written again (so that a waiting API instance hears it) and nothing else. That result
 * carries the fingerprint of the first request (idempotency.c), so the same id sent with
 * another request is told apart — counted here, refused by the API with
 * idempotency_key_reused — also after a restart, since the results are read back from
 * Kafka. Ids are remembered under fofal_result_key (tenant and id, never cut).
 *
 * One transaction per batch. For a batch of commands it writes the events
 * (fofal.<module>.events, key = aggregate id, the tenant's partition), the new aggregate states, the command
 * results and the consumed offsets in ONE Kafka transaction. Event offsets are needed in
 * the results (the position token), so the events are flushed before the results are
 * written, still inside the transaction. If the transaction must abort, every in-memory
 * change of the batch is undone, the consumer rewinds to the committed offsets and the
 * batch is decided again: a command is never decided twice into the log. A fenced
 * producer (another instance took over) is fatal: the process exits and restarts.
 *
 * Reactions. A command a reaction sent (fofal-reactor; it carries its trigger) that is
 * refused is also written to fofal.reactions.dlq in the same transaction: the trigger it
 * answers is committed and stays unanswered, which must be visible (reactor.c).
 *
 * Threads: all of it runs on the caller's thread; librdkafka has its own.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP_ID "fofal-decider"
#define TXN_TIMEOUT_MS 30000

typedef struct {
  char *result;     /* result JSON once final; NULL while pending in this batch */
  char *fingerprint;/* the first request's while pending (the result holds it after), or NULL */
  int64_t at_us;
  int pend;         /* index in the batch while pending, else -1 */
} idem_t;

typedef struct {
  fofal_map_t *aggs; /* aggregate id → record JSON {"tenant","v","s"} (char *) */
  fofal_map_t *idem; /* "tenant/command id" → idem_t * */
  char **fifo;       /* idem keys in the order they were remembered, for expiry */
  size_t fifo_head, fifo_len, fifo_cap;
  int owned;
} part_t;

typedef enum { ST_NONE, ST_ACCEPTED, ST_REJECTED, ST_CONFLICT, ST_DUP } status_t;

typedef struct {
  fofal_kmsg_t msg;
  status_t status;
  json_t *result;        /* built during processing; position added after the flush */
  char module[32];
  int32_t ev_partition;
  int64_t ev_offset;
  int ev_err;
  int dup_of;            /* ST_DUP within the same batch: index of the first */
  char *key;             /* fofal_result_key of the command (new), once decoded */
} pend_t;

typedef struct {
  int part, is_idem;
  char *key;
  void *old;             /* previous value (record string or idem_t *), NULL = absent */
} undo_t;

struct fofal_processor {
  fofal_processor_opts_t o;
  fofal_kafka_t *consumer, *producer, *reader;
  int nparts;
  part_t *parts;
  pend_t *pend;
  int npend;
  undo_t *undo;
  int nundo, capundo;
  fofal_map_t *event_parts; /* event topic → partition count */
  fofal_processor_stats_t st;
  char errbuf[512];
  int fatal;
};

static void free_idem(void *v) {
  idem_t *e = v;
  if (e) {
    free(e->result);
    free(e->fingerprint);
  }
  free(e);
}

static void fifo_push(part_t *pt, const char *key) {
  if (pt->fifo_len == pt->fifo_cap) {
    size_t cap = pt->fifo_cap ? pt->fifo_cap * 2 : 1024;
    char **q = fofal_calloc(cap, sizeof *q);
    for (size_t i = 0; i < pt->fifo_len; i++) q[i] = pt->fifo[(pt->fifo_head + i) % pt->fifo_cap];
    free(pt->fifo);
    pt->fifo = q;
    pt->fifo_cap = cap;
    pt->fifo_head = 0;
  }
  pt->fifo[(pt->fifo_head + pt->fifo_len++) % pt->fifo_cap] = fofal_strdup(key);
}

static void fifo_clear(part_t *pt) {
  for (size_t i = 0; i < pt->fifo_len; i++) free(pt->fifo[(pt->fifo_head + i) % pt->fifo_cap]);
  free(pt->fifo);
  pt->fifo = NULL;
  pt->fifo_head = pt->fifo_len = pt->fifo_cap = 0;
}

/* Forgets command ids older than the idempotency window, so memory stays bounded by the
 * command rate times the window rather than growing for ever. */
static void expire_idem(part_t *pt, int64_t older_than_us) {
  while (pt->fifo_len) {
    char *key = pt->fifo[pt->fifo_head];
    idem_t *e = fofal_map_get(pt->idem, key);
    if (e && e->at_us >= older_than_us) break;
    if (e && e->pend < 0) free_idem(fofal_map_take(pt->idem, key));
    free(key);
    pt->fifo_head = (pt->fifo_head + 1) % pt->fifo_cap;
    pt->fifo_len--;
  }
}

/* ------------------------------------------------------------------ undo */

static void remember(fofal_processor_t *p, int part, int is_idem, const char *key) {
  fofal_map_t *m = is_idem ? p->parts[part].idem : p->parts[part].aggs;
  if (p->nundo == p->capundo) {
    p->capundo = p->capundo ? p->capundo * 2 : 256;
    p->undo = fofal_realloc(p->undo, (size_t)p->capundo * sizeof *p->undo);
  }
  undo_t *u = &p->undo[p->nundo++];
  u->part = part;
  u->is_idem = is_idem;
  u->key = fofal_strdup(key);
  u->old = fofal_map_take(m, key); /* we own the old value until commit or rollback */
}

static void undo_commit(fofal_processor_t *p) {
  for (int i = 0; i < p->nundo; i++) {
    if (p->undo[i].is_idem) free_idem(p->undo[i].old);
    else free(p->undo[i].old);
    free(p->undo[i].key);
  }
  p->nundo = 0;
}

static void undo_rollback(fofal_processor_t *p) {
  for (int i = p->nundo - 1; i >= 0; i--) {
    undo_t *u = &p->undo[i];
    fofal_map_t *m = u->is_idem ? p->parts[u->part].idem : p->parts[u->part].aggs;
    void *cur = fofal_map_take(m, u->key);
    if (u->is_idem) free_idem(cur);
    else free(cur);
    if (u->old) fofal_map_put(m, u->key, u->old);
    free(u->key);
  }
  p->nundo = 0;
}

/* -------------------------------------------------------------- recovery */

static void drop_partition(fofal_processor_t *p, int part) {
  if (part < 0 || part >= p->nparts) return;
  fofal_map_free(p->parts[part].aggs);
  fofal_map_free(p->parts[part].idem);
  p->parts[part].aggs = fofal_map_new(free);
  p->parts[part].idem = fofal_map_new(free_idem);
  fifo_clear(&p->parts[part]);
  p->parts[part].owned = 0;
}

/* Reads one partition of a compacted topic from `start` to its end, calling fn per record. */
static int read_partition(fofal_processor_t *p, const char *topic, int32_t part, int64_t start,
                          void (*fn)(fofal_processor_t *p, int part, const fofal_kmsg_t *m)) {
  int64_t lo, hi;
  int rc = fofal_kafka_watermarks(p->reader, topic, part, &lo, &hi, 10000, p->errbuf, sizeof p->errbuf);
  if (rc) return rc;
  if (start == FOFAL_OFFSET_BEGINNING) start = lo;
  if (hi <= start) return 0;
  if ((rc = fofal_kafka_assign(p->reader, topic, &part, &start, 1, p->errbuf, sizeof p->errbuf))) return rc;
  int64_t deadline = fofal_mono_us() + 120 * 1000000LL;
  for (;;) {
    fofal_kmsg_t m;
    rc = fofal_kafka_consume(p->reader, 500, &m);
    if (rc < 0) break;
    if (rc == 0) {
      if (fofal_mono_us() > deadline) {
        rc = fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_ETIMEDOUT, "reading %s[%d] took over 120 s", topic, part);
        break;
      }
      continue;
    }
    int done = m.eof || m.offset >= hi - 1;
    if (!m.eof && m.value) fn(p, part, &m);
    fofal_kafka_msg_release(&m);
    if (done) {
      rc = 0;
      break;
    }
  }
  fofal_kafka_assign(p->reader, topic, NULL, NULL, 0, NULL, 0);
  return rc;
}

static void load_state(fofal_processor_t *p, int part, const fofal_kmsg_t *m) {
  if (!m->key) return;
  char *key = fofal_strndup(m->key, m->key_len);
  fofal_map_put(p->parts[part].aggs, key, fofal_strndup(m->value, m->len));
  free(key);
}

static void load_result(fofal_processor_t *p, int part, const fofal_kmsg_t *m) {
  if (!m->key) return;
  char *key = fofal_strndup(m->key, m->key_len);
  idem_t *e = fofal_calloc(1, sizeof *e);
  e->result = fofal_strndup(m->value, m->len);
  e->at_us = m->timestamp_ms * 1000;
  e->pend = -1;
  fofal_map_put(p->parts[part].idem, key, e);
  fifo_push(&p->parts[part], key);
  free(key);
}

static void on_rebalance(void *opaque, int assign, const char *topic, const int32_t *parts, int n) {
  fofal_processor_t *p = opaque;
  if (!assign) {
    for (int i = 0; i < n; i++) drop_partition(p, parts[i]);
    /* Drop gathered commands of revoked partitions: their new owner decides them. */
    int k = 0;
    for (int i = 0; i < p->npend; i++) {
      int revoked = 0;
      for (int j = 0; j < n; j++) revoked |= p->pend[i].msg.partition == parts[j];
      if (revoked) {
        fofal_kafka_msg_release(&p->pend[i].msg);
        free(p->pend[i].key);
      } else {
        p->pend[k++] = p->pend[i];
      }
    }
    p->npend = k;
    LOG_INFO("revoked %d partition(s) of %s", n, topic);
    return;
  }
  int64_t *offs = fofal_calloc((size_t)n, sizeof *offs);
  int64_t t0 = fofal_mono_us();
  int rc;
  /* Kafka may be electing leaders (a broker restart): transient errors are retried for a
   * minute before the decider gives up and exits for its supervisor to restart it. */
  for (int attempt = 0;; attempt++) {
    rc = fofal_kafka_committed(p->consumer, topic, parts, n, offs, 30000, p->errbuf, sizeof p->errbuf);
    if (!rc || attempt >= 120) break;
    usleep(500 * 1000);
  }
  long long aggs = 0, results = 0;
  for (int i = 0; i < n && !rc; i++) {
    int part = parts[i];
    if (part >= p->nparts) {
      rc = fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_ECONFIG, "partition %d of %s beyond %s's %d", part, topic,
                     FOFAL_TOPIC_STATE, p->nparts);
      break;
    }
    for (int attempt = 0;; attempt++) {
      drop_partition(p, part);
      int64_t since;
      rc = read_partition(p, FOFAL_TOPIC_STATE, part, FOFAL_OFFSET_BEGINNING, load_state);
      if (!rc)
        rc = fofal_kafka_offset_for_time(p->reader, FOFAL_TOPIC_RESULTS, part,
                                         (fofal_now_us() / 1000) - p->o.idempotency_window_s * 1000, &since, 10000,
                                         p->errbuf, sizeof p->errbuf);
      if (!rc) rc = read_partition(p, FOFAL_TOPIC_RESULTS, part, since, load_result);
      if (!rc || rc == FOFAL_ECONFIG || attempt >= 120) break;
      if (attempt % 10 == 0) LOG_WARN("recovering partition %d: %s; retrying", part, p->errbuf);
      usleep(500 * 1000);
    }
    if (rc) break;
    p->parts[part].owned = 1;
    aggs += (long long)fofal_map_size(p->parts[part].aggs);
    results += (long long)fofal_map_size(p->parts[part].idem);
    fofal_kafka_consumer_set_offset(p->consumer, part, offs[i]);
  }
  free(offs);
  if (rc) {
    /* Without its state a partition cannot be decided: stop, and let a restart retry. */
    LOG_ERROR("recovery of assigned partitions failed: %s", p->errbuf);
    p->fatal = rc;
    return;
  }
  LOG_INFO("assigned %d partition(s) of %s: recovered %lld aggregates and %lld recent results in %lld ms", n, topic,
           aggs, results, (long long)((fofal_mono_us() - t0) / 1000));
}

/* -------------------------------------------------------------- deciding */

static void on_event_delivered(void *opaque, int err, int32_t partition, int64_t offset) {
  pend_t *pe = opaque;
  if (err) pe->ev_err = err;
  else if (offset > pe->ev_offset) {
    pe->ev_offset = offset;
    pe->ev_partition = partition;
  }
}

static json_t *result_new(const fofal_cmd_t *cmd, const char *status) {
  json_t *res = json_pack("{s:s,s:s,s:s,s:s,s:s}", "command_id", cmd->id, "type", cmd->type, "tenant", cmd->tenant,
                          "aggregate", cmd->aggregate, "status", status);
  /* Kept with the result, so that a reuse of the id is recognised after a restart too. */
  if (cmd->fingerprint) json_object_set_new(res, "fingerprint", json_string(cmd->fingerprint));
  return res;
}

static void reject(pend_t *pe, const fofal_cmd_t *cmd, const char *code, const char *detail, json_t *errors) {
  pe->status = ST_REJECTED;
  pe->result = result_new(cmd, "rejected");
  json_object_set_new(pe->result, "code", json_string(code));
  json_object_set_new(pe->result, "detail", json_string(detail));
  if (errors) json_object_set_new(pe->result, "errors", errors);
}

/* The partition count of a module's event topic (asked once, then remembered). */
static int event_partitions(fofal_processor_t *p, const char *topic) {
  int *n = fofal_map_get(p->event_parts, topic);
  if (n) return *n;
  int c = fofal_kafka_partition_count_wait(p->producer, topic, 10000, p->errbuf, sizeof p->errbuf);
  if (c <= 0) return c < 0 ? c : fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_ECONFIG, "%s has no partition", topic);
  n = fofal_malloc(sizeof *n);
  *n = c;
  fofal_map_put(p->event_parts, topic, n);
  return c;
}

/* Produces the events of one aggregate (`subject`, at `version` before them) and appends a
 * summary of each to `summary`. Every event of a tenant goes to its tenant's partition. */
static int emit_events(fofal_processor_t *p, pend_t *pe, const fofal_cmd_t *cmd, const char *subject, int64_t version,
                       json_t *events, json_t *summary) {
  size_t i;
  json_t *e;
  char topic[64];
  fofal_topic_events(pe->module, topic, sizeof topic);
  int nparts = event_partitions(p, topic);
  if (nparts < 0) return nparts;
  int32_t part = fofal_tenant_partition(cmd->tenant, nparts);
  json_array_foreach(events, i, e) {
    char id[FOFAL_UUID_LEN + 1], source[48];
    fofal_uuid7(id);
    snprintf(source, sizeof source, "/fofal/%s", pe->module);
    fofal_event_t ev = {.id = id, .source = source, .type = (char *)json_string_value(json_object_get(e, "type")),
                        .subject = (char *)subject, .time_us = fofal_now_us(), .tenant = (char *)cmd->tenant,
                        .seq = version + (int64_t)i + 1, .actor = (char *)cmd->actor, .command_id = (char *)cmd->id,
                        .correlation_id = (char *)cmd->correlation_id, .data = json_object_get(e, "data")};
    char *buf = fofal_event_encode(&ev);
    const fofal_kheader_t *h;
    int nh = fofal_event_kafka_headers(&h);
    int rc = fofal_kafka_produce(p->producer, topic, part, subject, strlen(subject), buf, strlen(buf), h, nh,
                                 on_event_delivered, pe, p->errbuf, sizeof p->errbuf);
    free(buf);
    if (rc) return rc;
    json_t *sum = json_pack("{s:s,s:s,s:I}", "id", id, "type", ev.type, "seq", (json_int_t)ev.seq);
    if (strcmp(subject, cmd->aggregate)) json_object_set_new(sum, "aggregate", json_string(subject));
    if (json_object_get(e, "issued")) json_object_set(sum, "issued", json_object_get(e, "issued"));
    json_array_append_new(summary, sum);
  }
  return 0;
}

/* Writes an aggregate's new state record (compacted topic, the command's partition) and
 * keeps it in memory, undoably. */
static int put_state(fofal_processor_t *p, int part, const char *tenant, const char *aggregate, int64_t version,
                     const json_t *state) {
  json_t *nrec = json_pack("{s:s,s:I,s:O}", "tenant", tenant, "v", (json_int_t)version, "s", state);
  char *nrecs = fofal_json_dumps(nrec, JSON_COMPACT);
  json_decref(nrec);
  int rc = fofal_kafka_produce(p->producer, FOFAL_TOPIC_STATE, part, aggregate, strlen(aggregate), nrecs, strlen(nrecs),
                               NULL, 0, NULL, NULL, p->errbuf, sizeof p->errbuf);
  if (rc) {
    free(nrecs);
    return rc;
  }
  remember(p, part, 0, aggregate);
  fofal_map_put(p->parts[part].aggs, aggregate, nrecs);
  return 0;
}

/* What deciders see of the other aggregates: the records of the command's partition (all
 * of its tenant's aggregates), parsed on demand and held until the decision is done. */
typedef struct {
  fofal_lookup_t base;
  fofal_processor_t *p;
  int part;
  const char *tenant;
  json_t *held; /* id → parsed record */
} lookup_t;

static json_t *lookup_record(const lookup_t *l, const char *id) {
  json_t *rec = json_object_get(l->held, id);
  if (rec) return rec;
  const char *recs = fofal_map_get(l->p->parts[l->part].aggs, id);
  if (!recs || !(rec = json_loads(recs, 0, NULL))) return NULL;
  if (strcmp(json_string_value(json_object_get(rec, "tenant")) ?: "", l->tenant)) {
    json_decref(rec);
    return NULL; /* another tenant's aggregate is not there at all */
  }
  json_object_set_new(l->held, id, rec);
  return rec;
}

static const json_t *lookup_get(const fofal_lookup_t *base, const char *id) {
  return json_object_get(lookup_record((const lookup_t *)base, id), "s");
}

/* Writes the events and states a decision gave other aggregates. */
static int apply_others(fofal_processor_t *p, pend_t *pe, const fofal_cmd_t *cmd, lookup_t *lk, json_t *others,
                        json_t *summary) {
  const char *id;
  json_t *o;
  json_object_foreach(others, id, o) {
    json_t *evs = json_object_get(o, "events"), *st = json_object_get(o, "state");
    json_t *rec = lookup_record(lk, id);
    int64_t v = rec ? json_integer_value(json_object_get(rec, "v")) : 0;
    int rc = emit_events(p, pe, cmd, id, v, evs, summary);
    if (!rc) rc = put_state(p, pe->msg.partition, cmd->tenant, id, v + (int64_t)json_array_size(evs), st);
    if (rc) return rc;
    json_object_del(lk->held, id); /* the record changed */
  }
  return 0;
}

/* Why the other aggregates of a decision cannot be written (a decider's bug), or NULL. The
 * command is then refused, never the batch aborted: deciding again would fail again. */
static const char *bad_others(const fofal_cmd_t *cmd, const json_t *others) {
  const char *id;
  json_t *o;
  json_object_foreach((json_t *)others, id, o) {
    if (!strcmp(id, cmd->aggregate)) return "the decision changes its own aggregate as another";
    if (!json_array_size(json_object_get(o, "events")) || !json_is_object(json_object_get(o, "state")))
      return "the decision changes an aggregate without an event and a state";
  }
  return NULL;
}

/* 1 if a decision touches an id held by another tenant (a client named it): the command
 * is then refused as if the aggregate did not exist, and nothing is written. */
static int touches_foreign(fofal_processor_t *p, int part, const lookup_t *lk, const json_t *others) {
  const char *id;
  json_t *o;
  json_object_foreach((json_t *)others, id, o) {
    if (fofal_map_get(p->parts[part].aggs, id) && !lookup_record(lk, id)) return 1;
  }
  return 0;
}

/* A reaction's command refused (commands.h "reactions"): its trigger, committed already,
 * stays unanswered, so the refusal goes to fofal.reactions.dlq with the trigger and the
 * reason, in this batch's transaction (exactly once, like the result). */
static int reaction_refused(fofal_processor_t *p, const pend_t *pe, const fofal_cmd_t *cmd) {
  const char *code = json_string_value(json_object_get(pe->result, "code"));
  const char *detail = json_string_value(json_object_get(pe->result, "detail"));
  const char *key = json_string_value(json_object_get(cmd->trigger, "id"));
  char why[320];
  snprintf(why, sizeof why, "%s: %s", code ? code : "", detail ? detail : "");
  const fofal_reaction_t *r = cmd->actor && !strncmp(cmd->actor, "r:", 2) ? fofal_reaction_find(cmd->actor + 2) : NULL;
  for (int i = 0; code && r && r->not_applicable && r->not_applicable[i]; i++)
    if (!strcmp(code, r->not_applicable[i])) {
      LOG_DEBUG("reaction command %s (%s) does not apply: %s", cmd->id, cmd->actor, why);
      return 0;
    }
  fofal_kheader_t h[] = {{"fofal_dlq_reason", why}};
  char *rec = fofal_reaction_dlq_record("rejected", cmd->trigger, code, detail, cmd);
  if (!key) key = cmd->id;
  LOG_WARN("reaction command %s (%s) refused, sent to %s: %s", cmd->id, cmd->actor ? cmd->actor : "",
           FOFAL_TOPIC_REACTIONS_DLQ, why);
  int rc = fofal_kafka_produce(p->producer, FOFAL_TOPIC_REACTIONS_DLQ, -1, key, strlen(key), rec, strlen(rec), h, 1,
                               NULL, NULL, p->errbuf, sizeof p->errbuf);
  free(rec);
  return rc;
}

/* Decides one command. Returns 0 (whatever the business outcome) or a Kafka error that
 * aborts the batch. */
static int decide_one(fofal_processor_t *p, int idx) {
  pend_t *pe = &p->pend[idx];
  int part = pe->msg.partition, rc = 0;
  json_t *holder = NULL, *rec = NULL, *errors = NULL;
  fofal_cmd_t cmd;
  fofal_decision_t d = {0};
  lookup_t lk = {.base = {.get = lookup_get}, .p = p, .part = part, .held = json_object()};
  char err[256];

  if (fofal_command_decode(&cmd, &holder, pe->msg.value, pe->msg.len, err, sizeof err)) {
    fofal_kheader_t h[] = {{"fofal_dlq_reason", err}};
    pe->status = ST_NONE;
    LOG_WARN("malformed command at %s[%d]@%lld sent to %s: %s", pe->msg.topic, part, (long long)pe->msg.offset,
             FOFAL_TOPIC_COMMANDS_DLQ, err);
    rc = fofal_kafka_produce(p->producer, FOFAL_TOPIC_COMMANDS_DLQ, -1, pe->msg.key, pe->msg.key_len, pe->msg.value,
                             pe->msg.len, h, 1, NULL, NULL, p->errbuf, sizeof p->errbuf);
    goto out;
  }
  p->st.commands++;
  free(pe->key);
  pe->key = fofal_result_key(cmd.tenant, cmd.id);
  idem_t *seen = fofal_map_get(p->parts[part].idem, pe->key);
  if (seen) {
    /* Decided before (or earlier in this batch): its first result answers, nothing is
     * written. Whether this is a retry or a reuse of the id for another request, the
     * first result's fingerprint tells the API, which answers accordingly. */
    pe->status = ST_DUP;
    pe->dup_of = seen->pend;
    if (seen->pend < 0) pe->result = json_loads(seen->result, 0, NULL);
    const char *first_fp =
        seen->pend < 0 ? json_string_value(json_object_get(pe->result, "fingerprint")) : seen->fingerprint;
    if (fofal_command_same_request(first_fp, cmd.fingerprint)) p->st.duplicates++;
    else p->st.reused++;
    goto out;
  }
  remember(p, part, 1, pe->key);
  idem_t *mine = fofal_calloc(1, sizeof *mine);
  mine->fingerprint = cmd.fingerprint ? fofal_strdup(cmd.fingerprint) : NULL;
  mine->pend = idx;
  mine->at_us = fofal_now_us();
  fofal_map_put(p->parts[part].idem, pe->key, mine);
  fifo_push(&p->parts[part], pe->key);

  const fofal_command_def_t *def = fofal_registry_find(p->o.registry, cmd.type);
  if (!def || fofal_command_module(cmd.type, pe->module, sizeof pe->module) ||
      fofal_topic_events(pe->module, err, sizeof err)) {
    reject(pe, &cmd, "unknown_command_type", "no such command type", NULL);
    goto out;
  }
  int vrc = fofal_registry_validate_sealed(p->o.registry, cmd.type, cmd.data, &errors);
  if (vrc) {
    reject(pe, &cmd, "invalid_command", "the command does not match its schema", errors);
    errors = NULL;
    goto out;
  }
  const char *recs = fofal_map_get(p->parts[part].aggs, cmd.aggregate);
  int64_t version = 0;
  const json_t *state = NULL;
  if (recs) {
    rec = json_loads(recs, 0, NULL);
    if (!rec || strcmp(json_string_value(json_object_get(rec, "tenant")) ?: "", cmd.tenant)) {
      /* Another tenant's aggregate is, to this tenant, not there at all. */
      reject(pe, &cmd, def->creates == 1 ? "already_exists" : "not_found",
             def->creates == 1 ? "an aggregate with this id exists" : "no such aggregate", NULL);
      goto out;
    }
    version = json_integer_value(json_object_get(rec, "v"));
    state = json_object_get(rec, "s");
  }
  if (def->creates == 1 && state) {
    reject(pe, &cmd, "already_exists", "an aggregate with this id exists", NULL);
    goto out;
  }
  if (!def->creates && !state) {
    reject(pe, &cmd, "not_found", "no such aggregate", NULL);
    goto out;
  }
  if (cmd.expected_version >= 0 && cmd.expected_version != version) {
    pe->status = ST_CONFLICT;
    pe->result = result_new(&cmd, "conflict");
    json_object_set_new(pe->result, "code", json_string("version_conflict"));
    json_object_set_new(pe->result, "detail", json_string("the aggregate changed since the version you read"));
    json_object_set_new(pe->result, "current_version", json_integer(version));
    json_object_set_new(pe->result, "expected_version", json_integer(cmd.expected_version));
    goto out;
  }
  lk.tenant = cmd.tenant;
  cmd.lookup = &lk.base;
  if (def->decide(&cmd, state, &d)) {
    reject(pe, &cmd, d.code, d.detail, NULL);
    goto out;
  }
  const char *why = d.others ? bad_others(&cmd, d.others) : NULL;
  if (why) {
    LOG_ERROR("decider of %s: %s (command %s refused)", cmd.type, why, cmd.id);
    reject(pe, &cmd, "decider_error", why, NULL);
    goto out;
  }
  if (d.others && touches_foreign(p, part, &lk, d.others)) {
    reject(pe, &cmd, "not_found", "no such aggregate", NULL);
    goto out;
  }
  size_t nev = json_array_size(d.events);
  pe->status = ST_ACCEPTED;
  pe->result = result_new(&cmd, "accepted");
  json_object_set_new(pe->result, "version", json_integer(version + (json_int_t)nev));
  json_t *summary = json_array();
  json_object_set_new(pe->result, "events", summary);
  if ((rc = emit_events(p, pe, &cmd, cmd.aggregate, version, d.events, summary))) goto out;
  if ((rc = put_state(p, part, cmd.tenant, cmd.aggregate, version + (int64_t)nev, d.state))) goto out;
  if (d.others && (rc = apply_others(p, pe, &cmd, &lk, d.others, summary))) goto out;
out:
  if (!rc && cmd.trigger && (pe->status == ST_REJECTED || pe->status == ST_CONFLICT)) rc = reaction_refused(p, pe, &cmd);
  json_decref(lk.held);
  json_decref(d.events);
  json_decref(d.state);
  json_decref(d.others);
  json_decref(errors);
  json_decref(rec);
  json_decref(holder);
  return rc;
}

/* Completes results (positions), records them for idempotency and writes them. */
static int write_results(fofal_processor_t *p) {
  int rc = 0;
  for (int i = 0; i < p->npend && !rc; i++) {
    pend_t *pe = &p->pend[i];
    if (pe->status == ST_NONE) continue;
    if (pe->status == ST_ACCEPTED) {
      if (pe->ev_err)
        return fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_EABORT, "an event of command %s was not delivered", pe->key);
      char pos[96];
      snprintf(pos, sizeof pos, "%s:%d:%lld", pe->module, pe->ev_partition, (long long)pe->ev_offset);
      json_object_set_new(pe->result, "position", json_string(pos));
    }
    if (pe->status == ST_DUP && !pe->result && pe->dup_of >= 0) pe->result = json_incref(p->pend[pe->dup_of].result);
    if (!pe->result) continue;
    char *s = fofal_json_dumps(pe->result, JSON_COMPACT);
    if (pe->status != ST_DUP) {
      idem_t *e = fofal_map_get(p->parts[pe->msg.partition].idem, pe->key);
      if (e) {
        free(e->result);
        e->result = fofal_strdup(s);
        free(e->fingerprint); /* the result holds it now */
        e->fingerprint = NULL;
        e->pend = -1;
      }
      if (pe->status == ST_ACCEPTED) p->st.accepted++;
      else if (pe->status == ST_CONFLICT) p->st.conflicts++;
      else p->st.rejected++;
    }
    /* A duplicate's result is written again so that a waiting API instance hears it. */
    rc = fofal_kafka_produce(p->producer, FOFAL_TOPIC_RESULTS, pe->msg.partition, pe->key, strlen(pe->key), s,
                             strlen(s), NULL, 0, NULL, NULL, p->errbuf, sizeof p->errbuf);
    free(s);
  }
  return rc;
}

static void clear_batch(fofal_processor_t *p) {
  for (int i = 0; i < p->npend; i++) {
    fofal_kafka_msg_release(&p->pend[i].msg);
    json_decref(p->pend[i].result);
    free(p->pend[i].key);
    p->pend[i].key = NULL;
  }
  p->npend = 0;
}

static int run_batch(fofal_processor_t *p) {
  int rc;
  int64_t t0 = fofal_mono_us(), t1 = 0, t2 = 0, t3 = 0;
  if ((rc = fofal_kafka_txn_begin(p->producer, p->errbuf, sizeof p->errbuf))) return rc;
  for (int i = 0; i < p->npend && !rc; i++) rc = decide_one(p, i);
  t1 = fofal_mono_us();
  if (!rc && fofal_kafka_flush(p->producer, TXN_TIMEOUT_MS))
    rc = fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_EABORT, "events not delivered within %d ms", TXN_TIMEOUT_MS);
  t2 = fofal_mono_us();
  if (!rc) rc = write_results(p);
  for (int attempt = 0; !rc || rc == FOFAL_ETIMEDOUT; attempt++) {
    rc = fofal_kafka_txn_commit(p->producer, p->consumer, TXN_TIMEOUT_MS, p->errbuf, sizeof p->errbuf);
    if (rc != FOFAL_ETIMEDOUT || attempt >= 3) break;
  }
  t3 = fofal_mono_us();
  LOG_DEBUG("batch of %d: decide %lld us, flush events %lld us, results and commit %lld us", p->npend,
            (long long)(t1 - t0), (long long)(t2 - t1), (long long)(t3 - t2));
  if (!rc) {
    undo_commit(p);
    p->st.batches++;
    p->st.decide_us += t1 - t0;
    p->st.flush_us += t2 - t1;
    p->st.commit_us += t3 - t2;
    int64_t horizon = fofal_now_us() - p->o.idempotency_window_s * 1000000;
    for (int i = 0; i < p->nparts; i++) expire_idem(&p->parts[i], horizon);
    return 0;
  }
  if (rc == FOFAL_EFENCED) return rc;
  LOG_WARN("aborting a batch of %d commands: %s", p->npend, p->errbuf);
  p->st.aborts++;
  undo_rollback(p);
  char e2[256];
  int arc = fofal_kafka_txn_abort(p->producer, TXN_TIMEOUT_MS, p->o.stop, e2, sizeof e2);
  if (arc == FOFAL_EFENCED) return fofal_err(p->errbuf, sizeof p->errbuf, arc, "%s", e2);
  if (arc) LOG_WARN("abort: %s", e2);
  /* Rewind: the batch is read and decided again from the committed offsets. */
  if ((arc = fofal_kafka_rewind_to_committed(p->consumer, 30000, e2, sizeof e2))) LOG_WARN("%s", e2);
  return 0;
}

/* ----------------------------------------------------------------- life */

int fofal_processor_new(fofal_processor_t **out, const fofal_processor_opts_t *o, char *errbuf, size_t errlen) {
  int rc;
  fofal_processor_t *p = fofal_calloc(1, sizeof *p);
  p->o = *o;
  if (p->o.max_batch <= 0) p->o.max_batch = 1000;
  if (p->o.batch_wait_ms <= 0) p->o.batch_wait_ms = 5;
  if (p->o.idempotency_window_s <= 0) p->o.idempotency_window_s = 24 * 3600;
  p->pend = fofal_calloc((size_t)p->o.max_batch, sizeof *p->pend);
  p->event_parts = fofal_map_new(free);
  char txid[160], client[160];
  snprintf(txid, sizeof txid, "fofal-decider-%s", o->instance_id);
  snprintf(client, sizeof client, "fofal-decider-%s", o->instance_id);
  fofal_kafka_opts_t po = {.brokers = o->brokers, .client_id = client, .transactional_id = txid,
                           .linger_ms = o->linger_ms > 0 ? o->linger_ms : 1};
  fofal_kafka_opts_t co = {.brokers = o->brokers, .client_id = client, .group_id = GROUP_ID, .read_committed = 1,
                           .rebalance = on_rebalance, .opaque = p};
  fofal_kafka_opts_t ro = {.brokers = o->brokers, .client_id = client, .read_committed = 1, .partition_eof = 1};
  if ((rc = fofal_kafka_producer_new(&p->producer, &po, errbuf, errlen)) ||
      (rc = fofal_kafka_consumer_new(&p->consumer, &co, errbuf, errlen)) ||
      (rc = fofal_kafka_consumer_new(&p->reader, &ro, errbuf, errlen)))
    goto out;
  int ncmd = fofal_kafka_partition_count_wait(p->producer, FOFAL_TOPIC_COMMANDS, 10000, errbuf, errlen);
  int nstate = fofal_kafka_partition_count_wait(p->producer, FOFAL_TOPIC_STATE, 10000, errbuf, errlen);
  int nres = fofal_kafka_partition_count_wait(p->producer, FOFAL_TOPIC_RESULTS, 10000, errbuf, errlen);
  if (ncmd < 0 || nstate < 0 || nres < 0) {
    rc = ncmd < 0 ? ncmd : nstate < 0 ? nstate : nres;
    goto out;
  }
  if (ncmd != nstate || ncmd != nres) {
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s, %s and %s must have the same partition count (%d, %d, %d)",
                   FOFAL_TOPIC_COMMANDS, FOFAL_TOPIC_STATE, FOFAL_TOPIC_RESULTS, ncmd, nstate, nres);
    goto out;
  }
  p->nparts = ncmd;
  p->parts = fofal_calloc((size_t)ncmd, sizeof *p->parts);
  for (int i = 0; i < ncmd; i++) {
    p->parts[i].aggs = fofal_map_new(free);
    p->parts[i].idem = fofal_map_new(free_idem);
  }
  if ((rc = fofal_kafka_txn_init(p->producer, TXN_TIMEOUT_MS, p->o.stop, errbuf, errlen))) goto out;
  const char *topics[] = {FOFAL_TOPIC_COMMANDS};
  rc = fofal_kafka_subscribe(p->consumer, topics, 1, errbuf, errlen);
out:
  if (rc) {
    fofal_processor_free(p);
    p = NULL;
  }
  *out = p;
  return rc;
}

void fofal_processor_log_stats(const fofal_processor_t *p) {
  fofal_processor_stats_t st;
  fofal_processor_stats(p, &st);
  long long b = st.batches > 0 ? st.batches : 1;
  LOG_INFO("%lld commands (%lld accepted, %lld rejected, %lld conflicts, %lld duplicates, %lld reused ids) in %lld "
           "transactions, %lld aborted; %lld aggregates held in %lld bytes; a transaction on average: deciding %lld us, "
           "delivering events %lld us, results and commit %lld us",
           st.commands, st.accepted, st.rejected, st.conflicts, st.duplicates, st.reused, st.batches, st.aborts,
           st.aggregates, st.state_bytes, st.decide_us / b, st.flush_us / b, st.commit_us / b);
}

int fofal_processor_run(fofal_processor_t *p, char *errbuf, size_t errlen) {
  int rc = 0;
  int64_t next_stats = fofal_mono_us() + (int64_t)p->o.stats_interval_s * 1000000;
  while (!fofal_stopped(p->o.stop) && !p->fatal) {
    if (p->o.stats_interval_s > 0 && fofal_mono_us() >= next_stats) {
      fofal_processor_log_stats(p);
      next_stats = fofal_mono_us() + (int64_t)p->o.stats_interval_s * 1000000;
    }
    fofal_kmsg_t m;
    int64_t deadline = 0;
    /* Gather a batch: wait for a first command, then take what arrives within batch_wait_ms. */
    while (p->npend < p->o.max_batch && !p->fatal) {
      int timeout = fofal_batch_wait_ms(deadline, 0); /* no gap: batch_wait_ms is the whole wait */
      if (!timeout) break;
      rc = fofal_kafka_consume(p->consumer, timeout, &m);
      if (rc < 0) {
        p->fatal = rc;
        fofal_err(p->errbuf, sizeof p->errbuf, rc, "fatal consumer error");
        break;
      }
      if (rc == 0) {
        if (!deadline) break;
        continue;
      }
      if (m.eof) {
        fofal_kafka_msg_release(&m);
        continue;
      }
      pend_t *pe = &p->pend[p->npend++];
      memset(pe, 0, sizeof *pe);
      pe->msg = m;
      pe->ev_offset = -1;
      pe->dup_of = -1;
      if (!deadline) deadline = fofal_mono_us() + (int64_t)p->o.batch_wait_ms * 1000;
    }
    if (p->fatal) break;
    if (p->npend == 0) continue;
    rc = run_batch(p);
    clear_batch(p);
    if (rc) {
      p->fatal = rc;
      break;
    }
  }
  if (p->fatal) {
    rc = fofal_err(errbuf, errlen, p->fatal, "%s", p->errbuf);
  } else {
    rc = 0;
  }
  return rc;
}

static void add_len(void *opaque, const char *key, void *value) {
  (void)key;
  *(long long *)opaque += (long long)strlen(value) + 1;
}

void fofal_processor_stats(const fofal_processor_t *p, fofal_processor_stats_t *st) {
  *st = p->st;
  st->aggregates = 0;
  st->state_bytes = 0;
  for (int i = 0; i < p->nparts; i++) {
    st->aggregates += (long long)fofal_map_size(p->parts[i].aggs);
    st->state_bytes += (long long)fofal_map_bytes(p->parts[i].aggs);
    fofal_map_each(p->parts[i].aggs, add_len, &st->state_bytes);
  }
}

void fofal_processor_free(fofal_processor_t *p) {
  if (!p) return;
  clear_batch(p);
  undo_commit(p);
  free(p->undo);
  fofal_kafka_free(p->consumer);
  fofal_kafka_free(p->reader);
  fofal_kafka_free(p->producer);
  for (int i = 0; i < p->nparts; i++) {
    fofal_map_free(p->parts[i].aggs);
    fofal_map_free(p->parts[i].idem);
    fifo_clear(&p->parts[i]);
  }
  free(p->parts);
  free(p->pend);
  fofal_map_free(p->event_parts);
  free(p);
}
