/*
 * core.c — the error list, the allocation wrapper and the structured log.
 *
 * Allocation aborts on out-of-memory: a process that cannot allocate cannot keep its
 * guarantees, and a crash restarts it from the log. The log writes one JSON line per
 * call with a single write(2), so lines from several threads never interleave.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
  const char *name, *msg;
} errtab[] = {
    {"OK", "success"},
#define X(name, msg) {#name, msg},
    FOFAL_ERRNO_MAP(X)
#undef X
};

const char *fofal_strerror(int err) {
  int i = -err;
  if (i < 0 || (size_t)i >= sizeof errtab / sizeof errtab[0]) return "unknown error";
  return errtab[i].msg;
}

const char *fofal_err_name(int err) {
  int i = -err;
  if (i < 0 || (size_t)i >= sizeof errtab / sizeof errtab[0]) return "EUNKNOWN";
  return errtab[i].name;
}

static void oom(size_t n) {
  static const char msg[] = "{\"level\":\"fatal\",\"msg\":\"out of memory\"}\n";
  (void)n;
  if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
  abort();
}

void *fofal_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *fofal_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *fofal_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *fofal_strdup(const char *s) {
  if (!s) return NULL;
  return fofal_strndup(s, strlen(s));
}

char *fofal_strndup(const char *s, size_t n) {
  char *p = fofal_malloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *fofal_asprintf(const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *p = fofal_malloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

int fofal_err(char *errbuf, size_t errlen, int err, const char *fmt, ...) {
  if (errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return err;
}

/* ---------------------------------------------------------------- log */

fofal_log_level_t fofal_log_min = FOFAL_LOG_INFO;
static char log_proc[32] = "fofal";

void fofal_log_init(const char *proc, const char *level) {
  if (proc) snprintf(log_proc, sizeof log_proc, "%s", proc);
  if (!level) return;
  if (!strcmp(level, "debug")) fofal_log_min = FOFAL_LOG_DEBUG;
  else if (!strcmp(level, "warn")) fofal_log_min = FOFAL_LOG_WARN;
  else if (!strcmp(level, "error")) fofal_log_min = FOFAL_LOG_ERROR;
  else fofal_log_min = FOFAL_LOG_INFO;
}

void fofal_log_write(fofal_log_level_t lvl, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  char msg[2048], ts[32];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fofal_time_format(fofal_now_us(), ts);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", names[lvl], "proc", log_proc,
                        "msg", msg);
  char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (line) {
    size_t n = strlen(line);
    char *buf = fofal_malloc(n + 2);
    memcpy(buf, line, n);
    buf[n] = '\n';
    if (write(2, buf, n + 1) < 0) { /* stderr gone: nothing to do */ }
    free(buf);
    free(line);
  }
  json_decref(o);
}
