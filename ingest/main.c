/*
 * main.c — fofal-ingest: loom telemetry from MQTT into Kafka (paho.mqtt.c, MQTTAsync).
 *
 * Subscribes with QoS 1 and a persistent session (clean session off, a stable client id)
 * to fofal/+/looms/+/telemetry, reconnecting with backoff. Each message is checked
 * (telemetry.c); a good one is produced to fofal.telemetry.raw keyed by loom with the
 * idempotent producer, a bad one to fofal.telemetry.raw.dlq with the reason. The MQTT
 * message is acknowledged only once Kafka has acknowledged it: the message callback
 * returns only after the delivery report. With Kafka down the callback reports failure,
 * paho keeps the message and the broker keeps the rest: back-pressure, no loss.
 *
 * Throughput: one message at a time per session, so bounded by Kafka's acknowledgement
 * latency (about 2,000 messages/s locally). Scaling out is more instances, each with its
 * own client id, on an MQTT shared subscription (FOFAL_MQTT_SHARE_GROUP).
 *
 * Threads: paho's callback thread does all the work; librdkafka has its own.
 */
#include "ingest.h"

#include <MQTTAsync.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *brokers, *mqtt_uri, *client_id, *share_group, *log_level;
static long long delivery_timeout_ms;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    {"FOFAL_MQTT_URI", FOFAL_SET_STR, "tcp://127.0.0.1:11883", 0, 0, "MQTT broker URI.", &mqtt_uri},
    {"FOFAL_MQTT_CLIENT_ID", FOFAL_SET_STR, "fofal-ingest-1", 0, 0,
     "Stable MQTT client id: the broker keeps this session's unacknowledged messages across restarts.", &client_id},
    {"FOFAL_MQTT_SHARE_GROUP", FOFAL_SET_STR, "", 0, 0,
     "If set, subscribe as $share/<group>/... so several instances split the load.", &share_group},
    {"FOFAL_INGEST_DELIVERY_TIMEOUT_MS", FOFAL_SET_INT, "5000", 100, 120000,
     "How long to wait for Kafka before leaving a message unacknowledged for a later retry.", &delivery_timeout_ms},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

typedef struct {
  MQTTAsync client;
  fofal_kafka_t *producer;
  char subscription[256];
  long long ok, rejected, retried;
} ingest_t;

typedef struct {
  int done, err;
} wait_t;

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  wait_t *w = opaque;
  w->err = err;
  w->done = 1;
}

/* Produces and waits for Kafka's acknowledgement. 0 or an error. */
static int produce_acked(ingest_t *in, const char *topic, const char *key, const char *value, size_t len,
                         const fofal_kheader_t *h, int nh) {
  char err[256];
  wait_t w = {0};
  int rc = fofal_kafka_produce(in->producer, topic, -1, key, strlen(key), value, len, h, nh, on_delivery, &w, err,
                               sizeof err);
  if (rc) return rc;
  while (!w.done) fofal_kafka_poll(in->producer, 50);
  return w.err;
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *msg) {
  ingest_t *in = context;
  char tenant[64], loom[64], why[256];
  size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
  json_t *data = NULL;
  int rc;
  if (fofal_telemetry_topic(topic, tlen, tenant, loom)) {
    snprintf(why, sizeof why, "topic is not fofal/<tenant>/looms/<loom>/telemetry");
    rc = FOFAL_EINVAL;
  } else {
    rc = fofal_telemetry_parse(msg->payload, (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0), &data, why, sizeof why);
  }
  if (rc) {
    /* Refused: kept with its reason for whoever looks into the sensor, never lost. */
    char topic_copy[256];
    snprintf(topic_copy, sizeof topic_copy, "%.*s", (int)(tlen < 255 ? tlen : 255), topic);
    fofal_kheader_t h[] = {{"fofal_dlq_reason", why}, {"mqtt_topic", topic_copy}};
    size_t plen = (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0);
    if (plen > 64 * 1024) plen = 64 * 1024;
    rc = produce_acked(in, FOFAL_TOPIC_TELEMETRY_DLQ, "invalid", msg->payload, plen, h, 2);
    if (!rc) in->rejected++;
  } else {
    char *ev = fofal_telemetry_event(tenant, loom, data);
    rc = produce_acked(in, FOFAL_TOPIC_TELEMETRY, loom, ev, strlen(ev), NULL, 0);
    free(ev);
    if (!rc) in->ok++;
  }
  json_decref(data);
  if (rc) {
    in->retried++;
    if (in->retried % 100 == 1) LOG_WARN("Kafka did not take a telemetry message (%s); it stays unacknowledged", fofal_strerror(rc));
    usleep(200 * 1000);
    return 0; /* paho keeps the message and calls again: nothing is acknowledged */
  }
  MQTTAsync_freeMessage(&msg);
  MQTTAsync_free(topic);
  return 1;
}

