/*
 * test_notifications.c — fofal-notifier against the real stack (decider, projector, API;
 * Kafka, PostgreSQL) with the local SMTP sink and fake SMS gateway of ops/notify/:
 *   - a rule fires: a loom's breakdown sends the mechanic one SMS, stock below its minimum
 *     the storekeeper one email (French, the tenant's name, Message-ID from the message id),
 *     an opted-out person gets nothing, nor does a mechanic off shift for a rule "on shift";
 *     GET /api/v1/notify/messages shows them sent;
 *   - kill -9 mid-stream: breakdowns streamed while fofal-notifier is killed twice and
 *     restarted; every (event, rule) has exactly one SMS and one email at the servers;
 *   - the SMTP server down then up: the message is retried with backoff (pending, attempts
 *     counted) and delivered late, once.
 * One tenant for the file; the events are produced straight to their topics as
 * fofal-machines and the inventory decider write them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"
#include "notify/notify.h"

static int port, smtp_port, sms_port;
static pid_t dec, proj, api, notifier, sink, gateway;
static char tenant[32], mail_dir[600], sms_dir[600];
static char *admin;
static fofal_kafka_t *kp;

/* Starts one of ops/notify's servers (a script of the source tree), output to its log. */
static pid_t start_script(const char *name, int p, const char *dir) {
  char path[1024], log[1024], ps[16];
  snprintf(path, sizeof path, "%s/ops/notify/%s", FOFAL_SOURCE_DIR, name);
  snprintf(log, sizeof log, "%s/logs/test-%s.log", h_env("FOFAL_STACK_DIR"), name);
  snprintf(ps, sizeof ps, "%d", p);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (!pid) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(path, path, "--port", ps, "--dir", dir, (char *)NULL);
    _exit(127);
  }
  /* Ready once it accepts connections. */
  for (int i = 0; i < 100; i++) {
    char url[64];
    snprintf(url, sizeof url, "/");
    h_resp_t r;
    if (!strcmp(name, "fofal-fake-sms")) {
      h_http(p, "GET", "/messages", NULL, NULL, &r, 1000);
      int ok = r.status == 200;
      h_resp_free(&r);
      if (ok) return pid;
    } else {
      char cmd[256];
      snprintf(cmd, sizeof cmd, "exec 3<>/dev/tcp/127.0.0.1/%d 2>/dev/null", p);
      char *argv[] = {"/bin/bash", "-c", cmd, NULL};
      pid_t c = fork();
      if (!c) {
        execv(argv[0], argv);
        _exit(127);
      }
      int st;
      waitpid(c, &st, 0);
      if (WIFEXITED(st) && !WEXITSTATUS(st)) return pid;
    }
    usleep(100 * 1000);
  }
  cr_assert_fail("%s did not listen on %d (see %s)", name, p, log);
  return pid;
}

static pid_t start_notifier(void) {
  char smtp[96], sms[96], user[64], password[200], dsn[1024];
  snprintf(smtp, sizeof smtp, "FOFAL_SMTP_URL=smtp://127.0.0.1:%d", smtp_port);
  snprintf(sms, sizeof sms, "FOFAL_SMS_URL=http://127.0.0.1:%d", sms_port);
  snprintf(user, sizeof user, "FOFAL_KAFKA_USER=%s", getenv("FOFAL_KAFKA_USER") ? "fofal-notifier" : "");
  snprintf(password, sizeof password, "FOFAL_KAFKA_PASSWORD=%s",
           getenv("FOFAL_KAFKA_NOTIFIER_PASSWORD") ? getenv("FOFAL_KAFKA_NOTIFIER_PASSWORD") : "");
  snprintf(dsn, sizeof dsn, "FOFAL_PG_DSN=%s", h_env("FOFAL_PROJECTOR_PG_DSN"));
  const char *env[] = {smtp, sms, user, password, dsn, "FOFAL_NOTIFY_BACKOFF_MS=200", "FOFAL_NOTIFY_BACKOFF_MAX_MS=800",
                       "FOFAL_NOTIFY_RETRIES=60", "FOFAL_NOTIFY_OVERDUE_S=1", "FOFAL_LOG_LEVEL=info", NULL};
  int before = h_log_count("test-notifier", "\"msg\":\"notifying");
  pid_t pid = h_spawn("commands/fofal-notifier", "test-notifier", NULL, env);
  for (int i = 0; i < 600; i++) {
    if (h_log_count("test-notifier", "\"msg\":\"notifying") > before) return pid;
    int st;
    cr_assert_neq(waitpid(pid, &st, WNOHANG), pid, "fofal-notifier exited at start (see test-notifier.log)");
    usleep(100 * 1000);
  }
  cr_assert_fail("fofal-notifier did not start within 60 s");
  return pid;
}

