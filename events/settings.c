/*
 * settings.c — one settings table per process, read in one place.
 *
 * Priority, lowest first: the table's defaults, a KEY=VALUE file (--config FILE or
 * $FOFAL_CONFIG; '#' starts a comment; optional `export ` prefix and quotes, so the
 * stack's stack.env works as is), the environment, then --key=value flags. Every value
 * is checked against its type and bounds before the process starts work; the first bad
 * one is reported with its source.
 */
#include "events.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fofal_setting_t *find(fofal_setting_t *tab, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(tab[i].key, key)) return &tab[i];
  return NULL;
}

static int set_value(fofal_setting_t *s, const char *val, const char *src, char *errbuf,
                     size_t errlen) {
  switch (s->type) {
  case FOFAL_SET_STR: {
    char **p = s->value;
    free(*p);
    *p = fofal_strdup(val);
    return 0;
  }
  case FOFAL_SET_INT: {
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end)
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s=\"%s\" (%s): not an integer", s->key,
                       val, src);
    if (v < s->min || v > s->max)
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s=%lld (%s): must be between %lld and %lld",
                       s->key, v, src, s->min, s->max);
    *(long long *)s->value = v;
    return 0;
  }
  case FOFAL_SET_BOOL: {
    int v;
    if (!strcmp(val, "1") || !strcasecmp(val, "true") || !strcasecmp(val, "yes") || !strcasecmp(val, "on")) v = 1;
    else if (!strcmp(val, "0") || !strcasecmp(val, "false") || !strcasecmp(val, "no") || !strcasecmp(val, "off")) v = 0;
    else
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s=\"%s\" (%s): not a boolean", s->key, val, src);
    *(int *)s->value = v;
    return 0;
  }
  }
  return FOFAL_EINVAL;
}

static int load_file(fofal_setting_t *tab, size_t n, const char *path, char *errbuf, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "cannot open config file %s: %s", path, strerror(errno));
  char line[4096];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') continue;
    if (!strncmp(p, "export ", 7)) p += 7;
    char *eq = strchr(p, '=');
    if (!eq) continue;
    *eq = '\0';
    char *val = eq + 1;
    size_t len = strlen(val);
    while (len && isspace((unsigned char)val[len - 1])) val[--len] = '\0';
    if (len >= 2 && (val[0] == '"' || val[0] == '\'') && val[len - 1] == val[0]) {
      val[len - 1] = '\0';
      val++;
    }
    fofal_setting_t *s = find(tab, n, p);
    if (!s) continue; /* a shared file holds other processes' keys too */
    char src[512];
    snprintf(src, sizeof src, "%s:%d", path, lineno);
    if ((rc = set_value(s, val, src, errbuf, errlen))) break;
  }
  fclose(f);
  return rc;
}

static void flag_name(const char *key, char *out, size_t outlen) {
  const char *k = strncmp(key, "FOFAL_", 6) ? key : key + 6;
  size_t i = 0;
  for (; k[i] && i + 1 < outlen; i++) out[i] = k[i] == '_' ? '-' : (char)tolower((unsigned char)k[i]);
  out[i] = '\0';
}

static void print_help(const fofal_setting_t *tab, size_t n, const char *usage) {
  printf("%s\n\nOptions (each also read from the environment variable of the same name,\n"
         "or from a KEY=VALUE file given with --config FILE or $FOFAL_CONFIG):\n",
         usage);
  for (size_t i = 0; i < n; i++) {
    char flag[64];
    flag_name(tab[i].key, flag, sizeof flag);
    printf("  --%s=VALUE  (%s)\n      %s", flag, tab[i].key, tab[i].doc);
    if (tab[i].type == FOFAL_SET_INT) printf(" [%lld..%lld]", tab[i].min, tab[i].max);
    printf(" Default: %s\n", tab[i].dflt ? (*tab[i].dflt ? tab[i].dflt : "(empty)") : "(required)");
  }
  printf("  --config=FILE\n      Read settings from FILE.\n  --help\n      Print this help.\n");
}

