/*
 * reactor.c — fofal-reactor's stream processor: other modules' events in, the reacting
 * modules' commands out, exactly once per (reaction, trigger).
 *
 * Role. Each instance is a member of the consumer group "fofal-reactor", which reads
 * (read_committed) every event topic a registered reaction listens to (commands.h,
 * "reactions"; the reactions come from the module folders, none is named here). A record
 * whose bytes name none of the reactions' event types is passed over undecoded; the others
 * are decoded (and upcast) and given to each reaction that answers their type. A reaction is
 * a pure function: its command is made by fofal_reaction_apply — id fofal_reaction_command_id
 * (reaction name, trigger event id), actor "r:<reaction>", the trigger's tenant and
 * correlation id, keyed by aggregate id on the tenant's partition of fofal.commands as the
 * API does (fofal_command_produce) — and carries its trigger's place (topic, partition,
 * offset).
 *
 * Exactly once (consume-transform-produce, as librdkafka's examples/transactions.c). For a
 * batch of records it writes the commands, the DLQ records and the consumed offsets in ONE
 * Kafka transaction. If the transaction aborts (Kafka unavailable, a produce error, a
 * timeout), the consumer rewinds to the committed offsets and the batch is done again; a
 * kill -9 at any point leaves either the whole batch (commands and offsets) or none of it.
 * A second line of defence: the command id depends only on (reaction, trigger id), and an
 * event keeps its id in the log, so a command sent again by an instance that was fenced
 * just after producing — or by anything that replays the triggers — has the id of the
 * first, which the decider's idempotency drops (within its window, 24 h by default).
 *
 * Never rejecting the trigger, never losing a reaction. A trigger is committed before any
 * reaction sees it; nothing here can undo it. What cannot be carried out is a record of
 * fofal.reactions.dlq (kept like events, retention.ms=-1; fofal_reaction_dlq_record) with
 * the reason and where the trigger is: stage "transform" when the reaction fails or makes a
 * command that cannot be sent (unknown type, another module's, no aggregate, not matching
 * its schema), "decode" when a record that names a reaction's event type cannot be read —
 * both written here, in the batch's transaction; and stage "rejected" when the decider
 * refuses the command (unknown loom, wrong state...): fofal-decider writes that record in
 * the transaction that decides the command (processor.c), since only it knows. Replaying a
 * DLQ'd trigger after fixing its cause is an operator's act: send the command again.
 *
 * Recovery. Nothing is held between batches but the consumer's position: on a rebalance the
 * gathered batch is dropped and the consumer rewinds to the committed offsets, so the new
 * owners carry on from there. A first start (no committed offsets) reads the reactions'
 * topics from their beginning; a reaction added later to a topic the group already reads
 * answers the events from then on.
 *
 * Failures. Fenced (another instance took our transactional id): fatal, the process exits
 * and its supervisor restarts it. A consumer error: fatal too.
 *
 * Threads: all of it runs on the caller's thread; librdkafka has its own.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_ID "fofal-reactor"
#define TXN_TIMEOUT_MS 30000
#define MAX_TOPICS 32
#define MAX_NEEDLES 128

struct fofal_reactor {
  fofal_reactor_opts_t o;
  fofal_kafka_t *consumer, *producer;
  char *topics[MAX_TOPICS];
  int ntopics;
  char *needles[MAX_NEEDLES]; /* "\"fofal.<m>.<name>." of every answered type: the byte look */
  int nneedles;
  int cmd_parts;
  int rebalanced;
  fofal_kmsg_t *batch;
  int nbatch;
  fofal_reactor_stats_t st;
  char errbuf[512];
};

static void on_rebalance(void *opaque, int assign, const char *topic, const int32_t *parts, int n) {
  fofal_reactor_t *r = opaque;
  LOG_INFO("%s %d partition(s) of %s", assign ? "assigned" : "revoked", n, topic);
  (void)parts;
  r->rebalanced = 1;
}

