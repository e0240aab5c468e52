/*
 * broker_auth_main.c — fofal-mqtt-auth: keeps Mosquitto's password_file and acl_file equal
 * to the MQTT gateways the identity module enrolled and did not revoke, and makes the
 * broker reload them (SIGHUP) at each change: an enrolment or a revocation takes effect
 * within about a second, without a restart.
 *
 * Why files and a SIGHUP rather than Mosquitto's dynamic-security plugin: the plugin's
 * $CONTROL API (Mosquitto 2.0) takes a client's password in clear and hashes it itself,
 * so whatever fed it would need the password, which would then have to travel on the log
 * or live in a second store. With files, fofal-api hashes the random password once
 * (Mosquitto's own PBKDF2-SHA512 format), the log carries only that hash, and the files
 * are a pure function of the log (broker_auth.c), rebuilt from it at every start. The
 * price: this process runs beside the broker (it writes the broker's files and signals
 * its pid), one per broker.
 *
 * Lifecycle. Reads every partition of fofal.identity.events from the beginning
 * (read_committed, no consumer group, nothing committed: the state is the log's). Once
 * each partition's end was reached it writes the files (a base file given by the
 * deployment first: the ingest account and other static users) and signals the broker;
 * after that, at each batch that enrolled or revoked a gateway. Files are replaced by
 * rename, so the broker never reads half of one. On SIGHUP Mosquitto re-reads both and
 * checks its connected clients again: a revoked gateway's connection is closed.
 *
 * Failures. Kafka unreachable: librdkafka retries; the files keep their last content. A
 * file that cannot be written, or a broker pid that cannot be signalled, is logged and
 * retried at the next second. Threads: one, the caller's; librdkafka has its own.
 */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *brokers, *dir, *base_passwd, *base_acl, *pid_file, *log_level;
static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_MQTT_AUTH_DIR", FOFAL_SET_STR, NULL, 0, 0,
     "Directory of the files written: passwd (the broker's password_file) and acl (its acl_file).", &dir},
    {"FOFAL_MQTT_AUTH_BASE_PASSWD", FOFAL_SET_STR, "", 0, 0,
     "A password file copied first into passwd (the static users: fofal-ingest's account). Empty: none.",
     &base_passwd},
    {"FOFAL_MQTT_AUTH_BASE_ACL", FOFAL_SET_STR, "", 0, 0, "An ACL file copied first into acl. Empty: none.", &base_acl},
    {"FOFAL_MQTT_BROKER_PID_FILE", FOFAL_SET_STR, "", 0, 0,
     "The broker's pid file: it gets SIGHUP after each change (it re-reads both files). Empty: no signal (the "
     "deployment reloads the broker itself).",
     &pid_file},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

/* A whole small file (new), "" when path is empty; NULL if it cannot be read. */
static char *slurp(const char *path) {
  if (!*path) return fofal_strdup("");
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n + 4096 > cap) buf = fofal_realloc(buf, cap = cap * 2 + 4096);
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
  } while (got > 0 && n < (1u << 24));
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Writes text to dir/name by a rename (mode 600). 0 or -1 (logged). */
static int put_file(const char *name, const char *text) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;
  if (fd < 0) goto out;
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) goto out;
    off += (size_t)w;
  }
  if (fsync(fd) || close(fd)) {
    fd = -1;
    goto out;
  }
  fd = -1;
  rc = rename(tmp, path);
out:
  if (fd >= 0) close(fd);
  if (rc) LOG_ERROR("cannot write %s: %s", path, strerror(errno));
  return rc;
}

/* Writes both files and signals the broker. 0 or -1 (logged; retried by the caller). */
static int publish(const fofal_broker_auth_t *a) {
  char *bp = slurp(base_passwd), *ba = slurp(base_acl), *p = NULL, *acl = NULL;
  int rc = -1;
  if (!bp || !ba) {
    LOG_ERROR("cannot read the base files %s, %s: %s", base_passwd, base_acl, strerror(errno));
    goto out;
  }
  p = fofal_broker_auth_passwd(a, bp);
  acl = fofal_broker_auth_acl(a, ba);
  /* The ACL first: a gateway that is in the password file is never without its rules. */
  if (put_file("acl", acl) || put_file("passwd", p)) goto out;
  if (*pid_file) {
    char *pid_s = slurp(pid_file);
    long pid = pid_s ? strtol(pid_s, NULL, 10) : 0;
    free(pid_s);
    if (pid <= 1 || kill((pid_t)pid, SIGHUP)) {
      LOG_ERROR("cannot signal the broker (pid file %s, pid %ld): %s", pid_file, pid, strerror(errno));
      goto out;
    }
  }
  LOG_INFO("broker files written: %zu gateways%s", fofal_broker_auth_count(a), *pid_file ? ", broker reloaded" : "");
  rc = 0;
out:
  free(bp);
  free(ba);
  free(p);
  free(acl);
  return rc;
}

