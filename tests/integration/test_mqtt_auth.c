/*
 * test_mqtt_auth.c — the broker's accounts (issue 22 item 1) on the real Mosquitto of the
 * test stack, with fofal-decider, fofal-api and fofal-mqtt-auth running:
 *   - an anonymous client is refused;
 *   - a gateway enrolled through POST /api/v1/auth/gateways (admin) signs in (over TLS)
 *     once fofal-mqtt-auth has given the broker its account; it publishes its tenant's listed
 *     looms only (not another loom, not another tenant's topics: what ingest's account,
 *     subscribed to every telemetry topic, receives tells; Mosquitto also closes the
 *     connection that tried), and reads nothing (fofal/#);
 *   - a non-admin cannot enrol one;
 *   - once identity.gateway.revoke is decided, the broker refuses the gateway, and closes
 *     the connection it had open;
 *   - telemetry for a loom the production module never registered ends in
 *     fofal.telemetry.raw.dlq (reason unregistered_loom) and in no machine event, while a
 *     registered loom's samples become machine events;
 *   - over the TLS listener (the stack's own CA, ops/stack): fofal-ingest reads telemetry
 *     a client sent over TLS into fofal.telemetry.raw, and an ingest that does not trust
 *     the broker's certificate never connects (the certificate is verified);
 *   - gateways sign in on the TLS listener only, where a client id is the user name: one
 *     that connects with fofal-ingest's client id neither disconnects ingest nor gets its
 *     session.
 * Each test uses a tenant of its own. Waits are bounded polls, never sleeps.
 */
#include <MQTTClient.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static const char *uri(void) { return h_env("FOFAL_MQTT_URI"); }

/* A client connected to `at` (an ssl:// URI: TLS, the broker's certificate verified
 * against the stack's CA, FOFAL_MQTT_CA_FILE), or NULL; the connect's return code in *rc
 * (0, or the CONNACK refusal: 4 bad user name or password, 5 not authorised). */
static MQTTClient connect_with(const char *at, const char *id, const char *user, const char *password, int clean,
                               int *session_present, int *rc) {
  MQTTClient c;
  cr_assert_eq(MQTTClient_create(&c, at, id, MQTTCLIENT_PERSISTENCE_NONE, NULL), MQTTCLIENT_SUCCESS);
  MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer;
  o.keepAliveInterval = 20;
  o.cleansession = clean;
  o.connectTimeout = 5;
  o.username = user;
  o.password = password;
  MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
  if (!strncmp(at, "ssl://", 6)) {
    ssl.trustStore = h_env("FOFAL_MQTT_CA_FILE");
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1;
    ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    o.ssl = &ssl;
  }
  *rc = MQTTClient_connect(c, &o);
  if (*rc != MQTTCLIENT_SUCCESS) {
    MQTTClient_destroy(&c);
    return NULL;
  }
  if (session_present) *session_present = o.returned.sessionPresent;
  return c;
}

static MQTTClient mqtt_connect_at(const char *at, const char *id, const char *user, const char *password, int *rc) {
  return connect_with(at, id, user, password, 1, NULL, rc);
}

/* mqtt_connect_at asking for a persistent session (clean session off); whether the broker
 * had one for that client id (CONNACK's session present) in *session_present. */
static MQTTClient mqtt_connect_session(const char *at, const char *id, const char *user, const char *password,
                                       int *session_present, int *rc) {
  return connect_with(at, id, user, password, 0, session_present, rc);
}

/* A gateway's connection: gateways sign in on the TLS listener only. */
static MQTTClient gw_connect(const char *id, const char *user, const char *password, int *rc) {
  return mqtt_connect_at(h_env("FOFAL_MQTT_TLS_URI"), id, user, password, rc);
}

static MQTTClient mqtt_connect(const char *id, const char *user, const char *password, int *rc) {
  return mqtt_connect_at(uri(), id, user, password, rc);
}

static void mqtt_close(MQTTClient c) {
  if (!c) return;
  MQTTClient_disconnect(c, 1000);
  MQTTClient_destroy(&c);
}

/* Polls until a connect with these credentials gives `want` (0: accepted; -1: any
 * refusal), at most 60 s: fofal-mqtt-auth and the broker's reload take a moment. */
