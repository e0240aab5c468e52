/*
 * test_kafka.c — events/kafka.c against librdkafka's mock cluster (no broker needed).
 *
 * Init transactions at start (issue 22): a transaction coordinator that does not answer
 * within a try's timeout (a broker just started, __transaction_state still loading) is
 * tried again after a logged pause instead of failing the process; a stop request ends the
 * tries; an error that is not transient fails at once. An abort that times out (a broker
 * restarting) is resumed the same way, so the next transaction can begin.
 */
#include <criterion/criterion.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"

/* The Kafka protocol's API key of InitProducerId (librdkafka's API_INIT_PRODUCER_ID
 * is in a header it does not install). */
#define API_INIT_PRODUCER_ID 22
#define API_END_TXN 26

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static fofal_kafka_t *producer;

/* A one-broker mock cluster and a transactional producer on it (plaintext: the mock has
 * no SCRAM, whatever the environment of the test says). */
static void start(void) {
  char e[512];
  fofal_kafka_security_t plain = {"plaintext", "", "", "", 0};
  cr_assert_eq(fofal_kafka_security_set(&plain, e, sizeof e), 0, "%s", e);
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "log_level", "0", e, sizeof e);
  mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  cr_assert_not_null(mock_rk, "%s", e);
  mock = rd_kafka_mock_cluster_new(mock_rk, 1);
  cr_assert_not_null(mock);
  fofal_kafka_opts_t po = {.brokers = rd_kafka_mock_cluster_bootstraps(mock), .client_id = "test-kafka",
                           .transactional_id = "test-kafka-txn", .linger_ms = 1};
  cr_assert_eq(fofal_kafka_producer_new(&producer, &po, e, sizeof e), 0, "%s", e);
}

static void stop(void) {
  fofal_kafka_free(producer);
  if (mock) rd_kafka_mock_cluster_destroy(mock);
  if (mock_rk) rd_kafka_destroy(mock_rk);
}

TestSuite(kafka, .init = start, .fini = stop, .timeout = 60);

/* What the process logs (fd 2) between capture_start and capture_end goes into `log`. */
static FILE *captured;
static int saved_fd2 = -1;

static void capture_start(void) {
  fflush(stderr);
  captured = tmpfile();
  saved_fd2 = dup(2);
  cr_assert(captured && saved_fd2 >= 0 && dup2(fileno(captured), 2) >= 0);
}

static void capture_end(char *log, size_t loglen) {
  dup2(saved_fd2, 2);
  close(saved_fd2);
  rewind(captured);
  log[fread(log, 1, loglen - 1, captured)] = 0;
  fclose(captured);
}

/* Runs fofal_kafka_txn_init with what the process logs captured into `log`. */
static int txn_init_logged(int timeout_ms, const atomic_int *stop_flag, char *err, size_t errlen, char *log,
                           size_t loglen) {
  capture_start();
  int rc = fofal_kafka_txn_init(producer, timeout_ms, stop_flag, err, errlen);
  capture_end(log, loglen);
  return rc;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(kafka, txn_init_tries_again_when_the_coordinator_is_slow_to_answer) {
  /* The coordinator answers the producer-id request only after 2.5 s: a try of 1 s times
   * out (the "init transactions: Timed out" of a decider started with Kafka). */
  cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(mock, 1, API_INIT_PRODUCER_ID, 1,
                                                            RD_KAFKA_RESP_ERR_NO_ERROR, 2500),
               RD_KAFKA_RESP_ERR_NO_ERROR);
  char err[256] = "", log[8192];
  int rc = txn_init_logged(1000, NULL, err, sizeof err, log, sizeof log);
  cr_assert_eq(rc, 0, "init transactions failed (%s): %s", fofal_err_name(rc), err);
  cr_assert(strstr(log, "init transactions (try 1)") && strstr(log, "trying again in 1000 ms"),
            "no log line of the retry in: %s", log);
  /* The producer is usable: a transaction begins and commits. */
  cr_assert_eq(fofal_kafka_txn_begin(producer, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_kafka_txn_commit(producer, NULL, 10000, err, sizeof err), 0, "%s", err);
}

Test(kafka, txn_init_gives_up_when_the_process_is_stopping) {
  cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(mock, 1, API_INIT_PRODUCER_ID, 1,
                                                            RD_KAFKA_RESP_ERR_NO_ERROR, 5000),
               RD_KAFKA_RESP_ERR_NO_ERROR);
  atomic_int stopping = 1;
  char err[256] = "", log[8192];
  double t0 = now_s();
  int rc = txn_init_logged(500, &stopping, err, sizeof err, log, sizeof log);
  cr_assert_eq(rc, FOFAL_ETIMEDOUT, "%s: %s", fofal_err_name(rc), err);
  cr_assert(strstr(err, "init transactions"), "%s", err);
  cr_assert(now_s() - t0 < 3, "took %.1f s: it kept trying while stopping", now_s() - t0);
}

