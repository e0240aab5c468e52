/*
 * test_security_logs.c — runs after test_security (ctest DEPENDS): greps every file the
 * test run wrote under <stack>/logs of every test stack of the run (the services' logs and
 * those of every fofal process the tests started; the stacks are $FOFAL_TEST_STACK_DIRS,
 * colon-separated, which ops/test exports, else $FOFAL_STACK_DIR) for each secret the
 * security tests used — passwords, PINs, refresh and access tokens, MFA step tokens, TOTP
 * secrets (hex and base32), recovery codes, device secrets — listed in
 * <stack>/security-secrets.txt of the stack test_security ran on. Any hit fails. It also
 * checks that authenticated requests left their structured access-log lines.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = fofal_malloc((size_t)(n > 0 ? n : 0) + 1);
  size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
  buf[got] = '\0';
  fclose(f);
  *len = got;
  return buf;
}

/* Greps every regular file of `path` for the secrets; counts files, bytes, access lines. */
static void grep_logs(const char *path, const char *secrets, int *files, size_t *bytes, int *access_lines) {
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    char file[2048];
    struct stat st;
    snprintf(file, sizeof file, "%s/%s", path, e->d_name);
    if (stat(file, &st) || !S_ISREG(st.st_mode)) continue;
    size_t n;
    char *log = slurp(file, &n);
    if (!log) continue;
    (*files)++;
    *bytes += n;
    /* Reads are audited in the structured access log, with the caller. */
    for (char *p = log; (p = strstr(p, "\"msg\":\"access {")); p++) {
      char *eol = strchr(p, '\n');
      if (eol) *eol = '\0';
      if (strstr(p, "\\\"path\\\":\\\"/api/v1/") && strstr(p, "\\\"role\\\":")) (*access_lines)++;
      if (eol) *eol = '\n';
    }
    char *save = NULL, *copy = fofal_strdup(secrets);
    for (char *s = strtok_r(copy, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
      if (strlen(s) < 4) continue;
      /* A 4-digit PIN would match timestamps by chance: check it only as a JSON value. */
      if (strlen(s) < 9) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "\"%s\"", s);
        cr_expect(!memmem(log, n, quoted, strlen(quoted)), "%s/%s contains a secret (%s…)", path, e->d_name, "PIN");
      } else {
        cr_expect(!memmem(log, n, s, strlen(s)), "%s/%s contains a secret (%.6s…)", path, e->d_name, s);
      }
    }
    free(copy);
    free(log);
  }
  closedir(d);
}

Test(security_logs, no_secret_reaches_any_log) {
  char path[1024];
  const char *list = getenv("FOFAL_TEST_STACK_DIRS");
  char *dirs = fofal_strdup(list && *list ? list : h_env("FOFAL_STACK_DIR"));
  char *secrets = NULL, *save = NULL;
  for (char *dir = strtok_r(dirs, ":", &save); dir && !secrets; dir = strtok_r(NULL, ":", &save)) {
    snprintf(path, sizeof path, "%s/security-secrets.txt", dir);
    size_t slen;
    secrets = slurp(path, &slen);
  }
  cr_assert_not_null(secrets, "no security-secrets.txt in any stack of %s: did test_security run first?",
                     list && *list ? list : h_env("FOFAL_STACK_DIR"));
  free(dirs);
  int nsecrets = 0;
  for (char *p = secrets; *p; p++)
    if (*p == '\n') nsecrets++;
  cr_assert_geq(nsecrets, 50, "the security tests recorded the secrets they used (%d)", nsecrets);
  int files = 0, access_lines = 0;
  size_t bytes = 0;
  dirs = fofal_strdup(list && *list ? list : h_env("FOFAL_STACK_DIR"));
  save = NULL;
  for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    snprintf(path, sizeof path, "%s/logs", dir);
    grep_logs(path, secrets, &files, &bytes, &access_lines);
  }
  free(dirs);
  fprintf(stderr, "security_logs: %d secrets checked in %d files (%zu bytes)\n", nsecrets, files, bytes);
  cr_expect_geq(files, 5);
  cr_expect_geq(access_lines, 100, "authenticated requests are in the access log (%d lines)", access_lines);
  free(secrets);
}