static void send(const char *type, const char *key, const char *body, char pos[160]) {
  json_t *j = NULL;
  int st = h_command_ok(port, admin, type, key, NULL, body, &j);
  const char *d = json_string_value(json_object_get(j, "detail"));
  cr_assert_eq(st, 201, "%s: %d %s", type, st, d ? d : "");
  if (pos) snprintf(pos, 160, "%s", json_string_value(json_object_get(j, "position")));
  json_decref(j);
}

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  api = h_start_api(port);
  admin = h_token(tenant, "admin");
  smtp_port = h_free_port();
  sms_port = h_free_port();
  snprintf(mail_dir, sizeof mail_dir, "%s/notify-test/%s/mail", h_env("FOFAL_STACK_DIR"), tenant);
  snprintf(sms_dir, sizeof sms_dir, "%s/notify-test/%s/sms", h_env("FOFAL_STACK_DIR"), tenant);
  sink = start_script("fofal-smtp-sink", smtp_port, mail_dir);
  gateway = start_script("fofal-fake-sms", sms_port, sms_dir);
  notifier = start_notifier();
  char err[256];
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-notify"};
  cr_assert_eq(fofal_kafka_producer_new(&kp, &o, err, sizeof err), 0, "%s", err);

  char pos[160], path[400];
  send("notify.settings.set", "s1", "{\"settings\":\"default\",\"tenant_name\":\"Tissage du Sahel\",\"lang\":\"fr\"}", NULL);
  send("notify.contact.set", "c1",
       "{\"badge\":\"M1\",\"phone\":\"+216 20 000 001\",\"email\":\"m1@example.test\",\"roles\":[\"mechanic\"]}", NULL);
  send("notify.contact.set", "c2", "{\"badge\":\"M2\",\"phone\":\"+216 20 000 002\",\"roles\":[\"mechanic\"]}", NULL);
  send("notify.optout.set", "o2", "{\"badge\":\"M2\",\"channel\":\"sms\",\"opted_out\":true}", NULL);
  send("notify.contact.set", "c3",
       "{\"badge\":\"S1\",\"email\":\"s1@example.test\",\"lang\":\"fr\",\"roles\":[\"storekeeper_mp\"]}", NULL);
  /* A number the fake gateway refuses for good (…999), reached when a lot is rejected. */
  send("notify.contact.set", "c9", "{\"badge\":\"Q9\",\"phone\":\"+216 20 000 999\",\"roles\":[\"quality\"]}", NULL);
  send("notify.rule.set", "r4",
       "{\"rule_id\":\"lot-sms\",\"event_type\":\"fofal.quality.lot_rejected.v1\",\"channel\":\"sms\","
       "\"roles\":[\"quality\"]}",
       NULL);
  /* Mechanics on shift by email: nobody is on a shift of hr's here, so it sends nothing. */
  send("notify.rule.set", "r5",
       "{\"rule_id\":\"breakdown-email-on-shift\",\"event_type\":\"fofal.machines.breakdown_declared.v1\","
       "\"channel\":\"email\",\"roles\":[\"mechanic\"],\"on_shift\":true}",
       NULL);
  send("notify.rule.set", "r1",
       "{\"rule_id\":\"breakdown-sms\",\"event_type\":\"fofal.machines.breakdown_declared.v1\",\"channel\":\"sms\","
       "\"roles\":[\"mechanic\"]}",
       NULL);
  send("notify.rule.set", "r2",
       "{\"rule_id\":\"breakdown-email\",\"event_type\":\"fofal.machines.breakdown_declared.v1\",\"channel\":\"email\","
       "\"badges\":[\"M1\"]}",
       NULL);
  send("notify.rule.set", "r3",
       "{\"rule_id\":\"stock-email\",\"event_type\":\"fofal.inventory.stock_below_minimum.v1\",\"channel\":\"email\","
       "\"roles\":[\"storekeeper_mp\"]}",
       pos);
  json_t *rules = NULL;
  snprintf(path, sizeof path, "/api/v1/notify/rules?position=%s", pos);
  cr_assert_eq(h_get(port, admin, path, &rules, NULL), 200);
  cr_assert_eq(json_array_size(json_object_get(rules, "rules")), 5, "the projection has the rules");
  json_decref(rules);
}

