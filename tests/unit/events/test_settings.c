/*
 * test_settings.c — events/settings.c: the settings table.
 *
 * Defaults, a KEY=VALUE file, the environment and --flags, their priority, type and
 * bounds checks, unknown options, required settings and --help. Keys are FOFAL_TEST_*
 * so that nothing in the caller's environment interferes; each test starts with them
 * (and FOFAL_CONFIG) unset. Criterion runs every test in its own process, so setenv()
 * does not leak from one test into another.
 *
 * Also the stop flags (fofal_stopped, fofal_stop_set, fofal_stop set by SIGTERM).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"

static char *brokers, *name;
static long long port;
static int verbose;

static fofal_setting_t tab[] = {
    {"FOFAL_TEST_BROKERS", FOFAL_SET_STR, "localhost:9092", 0, 0, "Kafka brokers.", &brokers},
    {"FOFAL_TEST_PORT", FOFAL_SET_INT, "8080", 1, 65535, "HTTP port.", &port},
    {"FOFAL_TEST_VERBOSE", FOFAL_SET_BOOL, "false", 0, 0, "Say more.", &verbose},
    {"FOFAL_TEST_NAME", FOFAL_SET_STR, "", 0, 0, "A name.", &name},
};
#define NTAB (sizeof tab / sizeof tab[0])

static void clean_env(void) {
  unsetenv("FOFAL_CONFIG");
  for (size_t i = 0; i < NTAB; i++) unsetenv(tab[i].key);
  unsetenv("FOFAL_TEST_SECRET");
  unsetenv("FOFAL_CONFIG_DIR");
  brokers = name = NULL;
  port = -1;
  verbose = -1;
}

TestSuite(settings, .init = clean_env);

static int load(int argc, char **argv, char *err, size_t errlen) {
  err[0] = '\0';
  return fofal_settings_load(tab, NTAB, argc, argv, "usage: test [options]", err, errlen);
}

#define ARGC(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* A new temporary file holding `text`; its path in path[64]. */
static void write_file(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/fofal-test-settings-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  size_t n = strlen(text);
  cr_assert_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
}

Test(settings, defaults) {
  char *argv[] = {"prog"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(brokers, "localhost:9092");
  cr_assert_eq(port, 8080);
  cr_assert_eq(verbose, 0);
  cr_assert_str_eq(name, "");
  fofal_settings_free(tab, NTAB);
  cr_assert_null(brokers, "free must reset the pointers");
  cr_assert_null(name);
}

Test(settings, environment_overrides_defaults) {
  char *argv[] = {"prog"};
  char err[256];
  setenv("FOFAL_TEST_PORT", "9100", 1);
  setenv("FOFAL_TEST_BROKERS", "kafka-1:9092,kafka-2:9092", 1);
  setenv("FOFAL_TEST_VERBOSE", "yes", 1);
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 9100);
  cr_assert_str_eq(brokers, "kafka-1:9092,kafka-2:9092");
  cr_assert_eq(verbose, 1);
  cr_assert_str_eq(name, "", "an unset variable keeps its default");
  fofal_settings_free(tab, NTAB);

  setenv("FOFAL_TEST_VERBOSE", "OFF", 1);
  setenv("FOFAL_TEST_NAME", "", 1);
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_eq(verbose, 0);
  cr_assert_str_eq(name, "");
  fofal_settings_free(tab, NTAB);

  unsetenv("FOFAL_TEST_PORT");
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 8080, "after unsetenv the default is back");
  fofal_settings_free(tab, NTAB);
}