static void on_subscribed(void *context, MQTTAsync_successData *resp) {
  (void)resp;
  LOG_INFO("subscribed to %s (QoS 1)", ((ingest_t *)context)->subscription);
}

static void on_subscribe_failed(void *context, MQTTAsync_failureData *resp) {
  (void)context;
  LOG_ERROR("MQTT subscribe failed (code %d)", resp ? resp->code : 0);
}

static void on_connected(void *context, char *cause) {
  ingest_t *in = context;
  (void)cause;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = on_subscribed;
  ro.onFailure = on_subscribe_failed;
  ro.context = in;
  int rc = MQTTAsync_subscribe(in->client, in->subscription, 1, &ro);
  if (rc != MQTTASYNC_SUCCESS) LOG_ERROR("MQTT subscribe: code %d", rc);
}

static void on_connection_lost(void *context, char *cause) {
  (void)context;
  LOG_WARN("MQTT connection lost (%s); reconnecting", cause ? cause : "no reason given");
}

static void on_connect_failed(void *context, MQTTAsync_failureData *resp) {
  (void)context;
  LOG_WARN("MQTT connect failed (code %d); retrying", resp ? resp->code : 0);
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 1;
  ingest_t in = {0};
  int early = fofal_process_start("fofal-ingest", settings, NSET, argc, argv,
                                "Usage: fofal-ingest [--config FILE] [--option=value ...]\n\n"
                                "Streams loom telemetry from MQTT (" FOFAL_TELEMETRY_SUBSCRIPTION
                                ", QoS 1) into Kafka (" FOFAL_TOPIC_TELEMETRY "); refused payloads go to "
                                FOFAL_TOPIC_TELEMETRY_DLQ " with the reason.",
                                  &log_level);
  if (early >= 0) return early;
  if (*share_group) snprintf(in.subscription, sizeof in.subscription, "$share/%s/%s", share_group, FOFAL_TELEMETRY_SUBSCRIPTION);
  else snprintf(in.subscription, sizeof in.subscription, "%s", FOFAL_TELEMETRY_SUBSCRIPTION);
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = client_id, .linger_ms = 1,
                           .message_timeout_ms = (int)delivery_timeout_ms};
  if (fofal_kafka_producer_new(&in.producer, &po, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  if (MQTTAsync_createWithOptions(&in.client, mqtt_uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) !=
          MQTTASYNC_SUCCESS ||
      MQTTAsync_setCallbacks(in.client, &in, on_connection_lost, on_message, NULL) != MQTTASYNC_SUCCESS ||
      MQTTAsync_setConnected(in.client, &in, on_connected) != MQTTASYNC_SUCCESS) {
    LOG_ERROR("cannot start: invalid MQTT URI \"%s\"", mqtt_uri);
    goto out;
  }
  MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
  conn.keepAliveInterval = 20;
  conn.cleansession = 0;
  conn.automaticReconnect = 1;
  conn.minRetryInterval = 1;
  conn.maxRetryInterval = 30;
  conn.onFailure = on_connect_failed;
  conn.context = &in;
  if (MQTTAsync_connect(in.client, &conn) != MQTTASYNC_SUCCESS) {
    LOG_ERROR("cannot start: MQTT connect to %s failed", mqtt_uri);
    goto out;
  }
  LOG_INFO("ingesting %s from %s into %s", in.subscription, mqtt_uri, FOFAL_TOPIC_TELEMETRY);
  while (!fofal_stop) sleep(1);
  rc = 0;
out:
  if (in.client) {
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    dopt.timeout = 2000;
    MQTTAsync_disconnect(in.client, &dopt);
    sleep(1);
    MQTTAsync_destroy(&in.client);
  }
  LOG_INFO("stopped: %lld samples ingested, %lld refused to the DLQ", in.ok, in.rejected);
  fofal_kafka_free(in.producer);
  fofal_settings_free(settings, NSET);
  return rc;
}