static void add_unique(char **list, int *n, int cap, const char *s) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(list[i], s)) return;
  if (*n < cap) list[(*n)++] = fofal_strdup(s);
}

/* The topics to read and the byte patterns of the answered types, from the table. */
static int collect(fofal_reactor_t *r, char *errbuf, size_t errlen) {
  for (int m = 0; fofal_reaction_modules[m]; m++)
    for (const fofal_reaction_t *re = fofal_reaction_modules[m]->reactions; re && re->name; re++)
      for (int i = 0; re->on[i]; i++) {
        char module[64], topic[128], needle[160];
        if (fofal_event_type_module(re->on[i], module, sizeof module) ||
            fofal_topic_events(module, topic, sizeof topic))
          return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "reaction %s: no event topic for %s", re->name, re->on[i]);
        add_unique(r->topics, &r->ntopics, MAX_TOPICS, topic);
        /* Any version: an older one is upcast on decoding. */
        snprintf(needle, sizeof needle, "\"%.*s.", (int)(strrchr(re->on[i], '.') - re->on[i]), re->on[i]);
        add_unique(r->needles, &r->nneedles, MAX_NEEDLES, needle);
      }
  if (!r->ntopics) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "no reaction is registered");
  return 0;
}

static int names_a_trigger(const fofal_reactor_t *r, const fofal_kmsg_t *m) {
  for (int i = 0; i < r->nneedles; i++)
    if (memmem(m->value, m->len, r->needles[i], strlen(r->needles[i]))) return 1;
  return 0;
}

static int answers(const fofal_reaction_t *re, const char *type) {
  for (int i = 0; type && re->on[i]; i++)
    if (!strcmp(re->on[i], type)) return 1;
  return 0;
}

