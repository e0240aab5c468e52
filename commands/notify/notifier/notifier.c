/*
 * notifier.c — fofal-notifier: the notify module's sender. It reads the event topics of
 * the triggers (commands/notify/notify.h) read_committed, matches each trigger event
 * against its tenant's rules (the notify projection's rows), and sends each recipient one
 * message: email over SMTP (libcurl), SMS through an HTTP gateway with Twilio's API shape
 * (POST {FOFAL_SMS_URL}/2010-04-01/Accounts/{sid}/Messages.json, form To/From/Body, HTTP
 * Basic sid:token, header I-Twilio-Idempotency-Token).
 *
 * Exactly once, as the user sees it:
 *   1. Record. A batch of records becomes rows of notify_ops.messages — one per (event,
 *      rule, badge), its id name-based on them (fofal_notify_message_id), status pending —
 *      and the topics' next offsets (notify_ops.positions), in ONE PostgreSQL transaction.
 *      A kill -9 before the commit reads the batch again; after it, nothing is read twice.
 *      A record read twice anyway makes no second row (ON CONFLICT DO NOTHING).
 *   2. Send. Due pending rows are sent one by one; each is marked sent right after its
 *      server accepted it. A kill -9 between the two sends it again on restart, with the
 *      same id: the email's Message-ID <id@FOFAL_NOTIFY_MESSAGE_DOMAIN> and the gateway's
 *      idempotency key, by which the receiver recognises the resend (Twilio drops a
 *      repeated key; the test sink and fake gateway keep one message per id).
 *   3. Retry. A send that fails (server down, 5xx, timeout) is tried again after
 *      FOFAL_NOTIFY_BACKOFF_MS, doubling up to FOFAL_NOTIFY_BACKOFF_MAX_MS; after
 *      FOFAL_NOTIFY_RETRIES retries (a 4xx from the gateway at once: it will not change)
 *      the row is failed and the command notify.message.fail (actor s:fofal-notifier, id
 *      derived from the message) records the event fofal.notify.message_failed, which
 *      `fofal status` counts and the audit trail shows.
 *
 * Personal data. Addresses are sealed in notify.contacts; they are opened with the
 * person's key (FOFAL_PD_MASTER_KEY) just before a send and never stored or logged. Logs
 * name a message by its id, channel and badge, never its address or content.
 *
 * One instance: it assigns every partition itself (its positions are in PostgreSQL). A
 * first start begins at the topics' ends: events from before it are not notified.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "notify/notify.h"
#include "projections.h"

#define MAX_TOPICS 8
#define MAX_PARTS 256
#define BATCH 500

static char *brokers, *pg_dsn, *pd_hex, *log_level, *smtp_url, *smtp_from, *smtp_user, *smtp_password, *smtp_tls,
    *smtp_ca, *sms_url, *sms_sid, *sms_token, *sms_from, *msg_domain;
static long long retries, backoff_ms, backoff_max_ms, send_timeout_s, overdue_s;
static fofal_kafka_security_t kafka_security;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 dbname=fofal user=fofal", 0, 0,
     "PostgreSQL: the notify read model, notify_ops (its positions and messages) and the person keys.", &pg_dsn},
    {"FOFAL_PD_MASTER_KEY", FOFAL_SET_STR, "", 0, 0,
     "Master key of personal data (64 hex characters, as fofal-api's): opens the contacts' addresses to send.",
     &pd_hex},
    {"FOFAL_SMTP_URL", FOFAL_SET_STR, "smtp://127.0.0.1:2525", 0, 0,
     "SMTP server: smtp://host:port (with FOFAL_SMTP_TLS=starttls for STARTTLS) or smtps://host:465 (TLS from the "
     "start).",
     &smtp_url},
    {"FOFAL_SMTP_TLS", FOFAL_SET_STR, "none", 0, 0,
     "none, starttls (required: refuse a server without it) or try (STARTTLS when offered). smtps:// is always TLS.",
     &smtp_tls},
    {"FOFAL_SMTP_CA_FILE", FOFAL_SET_STR, "", 0, 0, "CA bundle that verifies the relay's certificate (\"\": the system's).",
     &smtp_ca},
    {"FOFAL_SMTP_USER", FOFAL_SET_STR, "", 0, 0, "SMTP AUTH user (\"\": no authentication).", &smtp_user},
    {"FOFAL_SMTP_PASSWORD", FOFAL_SET_STR, "", 0, 0, "SMTP AUTH password.", &smtp_password},
    {"FOFAL_SMTP_FROM", FOFAL_SET_STR, "notifications@fofal.localhost", 0, 0, "The envelope and From: address.",
     &smtp_from},
    {"FOFAL_SMS_URL", FOFAL_SET_STR, "http://127.0.0.1:2526", 0, 0,
     "Base URL of the SMS gateway (Twilio's API shape): https://api.twilio.com for Twilio.", &sms_url},
    {"FOFAL_SMS_ACCOUNT_SID", FOFAL_SET_STR, "ACfofal", 0, 0, "The gateway account (Twilio: the Account SID).", &sms_sid},
    {"FOFAL_SMS_AUTH_TOKEN", FOFAL_SET_STR, "", 0, 0, "The gateway's secret (Twilio: the Auth Token).", &sms_token},
    {"FOFAL_SMS_FROM", FOFAL_SET_STR, "+21600000000", 0, 0, "The sender number (or messaging service) of SMS.", &sms_from},
    {"FOFAL_NOTIFY_RETRIES", FOFAL_SET_INT, "8", 0, 100, "Retries of a message before it is failed.", &retries},
    {"FOFAL_NOTIFY_BACKOFF_MS", FOFAL_SET_INT, "1000", 10, 3600000, "Pause before the first retry; doubles each time.",
     &backoff_ms},
    {"FOFAL_NOTIFY_BACKOFF_MAX_MS", FOFAL_SET_INT, "300000", 10, 86400000, "Longest pause between retries.",
     &backoff_max_ms},
    {"FOFAL_NOTIFY_SEND_TIMEOUT_S", FOFAL_SET_INT, "15", 1, 300, "One send (connect, dialogue) at most.", &send_timeout_s},
    {"FOFAL_NOTIFY_MESSAGE_DOMAIN", FOFAL_SET_STR, "fofal.localhost", 0, 0,
     "Right-hand side of the emails' Message-ID <message id@domain>.", &msg_domain},
    {"FOFAL_NOTIFY_OVERDUE_S", FOFAL_SET_INT, "60", 1, 86400,
     "How often the overdue actions of open NCs are looked for (fofal.quality.action_overdue.v1 rules).", &overdue_s},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

static const char usage[] =
    "Usage: fofal-notifier [--config FILE] [--option=value ...]\n\n"
    "Sends the notify module's messages (README, \"Notifications\"): reads the trigger events (a loom's breakdown, "
    "stock below its minimum, a non-conformity opened, a lot rejected, a purchase request submitted, a badge or an "
    "account locked after wrong codes in a row) and the overdue actions of open non-conformities, matches them "
    "against each tenant's rules (notify.rule.set) and sends every recipient one message, by email (SMTP) or SMS (an "
    "HTTP gateway with Twilio's API shape), exactly once per event, rule and person across restarts; retries with "
    "backoff, and records a message that still fails as fofal.notify.message_failed.";

typedef struct {
  char topic[128];
  fofal_kafka_t *consumer;
  int nparts;
  int64_t next[MAX_PARTS]; /* next offset to record, per partition */
} topic_t;