static void wait_connect(const char *user, const char *password, int want) {
  int rc = -99;
  for (int i = 0; i < 120; i++) {
    MQTTClient c = gw_connect("test-gw-probe", user, password, &rc);
    mqtt_close(c);
    if (want == 0 ? rc == 0 : rc != 0) return;
    usleep(500 * 1000);
  }
  cr_assert_fail("a connect as %s still gives %d after 60 s", user, rc);
}

static int publish(MQTTClient c, const char *topic, const char *payload) {
  MQTTClient_deliveryToken tok;
  int rc = MQTTClient_publish(c, topic, (int)strlen(payload), payload, 1, 0, &tok);
  if (rc == MQTTCLIENT_SUCCESS) rc = MQTTClient_waitForCompletion(c, tok, 5000);
  return rc;
}

/* The topics `c` receives within timeout_ms after the last message, joined by "\n" (new). */
static char *drain(MQTTClient c, int timeout_ms) {
  char *all = fofal_strdup("");
  for (;;) {
    char *topic = NULL;
    int tlen = 0;
    MQTTClient_message *m = NULL;
    int rc = MQTTClient_receive(c, &topic, &tlen, &m, (unsigned long)timeout_ms);
    if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED) break;
    if (!m) break;
    char *next = fofal_asprintf("%s%s\n", all, topic);
    free(all);
    all = next;
    MQTTClient_freeMessage(&m);
    MQTTClient_free(topic);
  }
  return all;
}

/* Enrols a gateway of `tenant` for `looms_json` (e.g. ["L1"], or NULL); its user name and
 * password into user/password. Returns the gateway id (new). */
static char *enrol(int port, const char *tenant, const char *looms_json, char user[64], char password[96]) {
  char *admin = h_token(tenant, "admin"), hdr[2048], body[512];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", admin);
  if (looms_json) snprintf(body, sizeof body, "{\"name\":\"hall 1 gateway\",\"looms\":%s}", looms_json);
  else snprintf(body, sizeof body, "{\"name\":\"hall 1 gateway\"}");
  h_resp_t r;
  /* 503 while the decider just started is not recorded: ask again, as a client does. */
  for (int i = 0; i < 90; i++) {
    cr_assert_eq(h_http(port, "POST", "/api/v1/auth/gateways", hdr, body, &r, 60000), 0);
    if (r.status != 503) break;
    h_resp_free(&r);
    sleep(1);
  }
  cr_assert_eq(r.status, 201, "enrol: %d %s", r.status, r.body);
  json_t *j = json_loads(r.body, 0, NULL);
  cr_assert_not_null(j);
  cr_expect_str_eq(json_string_value(json_object_get(j, "tenant")), tenant);
  snprintf(user, 64, "%s", json_string_value(json_object_get(j, "username")));
  snprintf(password, 96, "%s", json_string_value(json_object_get(j, "password")));
  char *id = fofal_strdup(json_string_value(json_object_get(j, "gateway_id")));
  cr_expect_eq(strncmp(user, "gw-", 3), 0, "user %s", user);
  cr_expect_str_eq(user + 3, id);
  cr_expect_geq(strlen(password), 40, "a 256-bit password");
  json_decref(j);
  h_resp_free(&r);
  free(admin);
  return id;
}

static pid_t start_auth(void) {
  const char *env[] = {"FOFAL_LOG_LEVEL=info", NULL};
  return h_spawn("ingest/fofal-mqtt-auth", "test-mqtt-auth", NULL, env);
}

Test(mqtt_auth, anonymous_clients_are_refused) {
  int rc = 0;
  MQTTClient c = mqtt_connect("test-anon", NULL, NULL, &rc);
  cr_expect_null(c);
  cr_expect(rc == 4 || rc == 5, "an anonymous connect is refused by the broker (CONNACK 4 or 5), got %d", rc);
  mqtt_close(c);
  /* A wrong password neither. */
  c = mqtt_connect("test-bad-pw", h_env("FOFAL_MQTT_USERNAME"), "not-the-password", &rc);
  cr_expect_null(c);
  cr_expect(rc == 4 || rc == 5, "a wrong password is refused, got %d", rc);
  mqtt_close(c);
}