Test(settings, flags_with_equals_and_separate_value) {
  char *argv[] = {"prog", "--test-port=9200", "--test-brokers", "kafka:29092", "--test-verbose", "--test-name=a=b"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 9200);
  cr_assert_str_eq(brokers, "kafka:29092");
  cr_assert_eq(verbose, 1, "a bare boolean flag means true");
  cr_assert_str_eq(name, "a=b", "only the first '=' separates the value");
  fofal_settings_free(tab, NTAB);

  char *argv2[] = {"prog", "--test-verbose=false", "--test-port", "1", "--test-name="};
  cr_assert_eq(load(ARGC(argv2), argv2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(verbose, 0);
  cr_assert_eq(port, 1);
  cr_assert_str_eq(name, "");
  fofal_settings_free(tab, NTAB);
}

Test(settings, later_flag_wins) {
  char *argv[] = {"prog", "--test-port=1000", "--test-port", "2000"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 2000);
  fofal_settings_free(tab, NTAB);
}

static const char config_text[] =
    "# FOFAL test settings\n"
    "\n"
    "export FOFAL_TEST_BROKERS=\"file-kafka:9092\"\n"
    "   # an indented comment\n"
    "FOFAL_TEST_PORT='7000'\n"
    "OTHER_PROCESS_KEY=ignored\n"
    "a line without an equals sign\n"
    "export FOFAL_TEST_NAME=plain value   \n"
    "FOFAL_TEST_VERBOSE=on";  /* no final newline */

Test(settings, config_file_flag) {
  char path[64], err[256];
  write_file(path, config_text);
  char *argv[] = {"prog", "--config", path};
  int rc = load(ARGC(argv), argv, err, sizeof err);
  unlink(path);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(brokers, "file-kafka:9092", "export prefix and double quotes are stripped");
  cr_assert_eq(port, 7000, "single quotes are stripped");
  cr_assert_str_eq(name, "plain value", "trailing blanks are trimmed, inner ones kept");
  cr_assert_eq(verbose, 1);
  fofal_settings_free(tab, NTAB);
}

Test(settings, config_file_equals_form_and_environment_variable) {
  char path[64], err[256];
  write_file(path, "FOFAL_TEST_PORT=7001\n");
  char *opt = fofal_asprintf("--config=%s", path);
  char *argv[] = {"prog", opt};
  int rc = load(ARGC(argv), argv, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(port, 7001);
  fofal_settings_free(tab, NTAB);

  setenv("FOFAL_CONFIG", path, 1);
  char *argv2[] = {"prog"};
  rc = load(ARGC(argv2), argv2, err, sizeof err);
  unlink(path);
  free(opt);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(port, 7001, "$FOFAL_CONFIG names the file too");
  fofal_settings_free(tab, NTAB);
}

Test(settings, config_flag_beats_config_environment_variable) {
  char p1[64], p2[64], err[256];
  write_file(p1, "FOFAL_TEST_PORT=7001\n");
  write_file(p2, "FOFAL_TEST_PORT=7002\n");
  setenv("FOFAL_CONFIG", p1, 1);
  char *argv[] = {"prog", "--config", p2};
  int rc = load(ARGC(argv), argv, err, sizeof err);
  unlink(p1);
  unlink(p2);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(port, 7002);
  fofal_settings_free(tab, NTAB);
}

Test(settings, priority_flag_env_file_default) {
  char path[64], err[256];
  write_file(path,
             "FOFAL_TEST_PORT=7000\n"
             "FOFAL_TEST_BROKERS=from-file\n"
             "FOFAL_TEST_NAME=from-file\n");
  setenv("FOFAL_TEST_PORT", "7100", 1);
  setenv("FOFAL_TEST_BROKERS", "from-env", 1);
  char *argv[] = {"prog", "--config", path, "--test-port=7200"};
  int rc = load(ARGC(argv), argv, err, sizeof err);
  unlink(path);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(port, 7200, "flag > env > file");
  cr_assert_str_eq(brokers, "from-env", "env > file");
  cr_assert_str_eq(name, "from-file", "file > default");
  cr_assert_eq(verbose, 0, "default when nothing else says");
  fofal_settings_free(tab, NTAB);
}

Test(settings, int_bounds) {
  char err[256];
  char *ok_lo[] = {"prog", "--test-port=1"}, *ok_hi[] = {"prog", "--test-port=65535"};
  cr_assert_eq(load(ARGC(ok_lo), ok_lo, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 1);
  fofal_settings_free(tab, NTAB);
  cr_assert_eq(load(ARGC(ok_hi), ok_hi, err, sizeof err), 0, "%s", err);
  cr_assert_eq(port, 65535);
  fofal_settings_free(tab, NTAB);

  static const char *bad[] = {"--test-port=0", "--test-port=65536", "--test-port=-1", "--test-port=99999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *argv[] = {"prog", (char *)bad[i]};
    int rc = load(ARGC(argv), argv, err, sizeof err);
    cr_assert_eq(rc, FOFAL_ECONFIG, "%s accepted", bad[i]);
    cr_assert(strstr(err, "FOFAL_TEST_PORT") != NULL, "%s: errbuf \"%s\" does not name the key", bad[i], err);
    cr_assert(strstr(err, "command line") != NULL, "%s: errbuf \"%s\" does not name the source", bad[i], err);
    fofal_settings_free(tab, NTAB);
  }
}

Test(settings, int_out_of_bounds_in_environment_and_file) {
  char err[256], path[64];
  char *argv[] = {"prog"};
  setenv("FOFAL_TEST_PORT", "70000", 1);
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "FOFAL_TEST_PORT") && strstr(err, "environment"), "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);
  unsetenv("FOFAL_TEST_PORT");

  write_file(path, "# line 1\nFOFAL_TEST_PORT=0\n");
  char *argv2[] = {"prog", "--config", path};
  int rc = load(ARGC(argv2), argv2, err, sizeof err);
  unlink(path);
  cr_assert_eq(rc, FOFAL_ECONFIG);
  char *where = fofal_asprintf("%s:2", path);
  cr_assert(strstr(err, "FOFAL_TEST_PORT") && strstr(err, where), "errbuf \"%s\" should name the key and %s", err,
            where);
  free(where);
  fofal_settings_free(tab, NTAB);
}

Test(settings, int_not_an_integer) {
  static const char *bad[] = {"--test-port=12abc", "--test-port=", "--test-port=abc", "--test-port=8080 ",
                              "--test-port=1.5", "--test-port=0x50"};
  char err[256];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *argv[] = {"prog", (char *)bad[i]};
    int rc = load(ARGC(argv), argv, err, sizeof err);
    cr_assert_eq(rc, FOFAL_ECONFIG, "%s accepted", bad[i]);
    cr_assert(strstr(err, "FOFAL_TEST_PORT") != NULL, "errbuf: %s", err);
    fofal_settings_free(tab, NTAB);
  }
}

Test(settings, bool_not_a_boolean) {
  char *argv[] = {"prog", "--test-verbose=maybe"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "FOFAL_TEST_VERBOSE") != NULL, "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);
}

Test(settings, unknown_option_and_stray_argument) {
  char err[256];
  char *argv[] = {"prog", "--no-such-thing=1"};
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "--no-such-thing") != NULL, "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);

  /* The flag name is the whole key: a prefix of it is not enough. */
  char *argv2[] = {"prog", "--test-por=1"};
  cr_assert_eq(load(ARGC(argv2), argv2, err, sizeof err), FOFAL_ECONFIG);
  fofal_settings_free(tab, NTAB);

  /* Flags use dashes and lower case, not the key itself. */
  char *argv3[] = {"prog", "--FOFAL_TEST_PORT=1"};
  cr_assert_eq(load(ARGC(argv3), argv3, err, sizeof err), FOFAL_ECONFIG);
  fofal_settings_free(tab, NTAB);

  char *argv4[] = {"prog", "stray"};
  cr_assert_eq(load(ARGC(argv4), argv4, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "stray") != NULL, "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);
}

Test(settings, option_without_its_value) {
  char *argv[] = {"prog", "--test-port"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "--test-port") != NULL, "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);
}

Test(settings, missing_config_file) {
  char *argv[] = {"prog", "--config", "/nonexistent/fofal-test.env"};
  char err[256];
  cr_assert_eq(load(ARGC(argv), argv, err, sizeof err), FOFAL_ECONFIG);
  cr_assert(strstr(err, "/nonexistent/fofal-test.env") != NULL, "errbuf: %s", err);
  fofal_settings_free(tab, NTAB);
}

Test(settings, required_string) {
  static char *secret;
  static long long n;
  fofal_setting_t req[] = {
      {"FOFAL_TEST_SECRET", FOFAL_SET_STR, NULL, 0, 0, "Must be given.", &secret},
      {"FOFAL_TEST_N", FOFAL_SET_INT, "3", 0, 10, "A number.", &n},
  };
  char *argv[] = {"prog"};
  char err[256] = "";
  secret = NULL;
  int rc = fofal_settings_load(req, 2, ARGC(argv), argv, "usage", err, sizeof err);
  cr_assert_eq(rc, FOFAL_ECONFIG);
  cr_assert(strstr(err, "FOFAL_TEST_SECRET") != NULL, "errbuf: %s", err);
  fofal_settings_free(req, 2);

  setenv("FOFAL_TEST_SECRET", "s3cret", 1);
  rc = fofal_settings_load(req, 2, ARGC(argv), argv, "usage", err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(secret, "s3cret");
  cr_assert_eq(n, 3);
  fofal_settings_free(req, 2);

  /* An empty value is a value: required means "given", not "non-empty". */
  unsetenv("FOFAL_TEST_SECRET");
  char *argv2[] = {"prog", "--test-secret="};
  rc = fofal_settings_load(req, 2, ARGC(argv2), argv2, "usage", err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(secret, "");
  fofal_settings_free(req, 2);
}

/* Runs load with stdout sent to a temporary file; the output (new string) in *printed. */
static int load_capturing(int argc, char **argv, char **printed) {
  char path[64], err[256];
  write_file(path, "");
  fflush(stdout);
  int saved = dup(1), fd = open(path, O_WRONLY);
  cr_assert(saved >= 0 && fd >= 0);
  dup2(fd, 1);
  close(fd);
  int rc = load(argc, argv, err, sizeof err);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char *buf = fofal_calloc(1, 65536);
  size_t n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  unlink(path);
  *printed = buf;
  return rc;
}

Test(settings, help_returns_1_and_prints_the_table) {
  char *argv[] = {"prog", "--test-port=1", "--help"};
  char *out = NULL;
  int rc = load_capturing(ARGC(argv), argv, &out);
  cr_assert_eq(rc, 1);
  cr_assert(strstr(out, "usage: test [options]") != NULL, "help output:\n%s", out);
  cr_assert(strstr(out, "--test-port=VALUE") != NULL, "help output:\n%s", out);
  cr_assert(strstr(out, "FOFAL_TEST_PORT") != NULL, "help output:\n%s", out);
  cr_assert(strstr(out, "[1..65535]") != NULL, "help output:\n%s", out);
  cr_assert(strstr(out, "Default: localhost:9092") != NULL, "help output:\n%s", out);
  cr_assert(strstr(out, "Default: (empty)") != NULL, "help output:\n%s", out);
  free(out);
  fofal_settings_free(tab, NTAB); /* nothing was loaded: the pointers are still NULL */

  char *argv2[] = {"prog", "-h"};
  rc = load_capturing(ARGC(argv2), argv2, &out);
  cr_assert_eq(rc, 1);
  cr_assert_neq(out[0], '\0');
  free(out);
  fofal_settings_free(tab, NTAB);
}

Test(settings, help_wins_over_a_bad_value) {
  char *argv[] = {"prog", "--test-port=notanumber", "--help"};
  char *out = NULL;
  cr_assert_eq(load_capturing(ARGC(argv), argv, &out), 1);
  free(out);
  fofal_settings_free(tab, NTAB);
}

/* --- --config is a prefix of other flags ----------------------------------------- */

Test(settings, option_that_starts_with_config_is_not_swallowed) {
  /* A setting whose flag starts with "--config" (FOFAL_CONFIG_DIR ↔ --config-dir) must be
   * set from the command line, and an unknown "--configure" must be reported, not
   * silently ignored. */
  static char *dir;
  fofal_setting_t t2[] = {
      {"FOFAL_CONFIG_DIR", FOFAL_SET_STR, "/etc/fofal", 0, 0, "Folder.", &dir},
  };
  char err[256] = "";
  char *argv[] = {"prog", "--config-dir=/srv/fofal"};
  dir = NULL;
  int rc = fofal_settings_load(t2, 1, ARGC(argv), argv, "usage", err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_expect_str_eq(dir, "/srv/fofal", "--config-dir=/srv/fofal was ignored");
  fofal_settings_free(t2, 1);

  char *argv2[] = {"prog", "--configure=yes"};
  rc = fofal_settings_load(t2, 1, ARGC(argv2), argv2, "usage", err, sizeof err);
  cr_expect_eq(rc, FOFAL_ECONFIG, "unknown option --configure=yes was silently accepted");
  fofal_settings_free(t2, 1);
}

Test(settings, config_without_a_file_is_an_error) {
  char *argv[] = {"prog", "--config"};
  char err[256];
  int rc = load(ARGC(argv), argv, err, sizeof err);
  cr_expect_eq(rc, FOFAL_ECONFIG, "\"--config\" with no FILE was silently ignored");
  fofal_settings_free(tab, NTAB);
}

/* ------------------------------------------------------------ stop flags */

Test(stop_flags, stopped_reads_the_flag_and_null_never_stops) {
  atomic_int flag = 0;
  cr_assert_eq(fofal_stopped(NULL), 0, "no flag: never stopped");
  cr_assert_eq(fofal_stopped(&flag), 0);
  fofal_stop_set(&flag);
  cr_assert_eq(fofal_stopped(&flag), 1);
  cr_assert_eq(atomic_load(&flag), 1);
}

static atomic_int seen_by_thread;
static void *watch(void *arg) {
  while (!fofal_stopped(arg)) sched_yield();
  atomic_store(&seen_by_thread, 1);
  return NULL;
}

Test(stop_flags, another_thread_sees_the_stop) {
  atomic_int flag = 0;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, watch, &flag), 0);
  fofal_stop_set(&flag);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(atomic_load(&seen_by_thread), 1);
}

Test(stop_flags, sigterm_sets_fofal_stop_after_process_start) {
  char *level = NULL;
  char *argv[] = {"test"};
  cr_assert_eq(fofal_process_start("test", tab, NTAB, 1, argv, "usage: test", &level), -1);
  cr_assert_eq(fofal_stopped(&fofal_stop), 0);
  cr_assert_eq(raise(SIGTERM), 0, "the handler catches it: the test process lives on");
  cr_assert_eq(fofal_stopped(&fofal_stop), 1);
  fofal_settings_free(tab, NTAB);
}