static fofal_pg_t *pg;
static fofal_kafka_t *producer;
static int cmd_parts;
static topic_t topics[MAX_TOPICS];
static int ntopics;
static unsigned char master[FOFAL_PD_KEY_BYTES];
static char errbuf[1024];

/* ------------------------------------------------------------- PostgreSQL */

typedef struct {
  json_t *rows; /* array of arrays of strings (NULL → null) */
} rows_t;

static void on_row(void *opaque, int ncols, const char *const *v) {
  rows_t *r = opaque;
  json_t *row = json_array();
  for (int i = 0; i < ncols; i++) json_array_append_new(row, v[i] ? json_string(v[i]) : json_null());
  json_array_append_new(r->rows, row);
}

/* The rows of a query as a new JSON array of arrays, or NULL (errbuf). */
static json_t *query(const char *sql, int n, const char *const *params) {
  rows_t r = {json_array()};
  if (fofal_pg_query(pg, sql, n, params, on_row, &r, errbuf, sizeof errbuf)) {
    json_decref(r.rows);
    return NULL;
  }
  return r.rows;
}

static const char *cell(const json_t *rows, size_t i, size_t j) {
  return json_string_value(json_array_get(json_array_get(rows, i), j));
}

/* ------------------------------------------------------------- recording */

/* The messages of one trigger event: rows of notify_ops.messages (in the open
 * transaction). 0 or FOFAL_EPG. */