Test(mqtt_auth, a_gateway_publishes_its_tenants_looms_only_and_is_revoked, .timeout = 300) {
  char ta[32], tb[32], user[64], password[96], topic[160];
  h_tenant(ta);
  h_tenant(tb);
  int port = h_free_port();
  pid_t dec = h_start_decider("mqtt-auth");
  pid_t api = h_start_api(port);
  pid_t auth = start_auth();

  /* Only an admin enrols. */
  char *weaver = h_token(ta, "manager"), hdr[2048];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", weaver);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/auth/gateways", hdr, "{\"name\":\"x\"}", &r, 30000), 0);
  cr_expect_eq(r.status, 403, "a manager enrols no gateway: %d %s", r.status, r.body);
  h_resp_free(&r);
  free(weaver);

  char *id = enrol(port, ta, "[\"L1\"]", user, password);
  wait_connect(user, password, 0);

  /* A gateway signs in on the TLS listener only: the plain one is for the processes beside
   * the broker. */
  int rc;
  MQTTClient on_plain = mqtt_connect("test-gw-plain", user, password, &rc);
  cr_expect_null(on_plain, "a gateway signed in on the plain listener");
  cr_expect(rc == 4 || rc == 5, "a gateway on the plain listener is refused (CONNACK 4 or 5), got %d", rc);
  mqtt_close(on_plain);

  /* The observer: fofal-ingest's account, subscribed to every tenant's telemetry. */
  MQTTClient obs = mqtt_connect("test-observer", h_env("FOFAL_MQTT_USERNAME"), h_env("FOFAL_MQTT_PASSWORD"), &rc);
  cr_assert_not_null(obs, "ingest's account connects: %d", rc);
  cr_assert_eq(MQTTClient_subscribe(obs, "fofal/+/looms/+/telemetry", 1), 0);

  /* Another loom of its tenant, the same loom of another tenant: Mosquitto 2 drops the
   * message and closes the connection of a client that publishes where it may not, so
   * each try gets a connection of its own (on the TLS listener a gateway's client id is
   * its user name: each connection replaces the one before). */
  const char *foreign[] = {ta, "L2", tb, "L1"};
  for (int i = 0; i < 2; i++) {
    MQTTClient g2 = gw_connect("test-gw-a2", user, password, &rc);
    cr_assert_not_null(g2, "the gateway connects: %d", rc);
    snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", foreign[2 * i], foreign[2 * i + 1]);
    int prc = publish(g2, topic, "{\"foreign\":1}");
    cr_log_info("publish to %s by a gateway of %s: %d", topic, ta, prc);
    mqtt_close(g2);
  }
  /* Its own loom, twice, on the connection kept to the end. */
  MQTTClient gw = gw_connect("test-gw-a", user, password, &rc);
  cr_assert_not_null(gw, "the gateway connects: %d", rc);
  /* It reads nothing. Mosquitto 2.0 grants the subscription to fofal/# (SUBACK) but
   * checks each message against the reader's ACL: nothing is delivered (drain below). */
  int sub = MQTTClient_subscribe(gw, "fofal/#", 1);
  cr_log_info("a gateway's SUBSCRIBE fofal/#: %d", sub);
  char own[160];
  snprintf(own, sizeof own, "fofal/%s/looms/L1/telemetry", ta);
  cr_expect_eq(publish(gw, own, "{\"own\":1}"), 0);
  cr_expect_eq(publish(gw, own, "{\"own\":2}"), 0);
  char *seen = drain(obs, 3000);
  char want[400];
  snprintf(want, sizeof want, "%s\n%s\n", own, own);
  cr_expect_str_eq(seen, want, "only the gateway's own tenant and loom reach ingest; got:\n%s", seen);
  free(seen);
  seen = drain(gw, 500);
  cr_expect_str_eq(seen, "", "a gateway reads nothing, got:\n%s", seen);
  free(seen);

  /* Revoked: the open connection ends (watched without connecting as the gateway, which
   * would replace it), then a new one is refused. */
  char *admin = h_token(ta, "admin"), body[200];
  snprintf(body, sizeof body, "{\"gateway_id\":\"%s\",\"reason\":\"stolen\"}", id);
  int st = h_command_ok(port, admin, "identity.gateway.revoke", "revoke-gw-1", NULL, body, NULL);
  cr_assert(st == 200 || st == 201, "revoke: %d", st);
  int closed = 0;
  for (int i = 0; i < 600 && !closed; i++) {
    char *t = NULL;
    int tlen = 0;
    MQTTClient_message *m = NULL;
    int rrc = MQTTClient_receive(gw, &t, &tlen, &m, 100);
    if (m) MQTTClient_freeMessage(&m);
    if (t) MQTTClient_free(t);
    closed = rrc == MQTTCLIENT_DISCONNECTED || !MQTTClient_isConnected(gw);
  }
  cr_expect(closed, "the broker closed the revoked gateway's connection within 60 s");
  wait_connect(user, password, -1);
  seen = drain(obs, 1000);
  cr_expect(!strstr(seen, own), "nothing of the revoked gateway reached ingest: %s", seen);
  free(seen);
  /* A second revocation is refused. */
  json_t *res = NULL;
  st = h_command(port, admin, "identity.gateway.revoke", "revoke-gw-2", NULL, body, &res);
  cr_expect(st == 409 || st == 422, "a second revocation is refused: %d", st);
  cr_expect_str_eq(json_string_value(json_object_get(res, "code")) ?: "", "already_revoked");
  json_decref(res);

  mqtt_close(gw);
  mqtt_close(obs);
  free(admin);
  free(id);
  h_stop(auth, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
}

