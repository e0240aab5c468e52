/*
 * kafka_ceiling.c — fofal-bench-kafka-ceiling: how many command-sized messages per second
 * one producer gets acknowledged by the broker, through our adapter (events/kafka.c) with
 * the settings fofal-api's command producer uses (idempotent, acks=all, lz4, linger 1 ms).
 * It is the ceiling the command path cannot beat: every command is at least one such
 * produce, before the decider's transaction and the result.
 *
 * The message is a real command (fofal_command_encode of production.order.create), encoded
 * once; each copy gets a new random key, so they spread over the partitions like commands
 * keyed by new aggregate ids. They go to fofal.telemetry.raw by default: it exists in every
 * stack, has bounded retention, and nothing of the command path reads it. The producer
 * sends as fast as it can for --duration seconds (keeping at most MAX_QUEUED messages
 * undelivered, serving delivery reports meanwhile), then flushes; the rate counts acknowledged messages over the
 * time until the flush ended.
 *
 * Output: one JSON line on stdout. Exit 0 on a completed run, 1 on a failure (reason on
 * stderr), 2 on a usage error. Threads: one (plus librdkafka's).
 */
#include "commands.h"
#include "events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages queued in the producer before we wait for deliveries. Below librdkafka's
 * queue.buffering.max.messages (100000): a full queue is an error from
 * fofal_kafka_produce(), and this way the bench never depends on that error path. */
#define MAX_QUEUED 50000

static char *brokers, *topic, *log_level;
static long long duration_s, linger_ms;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    {"DURATION", FOFAL_SET_INT, "10", 1, 3600, "Seconds of producing.", &duration_s},
    {"TOPIC", FOFAL_SET_STR, FOFAL_TOPIC_TELEMETRY, 0, 0, "Topic to produce to (must exist).", &topic},
    {"LINGER_MS", FOFAL_SET_INT, "1", 0, 1000, "Producer linger.ms (fofal-api's command producer uses 1).",
     &linger_ms},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

typedef struct {
  int64_t delivered, failed;
} counts_t;

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  counts_t *c = opaque;
  if (err) c->failed++;
  else c->delivered++;
}

/* A production.order.create command as fofal-api encodes it: new string, caller frees. */
static char *command_message(void) {
  char id[FOFAL_UUID_LEN + 1], agg[FOFAL_UUID_LEN + 1], corr[FOFAL_UUID_LEN + 1];
  fofal_uuid7(id);
  fofal_uuid7(agg);
  fofal_uuid7(corr);
  json_t *data = json_pack("{s:s,s:i}", "article", "FOUTA-100", "quantity", 100);
  fofal_cmd_t cmd = {.id = id, .type = "production.order.create", .tenant = "bench", .actor = "u:bench/planner",
                     .aggregate = agg, .expected_version = -1, .issued_us = fofal_now_us(), .correlation_id = corr,
                     .data = data};
  char *s = fofal_command_encode(&cmd);
  json_decref(data);
  return s;
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 1;
  fofal_kafka_t *k = NULL;
  char *msg = NULL;
  counts_t counts = {0, 0};
  int lrc = fofal_settings_load(settings, NSET, argc, argv,
                                "usage: fofal-bench-kafka-ceiling [--config STACK_ENV] [--option=value ...]\n\n"
                                "Produces command-sized messages as fast as one idempotent acks=all producer can\n"
                                "for DURATION seconds and prints {\"bench\":\"kafka_produce_ceiling\",...}.",
                                err, sizeof err);
  if (lrc == 1) return 0;
  if (lrc) {
    fprintf(stderr, "fofal-bench-kafka-ceiling: %s\n", err);
    return 2;
  }
  fofal_log_init("fofal-bench-kafka-ceiling", log_level);
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-bench-ceiling", .linger_ms = (int)linger_ms,
                          .message_timeout_ms = 30000};
  if (fofal_kafka_producer_new(&k, &o, err, sizeof err)) goto fail;
  int np = fofal_kafka_partition_count(k, topic, 10000, err, sizeof err);
  if (np < 0) goto fail;
  msg = command_message();
  size_t len = strlen(msg);

  int64_t t0 = fofal_mono_us(), end = t0 + duration_s * 1000000, produced = 0, queue_waits = 0;
  while (fofal_mono_us() < end) {
    /* Keep under librdkafka's queue.buffering.max.messages (100000) instead of running
     * into a full queue (see MAX_QUEUED). */
    while (fofal_kafka_outq_len(k) > MAX_QUEUED) {
      queue_waits++;
      fofal_kafka_poll(k, 1);
    }
    for (int i = 0; i < 1000; i++) {
      char key[FOFAL_UUID_LEN + 1];
      fofal_uuid7(key);
      if (fofal_kafka_produce(k, topic, -1, key, FOFAL_UUID_LEN, msg, len, NULL, 0, on_delivery, &counts, err,
                              sizeof err))
        goto fail;
      produced++;
    }
    fofal_kafka_poll(k, 0);
  }
  if (fofal_kafka_flush(k, 60000)) {
    snprintf(err, sizeof err, "%" PRId64 " messages still undelivered 60 s after the end", produced - counts.delivered - counts.failed);
    goto fail;
  }
  int64_t t1 = fofal_mono_us();
  double secs = (double)(t1 - t0) / 1e6;
  printf("{\"bench\":\"kafka_produce_ceiling\",\"rate_per_s\":%.1f,\"messages\":%" PRId64 ",\"bytes_per_msg\":%zu,"
         "\"failed\":%" PRId64 ",\"elapsed_s\":%.3f,\"topic\":\"%s\",\"partitions\":%d,\"linger_ms\":%lld,"
         "\"queue_waits\":%" PRId64 "}\n",
         (double)counts.delivered / secs, counts.delivered, len + FOFAL_UUID_LEN, counts.failed, secs, topic, np,
         linger_ms, queue_waits);
  rc = counts.failed ? 1 : 0;
  if (counts.failed) fprintf(stderr, "fofal-bench-kafka-ceiling: %" PRId64 " messages failed\n", counts.failed);
  goto out;
fail:
  fprintf(stderr, "fofal-bench-kafka-ceiling: %s\n", err);
out:
  free(msg);
  fofal_kafka_free(k);
  fofal_settings_free(settings, NSET);
  return rc;
}