static int record_event(const fofal_event_t *ev) {
  const char *p1[] = {ev->tenant, ev->type};
  json_t *rules = query("SELECT rule_id, channel, array_to_json(roles)::text, array_to_json(badges)::text, enabled::text, "
                        "on_shift::text, owner::text FROM notify.rules WHERE tenant = $1 AND event_type = $2 ORDER BY "
                        "rule_id",
                        2, p1);
  if (!rules) return FOFAL_EPG;
  /* The person the event is about, for rules with "owner": the badge it names (a locked
   * badge, an overdue action's owner), else the badge of the account it is about (an
   * identity event's subject). */
  char owner[72] = "";
  const char *named = json_string_value(json_object_get(ev->data, "badge"));
  if (!named) named = json_string_value(json_object_get(ev->data, "owner"));
  if (named) {
    snprintf(owner, sizeof owner, "%s", named);
  } else if (!strncmp(ev->type, "fofal.identity.", 15) && ev->subject && fofal_uuid_valid(ev->subject)) {
    const char *pa[] = {ev->tenant, ev->subject};
    json_t *acc = query("SELECT badge FROM identity.accounts WHERE tenant = $1 AND id = $2::uuid", 2, pa);
    if (!acc) {
      json_decref(rules);
      return FOFAL_EPG;
    }
    if (json_array_size(acc) && cell(acc, 0, 0)) snprintf(owner, sizeof owner, "%s", cell(acc, 0, 0));
    json_decref(acc);
  }
  if (!json_array_size(rules)) {
    json_decref(rules);
    return 0;
  }
  const char *p2[] = {ev->tenant};
  /* On shift: hr's read model of shift assignments (a shift that has started and not
   * ended), read as the notifier handles the event. */
  json_t *cs = query("SELECT c.badge, c.lang, array_to_json(c.roles)::text, (c.email IS NOT NULL)::text, (c.phone IS NOT "
                     "NULL)::text, c.optout_email::text, c.optout_sms::text, EXISTS (SELECT 1 FROM hr.shift_assignments s "
                     "WHERE s.tenant = c.tenant AND s.badge = c.badge AND s.starts_at <= now() AND now() < "
                     "s.ends_at)::text FROM notify.contacts c WHERE c.tenant = $1 ORDER BY c.badge",
                     1, p2);
  json_t *st = cs ? query("SELECT tenant_name FROM notify.settings WHERE tenant = $1", 1, p2) : NULL;
  if (!cs || !st) {
    json_decref(rules);
    json_decref(cs);
    return FOFAL_EPG;
  }
  json_t *contacts = json_array();
  for (size_t i = 0; i < json_array_size(cs); i++)
    json_array_append_new(contacts,
                          json_pack("{s:s,s:s,s:o,s:b,s:b,s:b,s:b,s:b}", "badge", cell(cs, i, 0), "lang", cell(cs, i, 1),
                                    "roles", json_loads(cell(cs, i, 2), 0, NULL), "has_email", !strcmp(cell(cs, i, 3), "true"),
                                    "has_phone", !strcmp(cell(cs, i, 4), "true"), "optout_email",
                                    !strcmp(cell(cs, i, 5), "true"), "optout_sms", !strcmp(cell(cs, i, 6), "true"),
                                    "on_shift", !strcmp(cell(cs, i, 7), "true")));
  const char *tname = json_array_size(st) ? cell(st, 0, 0) : ev->tenant;
  int rc = 0;
  char now[32];
  fofal_time_format(fofal_now_us(), now);
  for (size_t i = 0; !rc && i < json_array_size(rules); i++) {
    json_t *rule = json_pack("{s:s,s:o,s:o,s:b,s:b}", "channel", cell(rules, i, 1), "roles",
                             json_loads(cell(rules, i, 2), 0, NULL), "badges", json_loads(cell(rules, i, 3), 0, NULL),
                             "enabled", !strcmp(cell(rules, i, 4), "true"), "on_shift", !strcmp(cell(rules, i, 5), "true"));
    json_object_set_new(rule, "owner", json_boolean(cell(rules, i, 6) && !strcmp(cell(rules, i, 6), "true")));
    fofal_notify_add_owner(rule, owner);
    json_t *to = fofal_notify_recipients(rule, contacts);
    for (size_t k = 0; !rc && k < json_array_size(to); k++) {
      const char *badge = json_string_value(json_object_get(json_array_get(to, k), "badge"));
      const char *lang = json_string_value(json_object_get(json_array_get(to, k), "lang"));
      char id[FOFAL_UUID_LEN + 1], *subject = NULL, *body = NULL;
      fofal_notify_message_id(ev->tenant, ev->id, cell(rules, i, 0), badge, id);
      if (fofal_notify_render(ev->type, ev->data, lang, tname, &subject, &body)) continue;
      const char *p[] = {ev->tenant, id, ev->id, ev->type, cell(rules, i, 0), badge, cell(rules, i, 1), lang, subject, body,
                         now};
      rc = fofal_pg_execp(pg,
                          "INSERT INTO notify_ops.messages (tenant, message_id, event_id, event_type, rule_id, badge, "
                          "channel, lang, subject, body, status, next_at, created_at) VALUES ($1, $2::uuid, $3, $4, $5, $6, "
                          "$7, $8, $9, $10, 'pending', $11, $11) ON CONFLICT (tenant, message_id) DO NOTHING",
                          11, p, errbuf, sizeof errbuf);
      if (!rc) LOG_INFO("message %s: %s of rule %s for %s (event %s)", id, cell(rules, i, 1), cell(rules, i, 0), badge, ev->id);
      free(subject);
      free(body);
    }
    json_decref(to);
    json_decref(rule);
  }
  json_decref(contacts);
  json_decref(rules);
  json_decref(cs);
  json_decref(st);
  return rc;
}

