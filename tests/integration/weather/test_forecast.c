/*
 * test_forecast.c — the weather feed against the real stack (decider, projector, API;
 * Kafka, PostgreSQL) and the local fake of Open-Meteo (ops/weather/fake_open_meteo.py): a
 * manager sets the mill's coordinates, fofal-weather fetches the fake's recorded response,
 * which becomes one weather.forecast_received and shows in GET /api/v1/weather/forecast
 * beside the halls' climate; a restart of fofal-weather (kill -9) does not fetch again
 * within the interval; a truncated response is counted and logged, retried, and changes
 * nothing; an 8 MiB one is cut at the size cap. Roles: a planner may not set a site, nobody may send a forecast through the API.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int port, fake_port;
static pid_t dec, proj, api, fake;
static char tenant[32];

static pid_t start_fake(void) {
  char log[1024], portarg[16];
  snprintf(log, sizeof log, "%s/logs/test-weather-fake.log", h_env("FOFAL_STACK_DIR"));
  snprintf(portarg, sizeof portarg, "%d", fake_port);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    execlp("python3", "python3", FOFAL_SOURCE_DIR "/ops/weather/fake_open_meteo.py", "--port", portarg, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++) {
    h_resp_t r;
    if (h_http(fake_port, "GET", "/_requests", NULL, NULL, &r, 1000) == 0 && r.status == 200) {
      h_resp_free(&r);
      return pid;
    }
    usleep(100 * 1000);
  }
  cr_assert_fail("the fake Open-Meteo did not start (see test-weather-fake.log)");
  return pid;
}

/* Requests the fake has served. */
static int fake_requests(void) {
  h_resp_t r;
  cr_assert_eq(h_http(fake_port, "GET", "/_requests", NULL, NULL, &r, 5000), 0);
  json_t *j = json_loads(r.body, 0, NULL);
  int n = (int)json_integer_value(json_object_get(j, "forecast"));
  json_decref(j);
  h_resp_free(&r);
  return n;
}

static pid_t start_weather(const char *mode, const char *log) {
  char url[128];
  snprintf(url, sizeof url, "FOFAL_WEATHER_URL=http://127.0.0.1:%d%s", fake_port, mode);
  const char *env[] = {url, "FOFAL_WEATHER_INTERVAL_S=3600", "FOFAL_WEATHER_RETRY_S=1", "FOFAL_WEATHER_TIMEOUT_S=5",
                       "FOFAL_LOG_LEVEL=info", NULL};
  int before = h_log_count(log, "sites from");
  pid_t pid = h_spawn("ingest/fofal-weather", log, NULL, env);
  for (int i = 0; i < 600 && h_log_count(log, "sites from") == before; i++) usleep(100 * 1000);
  cr_assert_gt(h_log_count(log, "sites from"), before, "fofal-weather did not start (see %s.log)", log);
  return pid;
}

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  fake_port = h_free_port();
  api = h_start_api(port);
  fake = start_fake();
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
}