Test(kafka, txn_init_fails_at_once_on_an_error_that_is_not_transient) {
  rd_kafka_mock_push_request_errors(mock, API_INIT_PRODUCER_ID, 1,
                                    RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  char err[256] = "", log[8192];
  double t0 = now_s();
  int rc = txn_init_logged(5000, NULL, err, sizeof err, log, sizeof log);
  cr_assert_neq(rc, 0, "init transactions succeeded without the right to its transactional id");
  cr_assert(strstr(err, "init transactions"), "%s", err);
  cr_assert_null(strstr(log, "trying again"), "a refusal was tried again: %s", log);
  cr_assert(now_s() - t0 < 4, "took %.1f s", now_s() - t0);
}

Test(kafka, txn_abort_is_resumed_when_the_coordinator_is_slow_to_answer) {
  char err[256] = "", log[8192];
  cr_assert_eq(rd_kafka_mock_topic_create(mock, "test-kafka-topic", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  cr_assert_eq(fofal_kafka_txn_init(producer, 5000, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_kafka_txn_begin(producer, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_kafka_produce(producer, "test-kafka-topic", 0, "k", 1, "v", 1, NULL, 0, NULL, NULL, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(fofal_kafka_flush(producer, 5000), 0);
  /* The coordinator answers the abort only after 2.5 s: a try of 1 s times out. */
  cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(mock, 1, API_END_TXN, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 2500),
               RD_KAFKA_RESP_ERR_NO_ERROR);
  capture_start();
  int rc = fofal_kafka_txn_abort(producer, 1000, NULL, err, sizeof err);
  capture_end(log, sizeof log);
  cr_assert_eq(rc, 0, "abort failed (%s): %s", fofal_err_name(rc), err);
  cr_expect(strstr(log, "abort transaction (try 1)"), "no log line of the retry in: %s", log);
  /* The next transaction begins and commits (an abort left half-done would refuse it). */
  cr_assert_eq(fofal_kafka_txn_begin(producer, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_kafka_txn_commit(producer, NULL, 10000, err, sizeof err), 0, "%s", err);
}

/* A tailing consumer lets the broker hold an empty fetch 200 ms (or what
 * FOFAL_KAFKA_FETCH_WAIT_MS says); a reader to the end of a topic keeps 10 ms. */
static void fetch_wait_of(int partition_eof, char *out, size_t outlen) {
  char e[512];
  fofal_kafka_t *c = NULL;
  fofal_kafka_opts_t co = {.brokers = rd_kafka_mock_cluster_bootstraps(mock), .client_id = "test-kafka-consumer",
                           .partition_eof = partition_eof};
  cr_assert_eq(fofal_kafka_consumer_new(&c, &co, e, sizeof e), 0, "%s", e);
  cr_assert_eq(fofal_kafka_conf_get(c, "fetch.wait.max.ms", out, outlen), 0);
  fofal_kafka_free(c);
}

Test(kafka, a_tailing_consumer_waits_longer_for_data_than_a_reader_to_the_end) {
  char v[32];
  fetch_wait_of(0, v, sizeof v);
  cr_expect_str_eq(v, "200");
  fetch_wait_of(1, v, sizeof v);
  cr_expect_str_eq(v, "10");
  char e[512];
  fofal_kafka_security_t s = {"plaintext", "", "", "", 50};
  cr_assert_eq(fofal_kafka_security_set(&s, e, sizeof e), 0, "%s", e);
  fetch_wait_of(0, v, sizeof v);
  cr_expect_str_eq(v, "50");
  fetch_wait_of(1, v, sizeof v);
  cr_expect_str_eq(v, "10");
  cr_expect_neq(fofal_kafka_conf_get(producer, "no.such.setting", v, sizeof v), 0);
}