/* Reads what is there (up to BATCH records per topic) and records it with the new
 * positions in one transaction. Returns the records read, or a negative error. */
static int record_batch(void) {
  int total = 0;
  fofal_kmsg_t *batch = fofal_calloc(BATCH, sizeof *batch);
  for (int t = 0; t < ntopics; t++) {
    int n = 0;
    while (n < BATCH) {
      fofal_kmsg_t m;
      int got = fofal_kafka_consume(topics[t].consumer, n || total || t ? 0 : 100, &m);
      if (got < 0) {
        for (int i = 0; i < n; i++) fofal_kafka_msg_release(&batch[i]);
        free(batch);
        return fofal_err(errbuf, sizeof errbuf, got, "consuming %s", topics[t].topic);
      }
      if (!got) break;
      if (m.eof) {
        fofal_kafka_msg_release(&m);
        continue;
      }
      batch[n++] = m;
    }
    if (!n) continue;
    int rc = fofal_pg_exec(pg, "BEGIN", errbuf, sizeof errbuf);
    int64_t next[MAX_PARTS];
    memcpy(next, topics[t].next, sizeof next);
    for (int i = 0; !rc && i < n; i++) {
      const fofal_kmsg_t *m = &batch[i];
      if (m->partition >= 0 && m->partition < MAX_PARTS) next[m->partition] = m->offset + 1;
      int named = 0;
      for (int k = 0; fofal_notify_triggers[k] && !named; k++) {
        char needle[160];
        snprintf(needle, sizeof needle, "\"%s\"", fofal_notify_triggers[k]);
        named = m->value && memmem(m->value, m->len, needle, strlen(needle)) != NULL;
      }
      if (!named) continue;
      fofal_event_t ev;
      char e2[256];
      if (fofal_event_decode(&ev, m->value, m->len, e2, sizeof e2)) {
        LOG_WARN("%s[%d]@%lld: unreadable event skipped: %s", m->topic, (int)m->partition, (long long)m->offset, e2);
        continue;
      }
      if (fofal_notify_trigger(ev.type)) rc = record_event(&ev);
      fofal_event_clear(&ev);
    }
    for (int p = 0; !rc && p < topics[t].nparts; p++) {
      if (next[p] == topics[t].next[p]) continue;
      char part[16], off[24];
      snprintf(part, sizeof part, "%d", p);
      snprintf(off, sizeof off, "%lld", (long long)next[p]);
      const char *pp[] = {topics[t].topic, part, off};
      rc = fofal_pg_execp(pg,
                          "INSERT INTO notify_ops.positions (topic, partition, next_offset) VALUES ($1, $2::int, "
                          "$3::bigint) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset",
                          3, pp, errbuf, sizeof errbuf);
    }
    if (!rc) rc = fofal_pg_exec(pg, "COMMIT", errbuf, sizeof errbuf);
    for (int i = 0; i < n; i++) fofal_kafka_msg_release(&batch[i]);
    if (rc) {
      char e2[256];
      fofal_pg_exec(pg, "ROLLBACK", e2, sizeof e2);
      free(batch);
      return rc;
    }
    memcpy(topics[t].next, next, sizeof next);
    total += n;
  }
  free(batch);
  return total;
}

/* Overdue actions (FOFAL_NOTIFY_OVERDUE): each action of an open NC past its due date, of a
 * tenant with such a rule, not yet made into messages, is recorded once as a condition
 * "event" (id "overdue:<nc>:<action>:<due>"), in one transaction. Looked for every minute;
 * a due date moved later makes it a new condition when it passes. Returns the actions
 * recorded, or a negative error. */