int fofal_settings_load(fofal_setting_t *tab, size_t n, int argc, char **argv, const char *usage,
                        char *errbuf, size_t errlen) {
  int rc;
  const char *cfg = getenv("FOFAL_CONFIG");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      print_help(tab, n, usage);
      return 1;
    }
    if (!strncmp(argv[i], "--config=", 9)) {
      cfg = argv[i] + 9;
    } else if (!strcmp(argv[i], "--config")) {
      if (i + 1 >= argc) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "option --config needs a value");
      cfg = argv[++i];
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (tab[i].type == FOFAL_SET_STR) *(char **)tab[i].value = NULL;
    if (tab[i].dflt && (rc = set_value(&tab[i], tab[i].dflt, "default", errbuf, errlen))) return rc;
  }
  if (cfg && *cfg && (rc = load_file(tab, n, cfg, errbuf, errlen))) return rc;
  for (size_t i = 0; i < n; i++) {
    const char *v = getenv(tab[i].key);
    if (v && (rc = set_value(&tab[i], v, "environment", errbuf, errlen))) return rc;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--config")) {
      i++;
      continue;
    }
    if (!strncmp(argv[i], "--config=", 9)) continue;
    if (strncmp(argv[i], "--", 2))
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "unexpected argument \"%s\" (see --help)", argv[i]);
    const char *eq = strchr(argv[i], '=');
    size_t nlen = eq ? (size_t)(eq - argv[i] - 2) : strlen(argv[i] + 2);
    fofal_setting_t *s = NULL;
    for (size_t j = 0; j < n && !s; j++) {
      char flag[64];
      flag_name(tab[j].key, flag, sizeof flag);
      if (strlen(flag) == nlen && !strncmp(flag, argv[i] + 2, nlen)) s = &tab[j];
    }
    if (!s) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "unknown option \"%s\" (see --help)", argv[i]);
    const char *val = eq ? eq + 1 : (s->type == FOFAL_SET_BOOL ? "1" : NULL);
    if (!val) {
      if (i + 1 >= argc) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "option %s needs a value", argv[i]);
      val = argv[++i];
    }
    if ((rc = set_value(s, val, "command line", errbuf, errlen))) return rc;
  }
  for (size_t i = 0; i < n; i++)
    if (tab[i].type == FOFAL_SET_STR && !*(char **)tab[i].value)
      return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s is required (see --help)", tab[i].key);
  return 0;
}

void fofal_settings_free(fofal_setting_t *tab, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tab[i].type == FOFAL_SET_STR) {
      free(*(char **)tab[i].value);
      *(char **)tab[i].value = NULL;
    }
}

atomic_int fofal_stop;

/* Async-signal-safe: a store to a lock-free atomic (events.h asserts it is lock-free). */
static void on_stop_signal(int sig) {
  (void)sig;
  fofal_stop_set(&fofal_stop);
}

/* The table's FOFAL_KAFKA_SECURITY_SETTINGS rows, if it has them, to the Kafka adapter. */
static int kafka_security(fofal_setting_t *tab, size_t n, char *errbuf, size_t errlen) {
  fofal_setting_t *p = find(tab, n, "FOFAL_KAFKA_SECURITY_PROTOCOL"), *u = find(tab, n, "FOFAL_KAFKA_USER"),
                  *w = find(tab, n, "FOFAL_KAFKA_PASSWORD"), *ca = find(tab, n, "FOFAL_KAFKA_SSL_CA"),
                  *fw = find(tab, n, "FOFAL_KAFKA_FETCH_WAIT_MS");
  if (!p || !u || !w || !ca) return 0;
  fofal_kafka_security_t ks = {*(char **)p->value, *(char **)u->value, *(char **)w->value, *(char **)ca->value,
                               fw ? *(long long *)fw->value : 0};
  return fofal_kafka_security_set(&ks, errbuf, errlen);
}

int fofal_process_start(const char *proc, fofal_setting_t *tab, size_t n, int argc, char **argv, const char *usage,
                        char *const *log_level) {
  char err[512];
  int rc = fofal_settings_load(tab, n, argc, argv, usage, err, sizeof err);
  if (rc == 1) {
    fofal_settings_free(tab, n);
    return 0;
  }
  if (rc) {
    fprintf(stderr, "%s: %s\n", proc, err);
    fofal_settings_free(tab, n);
    return 2;
  }
  if ((rc = kafka_security(tab, n, err, sizeof err))) {
    fprintf(stderr, "%s: %s\n", proc, err);
    fofal_settings_free(tab, n);
    return 2;
  }
  fofal_log_init(proc, *log_level);
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  return -1;
}