int main(int argc, char **argv) {
  char err[512], topic[96];
  int rc = 1, nparts = 0, at_end = 0;
  fofal_kafka_t *consumer = NULL;
  fofal_broker_auth_t *a = fofal_broker_auth_new();
  unsigned char *eof = NULL;
  int early = fofal_process_start("fofal-mqtt-auth", settings, NSET, argc, argv,
                                  "Usage: fofal-mqtt-auth [--config FILE] [--option=value ...]\n\n"
                                  "Keeps Mosquitto's password_file and acl_file equal to the MQTT gateways enrolled "
                                  "and not revoked (identity.gateway.enrol / .revoke, read from fofal.identity.events) "
                                  "and makes the broker reload them (SIGHUP). Runs beside the broker.",
                                  &log_level);
  if (early >= 0) {
    fofal_broker_auth_free(a);
    return early;
  }
  fofal_topic_events("identity", topic, sizeof topic);
  fofal_kafka_opts_t co = {.brokers = brokers, .client_id = "fofal-mqtt-auth", .read_committed = 1, .partition_eof = 1};
  if (fofal_kafka_consumer_new(&consumer, &co, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  /* Just after `fofal topics create` the broker may not yet show this user the topic (its
   * ACLs propagate): ask again for up to 30 s before giving up. */
  for (int tries = 0; (nparts = fofal_kafka_partition_count(consumer, topic, 10000, err, sizeof err)) <= 0 && tries < 30 &&
                      !fofal_stopped(&fofal_stop);
       tries++)
    sleep(1);
  if (nparts <= 0) {
    LOG_ERROR("cannot start: %s", nparts < 0 ? err : "no partitions");
    goto out;
  }
  int32_t parts[256];
  int64_t offs[256];
  if (nparts > 256) nparts = 256;
  for (int i = 0; i < nparts; i++) parts[i] = i, offs[i] = FOFAL_OFFSET_BEGINNING;
  if (fofal_kafka_assign(consumer, topic, parts, offs, nparts, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  eof = fofal_calloc((size_t)nparts, 1);
  LOG_INFO("gateways from %s into %s/passwd and %s/acl", topic, dir, dir);
  int dirty = 1, changed = 0;
  int64_t retry_at = 0;
  rc = 0;
  while (!fofal_stopped(&fofal_stop)) {
    fofal_kmsg_t m;
    int got = fofal_kafka_consume(consumer, 200, &m);
    if (got < 0) {
      LOG_ERROR("fatal Kafka consumer error; exiting");
      rc = 1;
      break;
    }
    if (got == 1) {
      int was_eof = m.eof;
      if (was_eof) {
        if (m.partition >= 0 && m.partition < nparts && !eof[m.partition]) eof[m.partition] = 1, at_end++;
      } else if (fofal_broker_auth_record(a, m.value, m.len)) {
        dirty = 1;
        changed++;
      }
      fofal_kafka_msg_release(&m);
      /* Within a burst, one write at its end (the next idle poll or end of partition). */
      if (!was_eof) continue;
    }
    if (!dirty || at_end < nparts || fofal_mono_us() < retry_at) continue;
    if (publish(a)) {
      retry_at = fofal_mono_us() + 1000000;
      continue;
    }
    dirty = 0;
  }
  LOG_INFO("stopped: %d gateway changes read, %zu gateways enrolled", changed, fofal_broker_auth_count(a));
out:
  free(eof);
  fofal_kafka_free(consumer);
  fofal_broker_auth_free(a);
  fofal_settings_free(settings, NSET);
  return rc;
}