static void teardown(void) {
  h_stop(fake, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(weather, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* GET the forecast until its fetched_at differs from `not` ("" : until there is one). */
static json_t *wait_forecast(const char *tok, const char *not) {
  for (int i = 0; i < 300; i++) {
    json_t *b = NULL;
    int st = h_get(port, tok, "/api/v1/weather/forecast?site=KH1", &b, NULL);
    cr_assert_eq(st, 200);
    json_t *f = json_object_get(b, "forecast");
    if (json_is_object(f) && strcmp(s_of(f, "fetched_at"), not)) return b;
    json_decref(b);
    usleep(100 * 1000);
  }
  cr_assert_fail("no forecast in the read within 30 s");
  return NULL;
}

Test(weather, the_fakes_forecast_becomes_an_event_and_shows_beside_the_halls) {
  char *boss = h_token(tenant, "manager"), *pia = h_token(tenant, "planner"), *root = h_token(tenant, "admin");
  char *mech = h_token(tenant, "mechanic"), log[96], path[256];
  json_t *j = NULL;
  snprintf(log, sizeof log, "test-weather-%s", tenant);

  /* Roles and the route: a planner may not set a site; a forecast comes from fofal-weather only. */
  static const char site[] = "{\"site\":\"KH1\",\"name\":\"Ksar Hellal\",\"latitude\":35.6431,\"longitude\":10.8908,"
                             "\"timezone\":\"Africa/Tunis\"}";
  cr_expect_eq(h_command(port, pia, "weather.site.set", "site-1", NULL, site, NULL), 403);
  cr_expect_eq(h_command(port, root, "weather.forecast.record", "fc-1", NULL,
                         "{\"site\":\"KH1\",\"latitude\":35.6431,\"longitude\":10.8908,\"source\":\"open-meteo\","
                         "\"fetched_at\":\"2026-12-07T10:00:00Z\",\"hours\":[{\"at\":\"2026-12-07T10:00:00Z\","
                         "\"temperature_c\":12,\"humidity_pct\":80}]}",
                         &j),
               422);
  cr_expect_str_eq(s_of(j, "code"), "auth_route_only");
  json_decref(j);
  cr_expect_eq(h_command(port, boss, "weather.site.set", "site-bad", NULL,
                         "{\"site\":\"KH1\",\"latitude\":95,\"longitude\":10.8908}", &j),
               422);
  cr_expect_str_eq(s_of(j, "code"), "invalid_command");
  json_decref(j);
  int st = h_command_ok(port, boss, "weather.site.set", "site-1", NULL, site, &j);
  cr_assert_eq(st, 201, "site.set: %d %s", st, s_of(j, "code"));
  snprintf(path, sizeof path, "/api/v1/weather/forecast?position=%s", s_of(j, "position"));
  json_decref(j);
  /* The read waits (bounded) for the projection; on a busy machine it may answer 503
   * position_not_reached first: asked again, as a client would. */
  for (int i = 0;; i++) {
    st = h_get(port, mech, path, &j, NULL);
    if (st != 503 || i == 10) break;
    json_decref(j);
  }
  cr_assert_eq(st, 200, "%d %s", st, s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "site"), "KH1");
  cr_expect(json_is_null(json_object_get(j, "forecast")), "no forecast before fofal-weather ran");
  cr_expect(json_is_array(json_object_get(j, "halls")));
  json_decref(j);
  cr_expect_eq(h_get(port, mech, "/api/v1/weather/forecast?site=NOPE", NULL, NULL), 404);
  cr_expect_eq(h_get(port, mech, "/api/v1/weather/forecast?site=%25bad", NULL, NULL), 400);
  char *acc = h_token(tenant, "accountant");
  cr_expect_eq(h_get(port, acc, "/api/v1/weather/forecast", NULL, NULL), 403);
  free(acc);

  /* fofal-weather fetches the fake's recorded response: one request, one forecast. */
  int before = fake_requests();
  pid_t w = start_weather("", log);
  json_t *b = wait_forecast(pia, "");
  json_t *f = json_object_get(b, "forecast");
  cr_expect_str_eq(s_of(f, "source"), "open-meteo");
  cr_expect_eq(json_array_size(json_object_get(f, "hours")), 48, "forecast_days=2: 48 hours");
  json_t *h0 = json_array_get(json_object_get(f, "hours"), 0);
  cr_expect(json_is_number(json_object_get(h0, "temperature_c")) && json_is_number(json_object_get(h0, "humidity_pct")));
  json_t *tomorrow = json_object_get(b, "tomorrow");
  cr_expect(json_is_object(tomorrow), "tomorrow's outdoor climate");
  cr_expect_geq(json_integer_value(json_object_get(tomorrow, "hours")), 1);
  double hmin = json_number_value(json_object_get(tomorrow, "humidity_min")),
         hmax = json_number_value(json_object_get(tomorrow, "humidity_max"));
  cr_expect(hmin > 0 && hmin <= hmax && hmax <= 100, "humidity %g..%g", hmin, hmax);
  cr_expect(json_is_array(json_object_get(b, "halls")));
  char fetched[40];
  snprintf(fetched, sizeof fetched, "%s", s_of(f, "fetched_at"));
  json_decref(b);
  cr_expect_eq(fake_requests() - before, 1, "one request for one site");
  cr_assert_eq(h_get(port, boss, "/api/v1/weather/sites", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "last_fetched_at"), fetched);
  json_decref(j);

  /* kill -9 and start again: it reads the last fetch from the log and does not fetch within
   * the interval (it polls every second: three rounds). */
  h_stop(w, SIGKILL);
  w = start_weather("", log);
  usleep(3 * 1000 * 1000);
  cr_expect_eq(fake_requests() - before, 1, "no new request after a restart within the interval");
  h_stop(w, SIGTERM);

  /* New coordinates are fetched at once; a truncated response is counted, logged, retried
   * (FOFAL_WEATHER_RETRY_S=1) and changes nothing; fofal-weather keeps running. */
  cr_assert_eq(h_command_ok(port, boss, "weather.site.set", "site-2", NULL,
                            "{\"site\":\"KH1\",\"latitude\":35.65,\"longitude\":10.9,\"timezone\":\"Africa/Tunis\"}", NULL),
               201);
  int bad_before = h_log_count(log, "bad response");
  w = start_weather("/truncated", log);
  for (int i = 0; i < 300 && h_log_count(log, "bad response") < bad_before + 2; i++) usleep(100 * 1000);
  cr_expect_geq(h_log_count(log, "bad response") - bad_before, 2, "two bad responses counted and logged");
  int status;
  cr_expect_eq(waitpid(w, &status, WNOHANG), 0, "fofal-weather still runs after bad responses");
  cr_assert_eq(h_get(port, pia, "/api/v1/weather/forecast", &j, NULL), 200);
  cr_expect_str_eq(s_of(json_object_get(j, "forecast"), "fetched_at"), fetched, "the forecast is still the good one");
  json_decref(j);
  cr_expect_eq(WEXITSTATUS(h_stop(w, SIGTERM)), 0);
  /* An 8 MiB answer: the transfer stops at the cap (FOFAL_WEATHER_MAX_BYTES), counted. */
  int over_before = h_log_count(log, "bytes (FOFAL_WEATHER_MAX_BYTES)");
  w = start_weather("/huge", log);
  for (int i = 0; i < 300 && h_log_count(log, "bytes (FOFAL_WEATHER_MAX_BYTES)") == over_before; i++) usleep(100 * 1000);
  cr_expect_gt(h_log_count(log, "bytes (FOFAL_WEATHER_MAX_BYTES)"), over_before, "an oversized answer is a bad response");
  cr_expect_eq(waitpid(w, &status, WNOHANG), 0, "fofal-weather still runs after an oversized answer");
  cr_expect_eq(WEXITSTATUS(h_stop(w, SIGTERM)), 0);
  cr_expect_eq(h_log_count(log, "AddressSanitizer"), 0);
  free(boss);
  free(pia);
  free(root);
  free(mech);
}