static int record_overdue(void) {
  const char *p[] = {FOFAL_NOTIFY_OVERDUE};
  json_t *rows = query(
      "SELECT a.tenant, 'overdue:' || a.nc_id || ':' || a.action_no || ':' || a.due, a.nc_id::text, a.action_no::text, "
      "a.description, a.owner, a.due::text, n.title FROM quality.nc_actions a JOIN quality.ncs n ON n.tenant = a.tenant "
      "AND n.nc_id = a.nc_id WHERE a.due < current_date AND n.status <> 'closed' AND EXISTS (SELECT 1 FROM notify.rules r "
      "WHERE r.tenant = a.tenant AND r.event_type = $1 AND r.enabled) AND NOT EXISTS (SELECT 1 FROM notify_ops.messages m "
      "WHERE m.tenant = a.tenant AND m.event_type = $1 AND m.event_id = 'overdue:' || a.nc_id || ':' || a.action_no || "
      "':' || a.due) ORDER BY a.tenant, a.due, a.nc_id, a.action_no LIMIT 500",
      1, p);
  if (!rows) return FOFAL_EPG;
  int n = (int)json_array_size(rows), rc = n ? fofal_pg_exec(pg, "BEGIN", errbuf, sizeof errbuf) : 0;
  for (int i = 0; !rc && i < n; i++) {
    fofal_event_t ev = {0};
    ev.tenant = (char *)cell(rows, i, 0);
    ev.id = (char *)cell(rows, i, 1);
    ev.type = (char *)FOFAL_NOTIFY_OVERDUE;
    ev.data = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "nc_id", cell(rows, i, 2), "action_no",
                        (json_int_t)atoll(cell(rows, i, 3)), "description", cell(rows, i, 4), "owner", cell(rows, i, 5),
                        "due", cell(rows, i, 6), "title", cell(rows, i, 7));
    rc = record_event(&ev);
    json_decref(ev.data);
  }
  if (n && !rc) rc = fofal_pg_exec(pg, "COMMIT", errbuf, sizeof errbuf);
  if (rc) {
    char e2[256];
    fofal_pg_exec(pg, "ROLLBACK", e2, sizeof e2);
  }
  json_decref(rows);
  return rc ? rc : n;
}

/* ---------------------------------------------------------------- sending */

static char *b64(const char *s) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s), o = 0;
  char *out = fofal_malloc(4 * ((n + 2) / 3) + 1);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)s[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
  return out;
}

typedef struct {
  const char *data;
  size_t len, at;
} upload_t;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *opaque) {
  upload_t *u = opaque;
  size_t n = size * nitems, left = u->len - u->at;
  if (n > left) n = left;
  memcpy(buf, u->data + u->at, n);
  u->at += n;
  return n;
}

static size_t discard_cb(char *buf, size_t size, size_t nitems, void *opaque) {
  (void)buf;
  (void)opaque;
  return size * nitems;
}

/* 0 sent; 1 failed, may succeed later; 2 failed for good. *why: a reason without content. */
static int send_email(const char *id, const char *to, const char *subject, const char *body, char *why, size_t wlen) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char *subj = b64(subject), *b = fofal_strdup(body);
  char *msg = fofal_asprintf("Date: %s\r\nFrom: FOFAL <%s>\r\nTo: <%s>\r\nMessage-ID: <%s@%s>\r\nSubject: =?UTF-8?B?%s?=\r\n"
                             "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                             "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n%s\r\n",
                             date, smtp_from, to, id, msg_domain, subj, b);
  free(subj);
  free(b);
  upload_t u = {msg, strlen(msg), 0};
  char from[300], rcpt[300];
  snprintf(from, sizeof from, "<%s>", smtp_from);
  snprintf(rcpt, sizeof rcpt, "<%s>", to);
  CURL *c = curl_easy_init();
  struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
  curl_easy_setopt(c, CURLOPT_URL, smtp_url);
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c, CURLOPT_READDATA, &u);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)send_timeout_s);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)send_timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!strcmp(smtp_tls, "starttls")) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  else if (!strcmp(smtp_tls, "try")) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
  if (*smtp_ca) curl_easy_setopt(c, CURLOPT_CAINFO, smtp_ca);
  if (*smtp_user) {
    curl_easy_setopt(c, CURLOPT_USERNAME, smtp_user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, smtp_password);
  }
  CURLcode cc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpts);
  curl_easy_cleanup(c);
  free(msg);
  if (cc == CURLE_OK) return 0;
  snprintf(why, wlen, "smtp: %s (reply %ld)", curl_easy_strerror(cc), code);
  /* A 5xx reply to the message is permanent (RFC 5321); a server that is down is not. */
  return code >= 500 && code < 600 && cc != CURLE_LOGIN_DENIED ? 2 : 1;
}