Test(mqtt_auth, an_unregistered_loom_goes_to_the_dlq, .timeout = 300) {
  char t[32], topic[160], key[160], payload[512];
  h_tenant(t);
  int port = h_free_port();
  pid_t dec = h_start_decider("mqtt-dlq");
  pid_t api = h_start_api(port);
  char *admin = h_token(t, "admin");
  cr_assert_eq(h_command_ok(port, admin, "production.loom.register", "reg-R1", NULL,
                            "{\"loom\":\"R1\",\"hall\":\"H1\",\"nominal_ppm\":450,\"weave\":\"flat\"}", NULL),
               201);
  pid_t ing = h_start_ingest(t);
  pid_t mach = h_start_machines(t);
  int rc;
  MQTTClient sim = mqtt_connect("test-sim-dlq", h_env("FOFAL_MQTT_SIM_USERNAME"), h_env("FOFAL_MQTT_SIM_PASSWORD"), &rc);
  cr_assert_not_null(sim, "the simulator's account connects: %d", rc);
  /* Samples of the registered loom and of a made-up one, in turns. */
  char ts[40];
  for (int i = 0; i < 5; i++) {
    fofal_time_format(fofal_now_us() - (int64_t)(10 - i) * 1000000, ts);
    for (int k = 0; k < 2; k++) {
      snprintf(payload, sizeof payload,
               "{\"msg_id\":\"m-%d-%d\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":450,\"state\":\"running\"}", k, i, ts,
               1000 + i * 450);
      snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", t, k ? "MADEUP-9" : "R1");
      cr_assert_eq(publish(sim, topic, payload), 0);
    }
  }
  snprintf(key, sizeof key, "%s/MADEUP-9", t);
  long dlq = 0, made_up_events = 0, r1_events = 0;
  for (int attempt = 0; attempt < 120 && (dlq < 5 || r1_events < 1); attempt++) {
    json_t *all = h_read_topic(FOFAL_TOPIC_TELEMETRY_DLQ), *rec;
    size_t i;
    dlq = 0;
    json_array_foreach(all, i, rec) {
      const char *k = json_string_value(json_object_get(rec, "key")), *why = json_string_value(json_object_get(rec, "dlq_reason"));
      if (k && !strcmp(k, key) && why && !strncmp(why, "unregistered_loom", 17)) dlq++;
    }
    json_decref(all);
    char mt[96];
    fofal_topic_events("machines", mt, sizeof mt);
    all = h_read_topic(mt);
    r1_events = made_up_events = 0;
    json_array_foreach(all, i, rec) {
      const json_t *v = json_object_get(rec, "value");
      if (strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", t)) continue;
      const char *subject = json_string_value(json_object_get(v, "subject")) ?: "";
      if (!strcmp(subject, "R1")) r1_events++;
      if (!strcmp(subject, "MADEUP-9")) made_up_events++;
    }
    json_decref(all);
    if (dlq < 5 || r1_events < 1) usleep(500 * 1000);
  }
  cr_expect_eq(dlq, 5, "each sample of the made-up loom is in the DLQ with its reason");
  cr_expect_geq(r1_events, 1, "the registered loom's samples become machine events");
  cr_expect_eq(made_up_events, 0, "the made-up loom has no machine state");
  mqtt_close(sim);
  free(admin);
  h_stop(mach, SIGTERM);
  h_stop(ing, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
}

/* fofal-ingest for `tenant` on MQTT `at` trusting `ca`; log test-ingest-<name>. */
static pid_t start_ingest_at(const char *tenant, const char *name, const char *at, const char *ca, char log[96]) {
  static char id[128], spool[600], mqtt[256], cafile[600];
  snprintf(id, sizeof id, "FOFAL_MQTT_CLIENT_ID=test-ingest-%s", name);
  snprintf(spool, sizeof spool, "FOFAL_INGEST_SPOOL_DIR=%s/spool-%s-%s", h_env("FOFAL_STACK_DIR"), tenant, name);
  snprintf(mqtt, sizeof mqtt, "FOFAL_MQTT_URI=%s", at);
  snprintf(cafile, sizeof cafile, "FOFAL_MQTT_CA_FILE=%s", ca);
  snprintf(log, 96, "test-ingest-%s", name);
  const char *env[] = {id, spool, mqtt, cafile, "FOFAL_LOG_LEVEL=info", NULL};
  return h_spawn("ingest/fofal-ingest", log, NULL, env);
}

Test(mqtt_auth, ingest_reads_telemetry_over_tls, .timeout = 240) {
  char t[32], name[64], log[96], topic[160], payload[512], ts[40];
  h_tenant(t);
  const char *tls = h_env("FOFAL_MQTT_TLS_URI");

  /* Trusting other CAs (the system's) than the one that signed the broker's certificate:
   * the handshake fails, so the certificate is really checked. */
  snprintf(name, sizeof name, "%s-untrusting", t);
  pid_t bad = start_ingest_at(t, name, tls, "/etc/ssl/certs/ca-certificates.crt", log);
  h_wait_log(log, "MQTT connect failed", 60);
  cr_expect_eq(h_log_count(log, "subscribed to"), 0, "an ingest that does not trust the broker subscribed");
  h_stop(bad, SIGTERM);

  snprintf(name, sizeof name, "%s-tls", t);
  pid_t ing = start_ingest_at(t, name, tls, h_env("FOFAL_MQTT_CA_FILE"), log);
  h_wait_log(log, "subscribed to", 60);
  int rc;
  MQTTClient sim = mqtt_connect_at(tls, "test-sim-tls", h_env("FOFAL_MQTT_SIM_USERNAME"),
                                   h_env("FOFAL_MQTT_SIM_PASSWORD"), &rc);
  cr_assert_not_null(sim, "the simulator's account connects over TLS: %d", rc);
  /* Without TLS, the same account on the TLS port gets no session. */
  char plain_uri[64];
  snprintf(plain_uri, sizeof plain_uri, "tcp://127.0.0.1:%s", h_env("FOFAL_MQTT_TLS_PORT"));
  int plain_rc;
  MQTTClient plain = mqtt_connect_at(plain_uri, "test-plain-on-tls", h_env("FOFAL_MQTT_SIM_USERNAME"),
                                     h_env("FOFAL_MQTT_SIM_PASSWORD"), &plain_rc);
  cr_expect_null(plain, "a connect without TLS to the TLS listener was accepted");
  mqtt_close(plain);
  snprintf(topic, sizeof topic, "fofal/%s/looms/T1/telemetry", t);
  for (int i = 0; i < 3; i++) {
    fofal_time_format(fofal_now_us() - (int64_t)(5 - i) * 1000000, ts);
    snprintf(payload, sizeof payload,
             "{\"msg_id\":\"tls-%d\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":450,\"state\":\"running\"}", i, ts,
             1000 + i * 450);
    cr_assert_eq(publish(sim, topic, payload), 0);
  }
  long got = 0;
  for (int attempt = 0; attempt < 120 && got < 3; attempt++) {
    json_t *all = h_read_topic(FOFAL_TOPIC_TELEMETRY), *rec;
    size_t i;
    got = 0;
    json_array_foreach(all, i, rec) {
      const json_t *v = json_object_get(rec, "value");
      const char *mid = json_string_value(json_object_get(json_object_get(v, "data"), "msg_id")) ?: "";
      if (!strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", t) && !strncmp(mid, "tls-", 4)) got++;
    }
    json_decref(all);
    if (got < 3) usleep(500 * 1000);
  }
  cr_expect_eq(got, 3, "the three samples sent over TLS reached %s through an ingest on TLS", FOFAL_TOPIC_TELEMETRY);
  mqtt_close(sim);
  h_stop(ing, SIGTERM);
}

/* The take-over of fofal-ingest's session (issue 22): a gateway that connects with
 * ingest's client id, asking for its session, neither disconnects ingest nor gets the
 * session. Gateways sign in on the TLS listener only, where a client's id is its user
 * name; on the plain listener, where ingest is, they are refused. */
Test(mqtt_auth, a_gateway_cannot_take_over_ingests_session, .timeout = 300) {
  char t[32], user[64], password[96], ingest_id[96], log[96], topic[160], payload[512], ts[40];
  h_tenant(t);
  int port = h_free_port();
  pid_t dec = h_start_decider("mqtt-takeover");
  pid_t api = h_start_api(port);
  pid_t auth = start_auth();
  char *id = enrol(port, t, "[\"L1\"]", user, password);
  wait_connect(user, password, 0);
  pid_t ing = h_start_ingest(t);
  snprintf(ingest_id, sizeof ingest_id, "test-ingest-%s", t); /* h_start_ingest's */
  snprintf(log, sizeof log, "test-ingest-%s", t);

  int rc, present = -1;
  MQTTClient plain = mqtt_connect_session(uri(), ingest_id, user, password, &present, &rc);
  cr_expect_null(plain, "a gateway signed in on the plain listener with ingest's client id");
  mqtt_close(plain);
  MQTTClient gw = mqtt_connect_session(h_env("FOFAL_MQTT_TLS_URI"), ingest_id, user, password, &present, &rc);
  cr_assert_not_null(gw, "the gateway connects over TLS: %d", rc);
  cr_expect_eq(present, 0, "the gateway was given a session that was there (ingest's)");

  /* Ingest still reads: the gateway's own sample reaches fofal.telemetry.raw. */
  snprintf(topic, sizeof topic, "fofal/%s/looms/L1/telemetry", t);
  fofal_time_format(fofal_now_us() - 2000000, ts);
  snprintf(payload, sizeof payload,
           "{\"msg_id\":\"takeover-1\",\"ts\":\"%s\",\"picks\":1000,\"ppm\":450,\"state\":\"running\"}", ts);
  cr_assert_eq(publish(gw, topic, payload), 0);
  long got = 0;
  for (int attempt = 0; attempt < 120 && !got; attempt++) {
    json_t *all = h_read_topic(FOFAL_TOPIC_TELEMETRY), *rec;
    size_t i;
    json_array_foreach(all, i, rec) {
      const json_t *v = json_object_get(rec, "value");
      const char *mid = json_string_value(json_object_get(json_object_get(v, "data"), "msg_id")) ?: "";
      got += !strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", t) && !strcmp(mid, "takeover-1");
    }
    json_decref(all);
    if (!got) usleep(500 * 1000);
  }
  cr_expect_eq(got, 1, "the gateway's sample reached %s through ingest", FOFAL_TOPIC_TELEMETRY);
  cr_expect_eq(h_log_count(log, "MQTT connection lost"), 0, "fofal-ingest was disconnected (see %s.log)", log);

  mqtt_close(gw);
  free(id);
  h_stop(ing, SIGTERM);
  h_stop(auth, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
}