static void teardown(void) {
  fofal_kafka_free(kp);
  free(admin);
  h_stop(notifier, SIGTERM);
  h_stop(sink, SIGTERM);
  h_stop(gateway, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 300);

/* An event of `module` as its writer puts it on the topic (data: stolen); its id into id. */
static void produce(const char *module, const char *type, const char *subject, json_t *data, char id[FOFAL_UUID_LEN + 1]) {
  char err[256], topic[96], source[64];
  fofal_uuid7(id);
  snprintf(source, sizeof source, "/fofal/%s", module);
  fofal_event_t ev = {.id = id, .source = source, .type = (char *)type, .subject = (char *)subject,
                      .time_us = fofal_now_us(), .tenant = tenant, .seq = 1, .actor = "s:test", .data = data};
  char *buf = fofal_event_encode(&ev);
  const fofal_kheader_t *h;
  int nh = fofal_event_kafka_headers(&h);
  fofal_topic_events(module, topic, sizeof topic);
  int rc;
  while ((rc = fofal_kafka_produce(kp, topic, -1, subject, strlen(subject), buf, strlen(buf), h, nh, NULL, NULL, err,
                                   sizeof err)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(kp, 10);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(fofal_kafka_flush(kp, 30000), 0);
  free(buf);
  json_decref(data);
}

/* A breakdown as fofal-machines declares it, each with a command id of its own (the
 * machines projection keys its breakdowns by it: a shared one made its rows depend on the
 * order of the partitions, and `fofal verify machines` in test_operations differed). */
static void breakdown(const char *loom, char id[FOFAL_UUID_LEN + 1]) {
  char since[32], cmd[FOFAL_UUID_LEN + 1];
  fofal_time_format(fofal_now_us() - 60 * 1000000LL, since);
  fofal_uuid7(cmd);
  produce("machines", "fofal.machines.breakdown_declared.v1", loom,
          json_pack("{s:s,s:s,s:s,s:s,s:s}", "loom", loom, "cause", "mechanical", "since", since, "reason", "stop",
                    "command_id", cmd),
          id);
}

static void stock_low(const char *item, char id[FOFAL_UUID_LEN + 1]) {
  char at[32];
  fofal_time_format(fofal_now_us(), at);
  produce("inventory", "fofal.inventory.stock_below_minimum.v1", item,
          json_pack("{s:s,s:s,s:i,s:i,s:s}", "location", "MP-A", "item", item, "on_hand", 3, "minimum", 10, "occurred_at",
                    at),
          id);
}

/* The messages of this tenant as the API lists them (all pages' first 200). */
static json_t *messages(const char *status) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/notify/messages?limit=200%s%s", status ? "&status=" : "", status ? status : "");
  json_t *b = NULL;
  cr_assert_eq(h_get(port, admin, path, &b, NULL), 200);
  json_t *items = json_incref(json_object_get(b, "items"));
  json_decref(b);
  return items;
}

/* How many .eml files the sink holds whose text contains `needle` (NULL: all). */
static int mails(const char *needle) {
  DIR *d = opendir(mail_dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".eml")) continue;
    if (!needle) {
      n++;
      continue;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", mail_dir, e->d_name);
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[got] = 0;
    if (f) fclose(f);
    n += strstr(buf, needle) != NULL;
  }
  if (d) closedir(d);
  return n;
}

/* The SMS the fake gateway recorded (new array). */
static json_t *sms(void) {
  h_resp_t r;
  h_http(sms_port, "GET", "/messages", NULL, NULL, &r, 5000);
  cr_assert_eq(r.status, 200);
  json_t *a = json_loads(r.body, 0, NULL);
  h_resp_free(&r);
  return a;
}

static int sms_with(const char *needle) {
  json_t *a = sms(), *m;
  size_t i;
  int n = 0;
  json_array_foreach(a, i, m) n += strstr(json_string_value(json_object_get(m, "body")), needle) != NULL;
  json_decref(a);
  return n;
}

static void wait_for(int (*count)(const char *), const char *needle, int want, int timeout_s, const char *what) {
  int n = 0;
  for (int i = 0; i < timeout_s * 10; i++) {
    if ((n = count(needle)) >= want) break;
    usleep(100 * 1000);
  }
  cr_assert_eq(n, want, "%s: %d, want %d", what, n, want);
}

Test(notify, a_rule_fires_and_the_servers_receive_exactly_one_message) {
  char ev1[FOFAL_UUID_LEN + 1], ev2[FOFAL_UUID_LEN + 1], mid[FOFAL_UUID_LEN + 1], needle[160];
  breakdown("LX1", ev1);
  stock_low("YARN-X1", ev2);
  wait_for(sms_with, "LX1", 1, 60, "SMS for the breakdown");
  wait_for(mails, "YARN-X1", 1, 60, "emails for the stock");
  wait_for(mails, "LX1", 1, 60, "emails for the breakdown (rule by badge)");
  usleep(1000 * 1000); /* nothing more arrives */
  cr_expect_eq(sms_with("LX1"), 1, "one SMS: M2 opted out of SMS");
  cr_expect_eq(mails("YARN-X1"), 1);
  json_t *a = sms(), *m = json_array_get(a, 0);
  cr_expect_str_eq(json_string_value(json_object_get(m, "to")), "+216 20 000 001");
  cr_expect(strstr(json_string_value(json_object_get(m, "body")), "Tissage du Sahel : le métier LX1 est en panne"),
            "French, with the tenant's name: %s", json_string_value(json_object_get(m, "body")));
  fofal_notify_message_id(tenant, ev1, "breakdown-sms", "M1", mid);
  cr_expect_str_eq(json_string_value(json_object_get(m, "idempotency_key")), mid);
  json_decref(a);
  fofal_notify_message_id(tenant, ev2, "stock-email", "S1", mid);
  snprintf(needle, sizeof needle, "Message-ID: <%s@", mid);
  cr_expect_eq(mails(needle), 1, "the email's Message-ID is its message id");
  cr_expect_eq(mails("To: <s1@example.test>"), 1);
  /* The reads: three sent, no address in them. */
  json_t *sent = messages("sent");
  cr_expect_eq(json_array_size(sent), 3);
  char *text = json_dumps(sent, JSON_COMPACT);
  cr_expect_null(strstr(text, "example.test"), "no address in the read: %s", text);
  cr_expect_null(strstr(text, "+216"));
  free(text);
  json_decref(sent);
  /* Nobody's address reached the notifier's log. */
  cr_expect_eq(h_log_count("test-notifier", "example.test"), 0);
  cr_expect_eq(h_log_count("test-notifier", "20 000 00"), 0);
}

#define STREAM 30

Test(notify, kill_9_mid_stream_leaves_exactly_one_message_per_event_and_rule) {
  char ids[STREAM][FOFAL_UUID_LEN + 1], loom[16];
  for (int i = 0; i < STREAM; i++) {
    snprintf(loom, sizeof loom, "LK%02d", i);
    breakdown(loom, ids[i]);
    if (i == STREAM / 3 || i == 2 * STREAM / 3) {
      usleep(150 * 1000 * (i == STREAM / 3 ? 1 : 3)); /* somewhere in its work */
      kill(notifier, SIGKILL);
      waitpid(notifier, NULL, 0);
      notifier = start_notifier();
    }
  }
  wait_for(sms_with, "LK", STREAM, 120, "SMS of the stream");
  wait_for(mails, "LK", STREAM, 120, "emails of the stream");
  usleep(1000 * 1000);
  cr_expect_eq(sms_with("LK"), STREAM, "exactly one SMS per breakdown");
  cr_expect_eq(mails("LK"), STREAM, "exactly one email per breakdown");
  /* Each by its own id, and the notifier's record agrees: one sent row per (event, rule). */
  for (int i = 0; i < STREAM; i++) {
    char mid[FOFAL_UUID_LEN + 1], needle[160];
    fofal_notify_message_id(tenant, ids[i], "breakdown-email", "M1", mid);
    snprintf(needle, sizeof needle, "Message-ID: <%s@", mid);
    cr_expect_eq(mails(needle), 1, "breakdown %d", i);
  }
  json_t *all = messages(NULL), *m;
  size_t i;
  int lk = 0;
  json_array_foreach(all, i, m) {
    if (!strstr(json_string_value(json_object_get(m, "subject")), "LK")) continue;
    lk++;
    cr_expect_str_eq(json_string_value(json_object_get(m, "status")), "sent");
  }
  cr_expect_eq(lk, 2 * STREAM, "one message per breakdown and rule");
  json_decref(all);
}

Test(notify, smtp_down_then_up_delivers_late_once) {
  char ev[FOFAL_UUID_LEN + 1], mid[FOFAL_UUID_LEN + 1], needle[160];
  h_stop(sink, SIGTERM);
  stock_low("YARN-DOWN", ev);
  fofal_notify_message_id(tenant, ev, "stock-email", "S1", mid);
  /* Retried while the server is down: pending, its attempts counted, an error kept. */
  int attempts = 0;
  for (int i = 0; i < 300 && attempts < 3; i++) {
    json_t *p = messages("pending"), *m;
    size_t k;
    json_array_foreach(p, k, m) if (!strcmp(json_string_value(json_object_get(m, "message_id")), mid)) attempts =
        (int)json_integer_value(json_object_get(m, "attempts"));
    json_decref(p);
    usleep(100 * 1000);
  }
  cr_assert_geq(attempts, 3, "the message is retried while the SMTP server is down");
  cr_expect_eq(mails("YARN-DOWN"), 0);
  sink = start_script("fofal-smtp-sink", smtp_port, mail_dir);
  wait_for(mails, "YARN-DOWN", 1, 60, "the email, once the server is back");
  usleep(1000 * 1000);
  snprintf(needle, sizeof needle, "Message-ID: <%s@", mid);
  cr_expect_eq(mails(needle), 1, "delivered once");
  json_t *sent = messages("sent"), *m;
  size_t k;
  int found = 0;
  json_array_foreach(sent, k, m) if (!strcmp(json_string_value(json_object_get(m, "message_id")), mid)) {
    found = 1;
    cr_expect_gt(json_integer_value(json_object_get(m, "attempts")), 3);
  }
  cr_expect(found, "the read says sent");
  json_decref(sent);
}

Test(notify, a_refusal_for_good_is_a_failure_event_that_fofal_status_counts) {
  char ev[FOFAL_UUID_LEN + 1], mid[FOFAL_UUID_LEN + 1];
  char at[32];
  fofal_time_format(fofal_now_us(), at);
  produce("quality", "fofal.quality.lot_rejected.v1", "LOT-9",
          json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:s}", "lot", "LOT-9", "lot_kind", "pieces", "reason", "trous",
                    "location", "QUAR", "signed_by", "actor", "u:q/quality", "decided_at", at),
          ev);
  fofal_notify_message_id(tenant, ev, "lot-sms", "Q9", mid);
  /* Failed at once (a 400 will not change), the event projected, fofal status counts it. */
  char *out = NULL, want[128];
  snprintf(want, sizeof want, "\"tenant\":\"%s\",\"failed\":1", tenant);
  int seen = 0;
  for (int i = 0; i < 300 && !seen; i++) {
    const char *args[] = {"status", "--json", NULL};
    free(out);
    out = NULL;
    h_run_cli(60, &out, args);
    seen = out && strstr(out, want);
    if (!seen) usleep(200 * 1000);
  }
  cr_expect(seen, "fofal status shows the failure: %s", out ? out : "");
  free(out);
  json_t *failed = messages("failed");
  cr_assert_eq(json_array_size(failed), 1);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(failed, 0), "message_id")), mid);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(failed, 0), "attempts")), 1, "no retry of a 400");
  json_decref(failed);
  cr_expect_eq(sms_with("LOT-9"), 0);
}