static int send_sms(const char *id, const char *to, const char *body, char *why, size_t wlen) {
  CURL *c = curl_easy_init();
  char *eto = curl_easy_escape(c, to, 0), *efrom = curl_easy_escape(c, sms_from, 0), *ebody = curl_easy_escape(c, body, 0);
  char *form = fofal_asprintf("To=%s&From=%s&Body=%s", eto, efrom, ebody);
  char *url = fofal_asprintf("%s/2010-04-01/Accounts/%s/Messages.json", sms_url, sms_sid);
  char idem[128];
  snprintf(idem, sizeof idem, "I-Twilio-Idempotency-Token: %s", id);
  struct curl_slist *h = curl_slist_append(NULL, idem);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  curl_easy_setopt(c, CURLOPT_USERNAME, sms_sid);
  curl_easy_setopt(c, CURLOPT_PASSWORD, sms_token);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)send_timeout_s);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)send_timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode cc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_free(eto);
  curl_free(efrom);
  curl_free(ebody);
  free(form);
  free(url);
  curl_easy_cleanup(c);
  if (cc != CURLE_OK) {
    snprintf(why, wlen, "sms gateway: %s", curl_easy_strerror(cc));
    return 1;
  }
  if (code >= 200 && code < 300) return 0;
  snprintf(why, wlen, "sms gateway: HTTP %ld", code);
  return code >= 400 && code < 500 && code != 408 && code != 429 ? 2 : 1;
}

/* The address of `badge` for `channel`, opened: a new string, NULL when there is none any
 * more (or the person opted out since, or was erased) — *rc an error otherwise. */
static char *address(const char *tenant, const char *badge, const char *channel, int *rc) {
  const char *p[] = {tenant, badge};
  int email = !strcmp(channel, "email");
  json_t *r = query(email ? "SELECT email::text, optout_email::text FROM notify.contacts WHERE tenant = $1 AND badge = $2"
                          : "SELECT phone::text, optout_sms::text FROM notify.contacts WHERE tenant = $1 AND badge = $2",
                    2, p);
  *rc = 0;
  if (!r) {
    *rc = FOFAL_EPG;
    return NULL;
  }
  const char *sealed = cell(r, 0, 0), *out = cell(r, 0, 1);
  char *addr = NULL;
  if (sealed && out && strcmp(out, "true")) {
    /* Under the name it was sealed as: the sealing binds the field's name. */
    const char *field = email ? "email" : "phone";
    json_t *obj = json_object();
    json_object_set_new(obj, field, json_loads(sealed, 0, NULL));
    if (!(*rc = fofal_open_personal(pg, master, tenant, obj, errbuf, sizeof errbuf))) {
      const char *a = json_string_value(json_object_get(obj, field));
      if (a && strcmp(a, FOFAL_PD_ERASED)) addr = fofal_strdup(a);
    }
    json_decref(obj);
  }
  json_decref(r);
  return addr;
}

/* notify.message.fail for one message, its id derived from the message's: a resend after a
 * crash is dropped by the decider's idempotency. */