/* Produces inside the transaction, waiting while the local queue is full. */
static int produce(fofal_reactor_t *r, const char *topic, const char *key, const char *value, const char *why) {
  fofal_kheader_t h[] = {{"fofal_dlq_reason", why}};
  int rc;
  while ((rc = fofal_kafka_produce(r->producer, topic, -1, key, strlen(key), value, strlen(value), h, why ? 1 : 0, NULL,
                                   NULL, r->errbuf, sizeof r->errbuf)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(r->producer, 10);
  return rc;
}

static int dead_letter(fofal_reactor_t *r, const char *stage, const json_t *trigger, const char *reason) {
  char *rec = fofal_reaction_dlq_record(stage, trigger, NULL, reason, NULL);
  const char *key = json_string_value(json_object_get(trigger, "id"));
  char fallback[64];
  if (!key) { /* an unreadable record: its place is its name */
    snprintf(fallback, sizeof fallback, "%d@%lld", (int)json_integer_value(json_object_get(trigger, "partition")),
             (long long)json_integer_value(json_object_get(trigger, "offset")));
    key = fallback;
  }
  LOG_WARN("reaction %s could not be carried out (%s %s[%lld]@%lld), sent to %s: %s",
           json_string_value(json_object_get(trigger, "reaction")) ? json_string_value(json_object_get(trigger, "reaction"))
                                                                     : "-",
           stage, json_string_value(json_object_get(trigger, "topic")),
           (long long)json_integer_value(json_object_get(trigger, "partition")),
           (long long)json_integer_value(json_object_get(trigger, "offset")), FOFAL_TOPIC_REACTIONS_DLQ, reason);
  int rc = produce(r, FOFAL_TOPIC_REACTIONS_DLQ, key, rec, reason);
  free(rec);
  r->st.failures++;
  return rc;
}

/* One record: 0 or a produce error (the batch aborts). */
static int handle(fofal_reactor_t *r, const fofal_kmsg_t *m) {
  fofal_event_t ev;
  char err[256];
  int rc = 0;
  r->st.records++;
  if (!m->value || !names_a_trigger(r, m)) return 0;
  if (fofal_event_decode(&ev, m->value, m->len, err, sizeof err)) {
    fofal_event_t none = {0};
    json_t *trigger = fofal_reaction_trigger(NULL, &none, m->topic, m->partition, m->offset);
    rc = dead_letter(r, "decode", trigger, err);
    json_decref(trigger);
    return rc;
  }
  int64_t now = fofal_now_us();
  for (int mo = 0; !rc && fofal_reaction_modules[mo]; mo++)
    for (const fofal_reaction_t *re = fofal_reaction_modules[mo]->reactions; !rc && re && re->name; re++) {
      if (!answers(re, ev.type)) continue;
      fofal_reaction_result_t res;
      r->st.triggers++;
      int a = fofal_reaction_apply(r->o.registry, re, &ev, m->topic, m->partition, m->offset, now, &res);
      if (a == FOFAL_REACT_COMMAND) {
        while ((rc = fofal_command_produce(r->producer, &res.cmd, r->cmd_parts, NULL, NULL, r->errbuf,
                                           sizeof r->errbuf)) == FOFAL_EUNAVAIL)
          fofal_kafka_poll(r->producer, 10);
        r->st.commands++;
      } else if (a == FOFAL_REACT_NOTHING) {
        r->st.nothing++;
      } else {
        rc = dead_letter(r, "transform", res.trigger, res.out.reason);
      }
      fofal_reaction_result_clear(&res);
    }
  fofal_event_clear(&ev);
  return rc;
}

/* One batch in one transaction. 0 (committed, or aborted and rewound for a retry) or
 * FOFAL_EFENCED. */
static int run_batch(fofal_reactor_t *r) {
  int rc = fofal_kafka_txn_begin(r->producer, r->errbuf, sizeof r->errbuf);
  for (int i = 0; i < r->nbatch && !rc; i++) rc = handle(r, &r->batch[i]);
  if (!rc) rc = fofal_kafka_txn_commit(r->producer, r->consumer, TXN_TIMEOUT_MS, r->errbuf, sizeof r->errbuf);
  if (!rc) {
    r->st.batches++;
    return 0;
  }
  if (rc == FOFAL_EFENCED) return rc;
  char e2[256];
  LOG_WARN("aborting a batch of %d records: %s; doing it again from the committed offsets", r->nbatch, r->errbuf);
  r->st.aborts++;
  int arc = fofal_kafka_txn_abort(r->producer, TXN_TIMEOUT_MS, r->o.stop, e2, sizeof e2);
  if (arc == FOFAL_EFENCED) return fofal_err(r->errbuf, sizeof r->errbuf, arc, "%s", e2);
  if (arc) LOG_WARN("abort: %s", e2);
  if ((arc = fofal_kafka_rewind_to_committed(r->consumer, 30000, e2, sizeof e2))) LOG_WARN("%s", e2);
  return 0;
}

static void release_batch(fofal_reactor_t *r) {
  for (int i = 0; i < r->nbatch; i++) fofal_kafka_msg_release(&r->batch[i]);
  r->nbatch = 0;
}

/* ----------------------------------------------------------------- life */

int fofal_reactor_new(fofal_reactor_t **out, const fofal_reactor_opts_t *o, char *errbuf, size_t errlen) {
  int rc;
  char txid[160];
  fofal_reactor_t *r = fofal_calloc(1, sizeof *r);
  r->o = *o;
  if (r->o.max_batch <= 0) r->o.max_batch = 1000;
  r->batch = fofal_calloc((size_t)r->o.max_batch, sizeof *r->batch);
  if ((rc = fofal_reactions_check(errbuf, errlen)) || (rc = collect(r, errbuf, errlen))) goto out;
  snprintf(txid, sizeof txid, "fofal-reactor-%s", o->instance_id);
  fofal_kafka_opts_t po = {.brokers = o->brokers, .client_id = txid, .transactional_id = txid, .linger_ms = 1};
  fofal_kafka_opts_t co = {.brokers = o->brokers, .client_id = txid, .group_id = GROUP_ID, .read_committed = 1,
                           .rebalance = on_rebalance, .opaque = r};
  if ((rc = fofal_kafka_producer_new(&r->producer, &po, errbuf, errlen)) ||
      (rc = fofal_kafka_consumer_new(&r->consumer, &co, errbuf, errlen)))
    goto out;
  r->cmd_parts = fofal_kafka_partition_count_wait(r->producer, FOFAL_TOPIC_COMMANDS, 10000, errbuf, errlen);
  if (r->cmd_parts <= 0) {
    rc = r->cmd_parts < 0 ? r->cmd_parts : fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s has no partition", FOFAL_TOPIC_COMMANDS);
    goto out;
  }
  if ((rc = fofal_kafka_txn_init(r->producer, TXN_TIMEOUT_MS, r->o.stop, errbuf, errlen))) goto out;
  rc = fofal_kafka_subscribe(r->consumer, (const char *const *)r->topics, r->ntopics, errbuf, errlen);
out:
  if (rc) {
    fofal_reactor_free(r);
    r = NULL;
  }
  *out = r;
  return rc;
}

void fofal_reactor_stats(const fofal_reactor_t *r, fofal_reactor_stats_t *st) { *st = r->st; }

void fofal_reactor_log_stats(const fofal_reactor_t *r) {
  const fofal_reactor_stats_t *st = &r->st;
  LOG_INFO("%lld records read, %lld triggers: %lld commands, %lld needed nothing, %lld to %s; %lld transactions, %lld "
           "aborted",
           st->records, st->triggers, st->commands, st->nothing, st->failures, FOFAL_TOPIC_REACTIONS_DLQ, st->batches,
           st->aborts);
}

int fofal_reactor_run(fofal_reactor_t *r, char *errbuf, size_t errlen) {
  int rc = 0;
  int64_t next_stats = fofal_mono_us() + (int64_t)r->o.stats_interval_s * 1000000;
  for (int i = 0; i < r->ntopics; i++) LOG_INFO("reading %s", r->topics[i]);
  while (!fofal_stopped(r->o.stop)) {
    if (r->o.stats_interval_s > 0 && fofal_mono_us() >= next_stats) {
      fofal_reactor_log_stats(r);
      next_stats = fofal_mono_us() + (int64_t)r->o.stats_interval_s * 1000000;
    }
    int64_t deadline = 0;
    while (r->nbatch < r->o.max_batch) {
      int timeout = fofal_batch_wait_ms(deadline, FOFAL_BATCH_GAP_MS);
      if (!timeout) break;
      fofal_kmsg_t m;
      int got = fofal_kafka_consume(r->consumer, timeout, &m);
      if (got < 0) {
        rc = fofal_err(errbuf, errlen, got, "fatal consumer error");
        goto out;
      }
      if (r->rebalanced || got == 0) {
        if (got > 0) fofal_kafka_msg_release(&m);
        break;
      }
      if (m.eof) {
        fofal_kafka_msg_release(&m);
        continue;
      }
      r->batch[r->nbatch++] = m;
      if (!deadline) deadline = fofal_mono_us() + FOFAL_BATCH_MAX_WAIT_MS * 1000;
    }
    if (r->rebalanced) {
      /* What was gathered may belong to another instance now: everyone carries on from the
       * committed offsets. */
      char e2[256];
      release_batch(r);
      r->rebalanced = 0;
      if (fofal_kafka_rewind_to_committed(r->consumer, 30000, e2, sizeof e2)) LOG_WARN("%s", e2);
      continue;
    }
    if (!r->nbatch) continue;
    rc = run_batch(r);
    release_batch(r);
    if (rc) {
      rc = fofal_err(errbuf, errlen, rc, "%s", r->errbuf);
      goto out;
    }
  }
out:
  release_batch(r);
  return rc;
}

void fofal_reactor_free(fofal_reactor_t *r) {
  if (!r) return;
  release_batch(r);
  free(r->batch);
  fofal_kafka_free(r->consumer);
  fofal_kafka_free(r->producer);
  for (int i = 0; i < r->ntopics; i++) free(r->topics[i]);
  for (int i = 0; i < r->nneedles; i++) free(r->needles[i]);
  free(r);
}