/* A badge locked after wrong PINs reaches its holder (a rule with "owner"), and an NC's
 * action past due reaches quality and the action's owner: once each, though the notifier
 * looks for overdue actions every second. */
Test(notify, a_lockout_reaches_its_holder_and_an_overdue_action_its_owner_once) {
  char pos[160], id[FOFAL_UUID_LEN + 1], nc[FOFAL_UUID_LEN + 1], b[600], yesterday[16];
  send("notify.contact.set", "cl7", "{\"badge\":\"L7\",\"email\":\"l7@example.test\",\"roles\":[\"weaver\"]}", NULL);
  send("notify.contact.set", "cw7", "{\"badge\":\"W7\",\"email\":\"w7@example.test\",\"roles\":[\"weaver\"]}", NULL);
  send("notify.contact.set", "cq1", "{\"badge\":\"Q1\",\"email\":\"q1@example.test\",\"roles\":[\"quality\"]}", NULL);
  send("notify.rule.set", "r6",
       "{\"rule_id\":\"lockout-owner\",\"event_type\":\"fofal.identity.locked_out.v1\",\"channel\":\"email\","
       "\"owner\":true}",
       NULL);
  send("notify.rule.set", "r7",
       "{\"rule_id\":\"overdue-email\",\"event_type\":\"fofal.quality.action_overdue.v1\",\"channel\":\"email\","
       "\"roles\":[\"quality\"],\"owner\":true}",
       pos);
  /* The notifier matches an event against the rules the projection holds when it reads it:
   * the two rules must be projected before the event is produced (in a full run beside
   * another stack the projector lagged, and the lockout matched no rule). */
  char path[400];
  json_t *rules = NULL;
  snprintf(path, sizeof path, "/api/v1/notify/rules?position=%s", pos);
  cr_assert_eq(h_get(port, admin, path, &rules, NULL), 200);
  json_decref(rules);

  produce("identity", "fofal.identity.locked_out.v1", "0190a4b2-0000-7000-8000-0000000000e1",
          json_pack("{s:s,s:s,s:i,s:i,s:s}", "method", "pin", "badge", "L7", "failures", 5, "seconds", 900, "ip",
                    "203.0.113.9"),
          id);
  wait_for(mails, "To: <l7@example.test>", 1, 60, "the locked badge's holder");
  cr_expect_eq(mails("To: <w7@example.test>"), 0, "only the holder");

  send("hr.employee.register", "ew7", "{\"badge\":\"W7\",\"name\":\"Walid\",\"job\":\"weaver\"}", NULL);
  fofal_uuid7(nc);
  snprintf(b, sizeof b, "{\"nc_id\":\"%s\",\"title\":\"Trous en lisiere\",\"source\":\"manual\"}", nc);
  send("quality.nc.open", "nc1", b, NULL);
  snprintf(b, sizeof b, "{\"nc_id\":\"%s\",\"cause\":\"lames usees\",\"category\":\"machine\"}", nc);
  send("quality.nc.analyse", "nc2", b, NULL);
  time_t t = time(NULL) - 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(yesterday, sizeof yesterday, "%Y-%m-%d", &tm);
  snprintf(b, sizeof b,
           "{\"nc_id\":\"%s\",\"kind\":\"corrective\",\"description\":\"changer les lames\",\"owner\":\"W7\","
           "\"due\":\"%s\"}",
           nc, yesterday);
  send("quality.nc.act", "nc3", b, NULL);
  wait_for(mails, "To: <w7@example.test>", 1, 60, "the overdue action's owner");
  wait_for(mails, "To: <q1@example.test>", 1, 60, "quality, for the overdue action");
  usleep(3000 * 1000); /* three more looks for overdue actions */
  cr_expect_eq(mails("To: <w7@example.test>"), 1, "once, however often it is looked for");
  cr_expect_eq(mails("To: <q1@example.test>"), 1);
  cr_expect_eq(mails("To: <l7@example.test>"), 1);
  cr_expect_eq(h_log_count("test-notifier", "203.0.113.9"), 0, "no client address in the log");
}