static int produce_failure(const json_t *row, int attempts, const char *why) {
  const char *tenant = json_string_value(json_array_get(row, 0)), *id = json_string_value(json_array_get(row, 1));
  char cmd_id[80];
  snprintf(cmd_id, sizeof cmd_id, "notify-fail-%s", id);
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "message_id", id, "event_id",
                           json_string_value(json_array_get(row, 2)), "event_type", json_string_value(json_array_get(row, 3)),
                           "rule_id", json_string_value(json_array_get(row, 4)), "badge",
                           json_string_value(json_array_get(row, 5)), "channel", json_string_value(json_array_get(row, 6)),
                           "attempts", attempts, "reason", why);
  fofal_cmd_t cmd = {.id = cmd_id, .type = "notify.message.fail", .tenant = tenant, .actor = "s:fofal-notifier",
                     .aggregate = id, .expected_version = -1, .issued_us = fofal_now_us(),
                     .correlation_id = json_string_value(json_array_get(row, 2)), .data = data};
  int rc;
  while ((rc = fofal_command_produce(producer, &cmd, cmd_parts, NULL, NULL, errbuf, sizeof errbuf)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(producer, 10);
  if (!rc && fofal_kafka_flush(producer, 30000)) rc = fofal_err(errbuf, sizeof errbuf, FOFAL_ETIMEDOUT, "flushing");
  json_decref(data);
  return rc;
}

/* Sends the due messages (up to 20). Returns how many were tried, or a negative
 * error. */
static int send_due(void) {
  json_t *due = query("SELECT tenant, message_id::text, event_id, event_type, rule_id, badge, channel, subject, body, "
                      "attempts::text FROM notify_ops.messages WHERE status = 'pending' AND next_at <= now() ORDER BY "
                      "next_at, message_id LIMIT 20",
                      0, NULL);
  if (!due) return FOFAL_EPG;
  int tried = 0, rc = 0;
  for (size_t i = 0; !rc && i < json_array_size(due) && !fofal_stopped(&fofal_stop); i++) {
    const json_t *row = json_array_get(due, i);
    const char *tenant = cell(due, i, 0), *id = cell(due, i, 1), *badge = cell(due, i, 5), *channel = cell(due, i, 6);
    int attempts = atoi(cell(due, i, 9)) + 1, arc;
    char why[300] = "", *to = address(tenant, badge, channel, &arc);
    if (arc) {
      rc = arc;
      break;
    }
    int outcome;
    if (!to) {
      outcome = 3;
      snprintf(why, sizeof why, "no %s address (removed, opted out or erased since)", channel);
    } else if (!strcmp(channel, "email")) {
      outcome = send_email(id, to, cell(due, i, 7), cell(due, i, 8), why, sizeof why);
    } else {
      outcome = send_sms(id, to, cell(due, i, 8), why, sizeof why);
    }
    free(to);
    tried++;
    char att[16];
    snprintf(att, sizeof att, "%d", attempts);
    if (outcome == 0) {
      const char *p[] = {tenant, id, att};
      rc = fofal_pg_execp(pg,
                          "UPDATE notify_ops.messages SET status = 'sent', attempts = $3::int, sent_at = now(), "
                          "last_error = NULL WHERE tenant = $1 AND message_id = $2::uuid",
                          3, p, errbuf, sizeof errbuf);
      LOG_INFO("message %s sent (%s to %s, attempt %d)", id, channel, badge, attempts);
    } else if (outcome == 3) {
      const char *p[] = {tenant, id, why};
      rc = fofal_pg_execp(pg,
                          "UPDATE notify_ops.messages SET status = 'skipped', last_error = $3 WHERE tenant = $1 AND "
                          "message_id = $2::uuid",
                          3, p, errbuf, sizeof errbuf);
      LOG_INFO("message %s skipped: %s", id, why);
    } else if (outcome == 2 || attempts > retries) {
      rc = produce_failure(row, attempts, why);
      const char *p[] = {tenant, id, att, why};
      if (!rc)
        rc = fofal_pg_execp(pg,
                            "UPDATE notify_ops.messages SET status = 'failed', attempts = $3::int, last_error = $4 WHERE "
                            "tenant = $1 AND message_id = $2::uuid",
                            4, p, errbuf, sizeof errbuf);
      LOG_WARN("message %s failed after %d attempt(s): %s", id, attempts, why);
    } else {
      char ms[24];
      snprintf(ms, sizeof ms, "%lld", (long long)fofal_notify_backoff_ms(attempts, backoff_ms, backoff_max_ms));
      const char *p[] = {tenant, id, att, why, ms};
      rc = fofal_pg_execp(pg,
                          "UPDATE notify_ops.messages SET attempts = $3::int, last_error = $4, next_at = now() + $5::bigint "
                          "* interval '1 millisecond' WHERE tenant = $1 AND message_id = $2::uuid",
                          5, p, errbuf, sizeof errbuf);
      LOG_WARN("message %s: attempt %d failed (%s); next in %s ms", id, attempts, why, ms);
    }
  }
  json_decref(due);
  return rc ? rc : tried;
}

/* ------------------------------------------------------------------- life */

static int open_topics(void) {
  for (int i = 0; fofal_notify_triggers[i]; i++) {
    char module[64], topic[128];
    if (fofal_event_type_module(fofal_notify_triggers[i], module, sizeof module) ||
        fofal_topic_events(module, topic, sizeof topic))
      return fofal_err(errbuf, sizeof errbuf, FOFAL_ECONFIG, "no event topic for %s", fofal_notify_triggers[i]);
    int seen = 0;
    for (int t = 0; t < ntopics; t++) seen |= !strcmp(topics[t].topic, topic);
    if (!seen && ntopics < MAX_TOPICS) snprintf(topics[ntopics++].topic, sizeof topics->topic, "%s", topic);
  }
  for (int t = 0; t < ntopics; t++) {
    topic_t *tp = &topics[t];
    char cid[160];
    snprintf(cid, sizeof cid, "fofal-notifier-%s", tp->topic);
    fofal_kafka_opts_t co = {.brokers = brokers, .client_id = cid, .read_committed = 1};
    int rc = fofal_kafka_consumer_new(&tp->consumer, &co, errbuf, sizeof errbuf);
    if (rc) return rc;
    tp->nparts = fofal_kafka_partition_count_wait(producer, tp->topic, 10000, errbuf, sizeof errbuf);
    if (tp->nparts <= 0) return tp->nparts ? tp->nparts : fofal_err(errbuf, sizeof errbuf, FOFAL_ECONFIG, "%s: no partition", tp->topic);
    if (tp->nparts > MAX_PARTS) tp->nparts = MAX_PARTS;
    const char *p[] = {tp->topic};
    json_t *rows = query("SELECT partition::text, next_offset::text FROM notify_ops.positions WHERE topic = $1", 1, p);
    if (!rows) return FOFAL_EPG;
    int fresh = json_array_size(rows) == 0;
    for (int k = 0; k < tp->nparts; k++) tp->next[k] = -1;
    for (size_t r = 0; r < json_array_size(rows); r++) {
      int part = atoi(cell(rows, r, 0));
      if (part >= 0 && part < tp->nparts) tp->next[part] = atoll(cell(rows, r, 1));
    }
    json_decref(rows);
    int32_t parts[MAX_PARTS];
    int64_t offs[MAX_PARTS];
    for (int k = 0; k < tp->nparts; k++) {
      parts[k] = k;
      if (tp->next[k] < 0) {
        int64_t lo = 0, hi = 0;
        if (fresh && (rc = fofal_kafka_watermarks(producer, tp->topic, k, &lo, &hi, 10000, errbuf, sizeof errbuf)))
          return rc;
        tp->next[k] = fresh ? hi : 0; /* a first start: from the end; a partition added later: from its start */
        char part[16], off[24];
        snprintf(part, sizeof part, "%d", k);
        snprintf(off, sizeof off, "%lld", (long long)tp->next[k]);
        const char *pp[] = {tp->topic, part, off};
        if ((rc = fofal_pg_execp(pg,
                                 "INSERT INTO notify_ops.positions (topic, partition, next_offset) VALUES ($1, $2::int, "
                                 "$3::bigint) ON CONFLICT DO NOTHING",
                                 3, pp, errbuf, sizeof errbuf)))
          return rc;
      }
      offs[k] = tp->next[k];
    }
    if ((rc = fofal_kafka_assign(tp->consumer, tp->topic, parts, offs, tp->nparts, errbuf, sizeof errbuf))) return rc;
    LOG_INFO("reading %s (%d partitions)%s", tp->topic, tp->nparts, fresh ? ", from its end (first start)" : "");
  }
  return 0;
}

int main(int argc, char **argv) {
  int rc = 1;
  int early = fofal_process_start("fofal-notifier", settings, NSET, argc, argv, usage, &log_level);
  if (early >= 0) return early;
  if (!*pd_hex || fofal_pd_init() || fofal_pd_master_parse(pd_hex, master)) {
    LOG_ERROR("refusing to start: FOFAL_PD_MASTER_KEY is not 64 hex characters (it opens the contacts' addresses)");
    goto out;
  }
  if (strcmp(smtp_tls, "none") && strcmp(smtp_tls, "starttls") && strcmp(smtp_tls, "try")) {
    LOG_ERROR("refusing to start: FOFAL_SMTP_TLS must be none, starttls or try");
    goto out;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
    LOG_ERROR("refusing to start: libcurl does not initialise");
    goto out;
  }
  if (fofal_topics_require(brokers, errbuf, sizeof errbuf) || fofal_pg_connect(&pg, pg_dsn, errbuf, sizeof errbuf)) {
    LOG_ERROR("refusing to start: %s", errbuf);
    goto out;
  }
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = "fofal-notifier", .linger_ms = 1};
  if (fofal_kafka_producer_new(&producer, &po, errbuf, sizeof errbuf) ||
      (cmd_parts = fofal_kafka_partition_count_wait(producer, FOFAL_TOPIC_COMMANDS, 10000, errbuf, sizeof errbuf)) <= 0 ||
      open_topics()) {
    LOG_ERROR("cannot start: %s", errbuf);
    goto out;
  }
  LOG_INFO("notifying: email via %s, SMS via %s; %lld retries from %lld ms", smtp_url, sms_url, retries, backoff_ms);
  int64_t next_send = 0, next_overdue = 0;
  while (!fofal_stopped(&fofal_stop)) {
    int got = record_batch();
    if (got >= 0 && fofal_mono_us() >= next_overdue) {
      int late = record_overdue();
      got = late < 0 ? late : got + late;
      next_overdue = fofal_mono_us() + overdue_s * 1000000LL;
    }
    if (got < 0) {
      LOG_ERROR("stopping: %s", errbuf);
      goto out;
    }
    /* New messages go out at once; retries are looked for every 250 ms. */
    if (got > 0 || fofal_mono_us() >= next_send) {
      int sent = send_due();
      if (sent < 0) {
        LOG_ERROR("stopping: %s", errbuf);
        goto out;
      }
      next_send = fofal_mono_us() + 250000;
    }
    fofal_kafka_poll(producer, 0);
  }
  rc = 0;
out:
  for (int t = 0; t < ntopics; t++) fofal_kafka_free(topics[t].consumer);
  fofal_kafka_free(producer);
  fofal_pg_close(pg);
  curl_global_cleanup();
  fofal_settings_free(settings, NSET);
  return rc;
}
