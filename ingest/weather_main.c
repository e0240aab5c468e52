/*
 * weather_main.c — fofal-weather: fetches the outdoor forecast of every site a tenant set
 * (weather.site.set) from a weather API in Open-Meteo's forecast format, and records each
 * fetch in the log as the command weather.forecast.record, which fofal-decider turns into
 * the event weather.forecast_received (README, "Weather").
 *
 * Where the sites come from. Reads every partition of fofal.weather.events from the
 * beginning (read_committed, no group, nothing committed: the state is the log's): a
 * site_set gives a site's coordinates, a forecast_received when it was last fetched. It
 * fetches nothing before each partition's end was reached, so a restart knows what was
 * fetched before it and does not fetch again within the interval.
 *
 * Polling and caching. A site is fetched when FOFAL_WEATHER_INTERVAL_S (3600) has passed
 * since its last forecast; after a failure, 10 s later, doubling at each failure in a row
 * up to FOFAL_WEATHER_RETRY_S (a fake or proxy still starting costs seconds, a service down
 * a few requests an hour). Responses are
 * cached by URL for the interval: sites with the same coordinates (two tenants in one
 * building) cost one request. Each request has a timeout (FOFAL_WEATHER_TIMEOUT_S) and a
 * size cap (FOFAL_WEATHER_MAX_BYTES: the transfer stops past it); http and https only, no
 * redirects. A bad response (HTTP status, not the format, a value out of range) or a
 * failed request is counted and logged with its reason, never fatal.
 *
 * No duplicates. A fetch's command id is a name-based UUID of (tenant, site, fetch slot),
 * the slot being the start of the interval it falls in (the hour, by default): a fofal-weather
 * that restarts and fetches again within the slot sends the same id, which the decider's
 * idempotency answers with the first result. The decider also refuses a forecast not newer
 * than the last (stale_forecast) or fetched for coordinates the site no longer has
 * (site_moved).
 *
 * Threads: one, the caller's (libcurl's easy interface, blocking for at most the timeout);
 * librdkafka has its own.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "weather.h"

static char *brokers, *base_url, *log_level;
static long long interval_s, retry_s, timeout_s, max_bytes, forecast_days;
static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_WEATHER_URL", FOFAL_SET_STR, "https://api.open-meteo.com", 0, 0,
     "Base URL of a weather API in Open-Meteo's forecast format ({base}/v1/forecast?latitude=..&longitude=..). The "
     "local stack sets its fake (ops/weather/fake_open_meteo.py).",
     &base_url},
    {"FOFAL_WEATHER_INTERVAL_S", FOFAL_SET_INT, "3600", 1, 86400,
     "Seconds between two fetches for a site (and how long a response is cached).", &interval_s},
    {"FOFAL_WEATHER_RETRY_S", FOFAL_SET_INT, "300", 1, 86400, "Longest wait before trying a site again after failures (the first retry is after 10 s, "
     "doubling).",
     &retry_s},
    {"FOFAL_WEATHER_TIMEOUT_S", FOFAL_SET_INT, "10", 1, 120, "Timeout of one request, connection included.",
     &timeout_s},
    {"FOFAL_WEATHER_MAX_BYTES", FOFAL_SET_INT, "262144", 4096, FOFAL_WEATHER_MAX_BODY,
     "Largest response accepted (bytes, decoded); a bigger one is a bad response.", &max_bytes},
    {"FOFAL_WEATHER_FORECAST_DAYS", FOFAL_SET_INT, "2", 1, 16, "Days of forecast asked for (forecast_days).",
     &forecast_days},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

typedef struct {
  char tenant[96], site[72];
  double lat, lon;
  int known;            /* coordinates read */
  int64_t last_us;      /* fetched_at of the last forecast (log or sent), 0: none */
  int64_t next_try_us;  /* wall clock: not before (after a failure) */
  int failures;         /* in a row: the wait before the next try doubles from 10 s */
} site_t;

typedef struct {
  char url[512];
  int64_t fetched_us;
  json_t *hours;
} cached_t;

static site_t *sites;
static size_t nsites, capsites;
static cached_t cache[64];
static long long fetches, bad_responses, failed_requests, sent, cache_hits;

static site_t *site_of(const char *tenant, const char *site) {
  for (size_t i = 0; i < nsites; i++)
    if (!strcmp(sites[i].tenant, tenant) && !strcmp(sites[i].site, site)) return &sites[i];
  if (strlen(tenant) >= sizeof sites[0].tenant || strlen(site) >= sizeof sites[0].site) return NULL;
  if (nsites == capsites) sites = fofal_realloc(sites, (capsites = capsites * 2 + 16) * sizeof *sites);
  site_t *s = &sites[nsites++];
  memset(s, 0, sizeof *s);
  snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
  snprintf(s->site, sizeof s->site, "%s", site);
  return s;
}

/* One record of fofal.weather.events. */
static void on_event(const char *value, size_t len) {
  fofal_event_t ev;
  char err[256];
  if (fofal_event_decode(&ev, value, len, err, sizeof err)) {
    LOG_WARN("skipped an undecodable record of the weather topic: %s", err);
    return;
  }
  const char *code = json_string_value(json_object_get(ev.data, "site"));
  site_t *s = code && ev.tenant ? site_of(ev.tenant, code) : NULL;
  if (s && !strcmp(ev.type, "fofal.weather.site_set.v1")) {
    s->lat = json_number_value(json_object_get(ev.data, "latitude"));
    s->lon = json_number_value(json_object_get(ev.data, "longitude"));
    s->known = 1;
    s->next_try_us = 0; /* new coordinates: fetch them at once */
    s->last_us = 0;
  } else if (s && !strcmp(ev.type, "fofal.weather.forecast_received.v1")) {
    int64_t at;
    if (!fofal_time_parse(json_string_value(json_object_get(ev.data, "fetched_at")) ?: "", &at) && at > s->last_us)
      s->last_us = at;
  }
  fofal_event_clear(&ev);
}

typedef struct {
  char *buf;
  size_t len, cap;
  int over;
} body_t;

static size_t on_body(char *ptr, size_t size, size_t n, void *opaque) {
  body_t *b = opaque;
  size_t add = size * n;
  if (b->len + add > (size_t)max_bytes) {
    b->over = 1;
    return 0; /* stops the transfer (CURLE_WRITE_ERROR) */
  }
  if (b->len + add + 1 > b->cap) b->buf = fofal_realloc(b->buf, b->cap = (b->len + add + 1) * 2);
  memcpy(b->buf + b->len, ptr, add);
  b->len += add;
  b->buf[b->len] = '\0';
  return add;
}

/* GETs url into *hours (new). 0, or -1 (counted and logged). */
static int fetch(CURL *curl, const char *url, json_t **hours) {
  body_t b = {0};
  char err[CURL_ERROR_SIZE] = "", why[256] = "";
  long status = 0;
  fetches++;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)timeout_s);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "fofal-weather/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  CURLcode cc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  int rc = -1;
  if (b.over || cc == CURLE_FILESIZE_EXCEEDED) {
    bad_responses++;
    LOG_WARN("bad response from %s: over %lld bytes (FOFAL_WEATHER_MAX_BYTES); %lld bad so far", url, max_bytes,
             bad_responses);
  } else if (cc != CURLE_OK) {
    failed_requests++;
    LOG_WARN("request to %s failed: %s; %lld failed so far", url, *err ? err : curl_easy_strerror(cc), failed_requests);
  } else if (status != 200) {
    bad_responses++;
    LOG_WARN("bad response from %s: HTTP %ld; %lld bad so far", url, status, bad_responses);
  } else if (fofal_weather_parse_open_meteo(b.buf ? b.buf : "", b.len, hours, why, sizeof why)) {
    bad_responses++;
    LOG_WARN("bad response from %s: %s; %lld bad so far", url, why, bad_responses);
  } else {
    rc = 0;
  }
  free(b.buf);
  return rc;
}

/* The forecast for url: from the cache when fetched within the interval, else fetched. */
static int forecast(CURL *curl, const char *url, int64_t now_us, json_t **hours, int64_t *fetched_us) {
  cached_t *slot = &cache[0];
  for (size_t i = 0; i < sizeof cache / sizeof cache[0]; i++) {
    if (cache[i].hours && !strcmp(cache[i].url, url) && now_us - cache[i].fetched_us < interval_s * 1000000LL) {
      cache_hits++;
      *hours = json_incref(cache[i].hours);
      *fetched_us = cache[i].fetched_us;
      return 0;
    }
    if (!cache[i].hours || cache[i].fetched_us < slot->fetched_us) slot = &cache[i];
  }
  if (fetch(curl, url, hours)) return -1;
  json_decref(slot->hours);
  snprintf(slot->url, sizeof slot->url, "%s", url);
  slot->fetched_us = *fetched_us = fofal_now_us();
  slot->hours = json_incref(*hours);
  return 0;
}

static int send_forecast(fofal_kafka_t *prod, int nparts, const site_t *s, json_t *hours, int64_t fetched_us) {
  char at[32], id[FOFAL_UUID_LEN + 1], agg[FOFAL_UUID_LEN + 1], name[256], err[512];
  int64_t slot = fetched_us / 1000000 / interval_s * interval_s;
  snprintf(name, sizeof name, "weather.forecast.record/%s/%lld", s->site, (long long)slot);
  fofal_uuid_named(s->tenant, name, id);
  fofal_aggregate_ref(s->tenant, "site", s->site, agg);
  fofal_time_format(fetched_us, at);
  json_t *data = json_pack("{s:s,s:f,s:f,s:s,s:s,s:O}", "site", s->site, "latitude", s->lat, "longitude", s->lon,
                           "source", "open-meteo", "fetched_at", at, "hours", hours);
  fofal_cmd_t cmd = {.id = id, .type = "weather.forecast.record", .tenant = s->tenant, .actor = "s:fofal-weather",
                     .aggregate = agg, .expected_version = -1, .issued_us = fofal_now_us(), .correlation_id = id,
                     .data = data};
  int rc = fofal_command_produce(prod, &cmd, nparts, NULL, NULL, err, sizeof err);
  json_decref(data);
  if (rc) {
    LOG_ERROR("forecast of %s/%s not sent: %s", s->tenant, s->site, err);
    return -1;
  }
  sent++;
  LOG_INFO("forecast of %s/%s sent: %zu hours fetched at %s", s->tenant, s->site, json_array_size(hours), at);
  return 0;
}

/* Fetches and sends what is due. */
static void poll_sites(CURL *curl, fofal_kafka_t *prod, int nparts) {
  int64_t now = fofal_now_us();
  for (size_t i = 0; i < nsites && !fofal_stopped(&fofal_stop); i++) {
    site_t *s = &sites[i];
    if (!s->known || now < s->next_try_us || (s->last_us && now - s->last_us < interval_s * 1000000LL)) continue;
    char url[512];
    json_t *hours = NULL;
    int64_t fetched_us = 0;
    if (fofal_weather_url(base_url, s->lat, s->lon, (int)forecast_days, url, sizeof url) ||
        forecast(curl, url, now, &hours, &fetched_us) || send_forecast(prod, nparts, s, hours, fetched_us)) {
      long long wait = 10LL << (s->failures < 10 ? s->failures : 10);
      if (wait > retry_s) wait = retry_s;
      if (wait > interval_s) wait = interval_s;
      s->failures++;
      s->next_try_us = now + wait * 1000000LL;
    } else {
      s->failures = 0;
      s->last_us = fetched_us > s->last_us ? fetched_us : s->last_us;
    }
    json_decref(hours);
  }
  fofal_kafka_poll(prod, 0);
}

int main(int argc, char **argv) {
  char err[512], topic[96];
  int rc = 1, nparts = 0, ncmdparts = 0, at_end = 0;
  fofal_kafka_t *consumer = NULL, *prod = NULL;
  unsigned char *eof = NULL;
  CURL *curl = NULL;
  int early = fofal_process_start(
      "fofal-weather", settings, NSET, argc, argv,
      "Usage: fofal-weather [--config FILE] [--option=value ...]\n\n"
      "Fetches the hourly outdoor temperature and relative humidity of every site set by weather.site.set (read "
      "from fofal.weather.events) from a weather API in Open-Meteo's forecast format (FOFAL_WEATHER_URL; "
      "https://api.open-meteo.com is free and needs no key), every FOFAL_WEATHER_INTERVAL_S, and records each "
      "fetch as weather.forecast.record on fofal.commands (event weather.forecast_received).",
      &log_level);
  if (early >= 0) return early;
  if (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)) {
    fprintf(stderr, "fofal-weather: FOFAL_WEATHER_URL: an http:// or https:// URL\n");
    fofal_settings_free(settings, NSET);
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(curl = curl_easy_init())) {
    LOG_ERROR("cannot start: libcurl did not initialise");
    goto out;
  }
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  fofal_topic_events("weather", topic, sizeof topic);
  fofal_kafka_opts_t co = {.brokers = brokers, .client_id = "fofal-weather", .read_committed = 1, .partition_eof = 1};
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = "fofal-weather", .linger_ms = 5};
  if (fofal_kafka_consumer_new(&consumer, &co, err, sizeof err) || fofal_kafka_producer_new(&prod, &po, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  for (int tries = 0; ((nparts = fofal_kafka_partition_count(consumer, topic, 10000, err, sizeof err)) <= 0 ||
                       (ncmdparts = fofal_kafka_partition_count(prod, FOFAL_TOPIC_COMMANDS, 10000, err, sizeof err)) <= 0) &&
                      tries < 30 && !fofal_stopped(&fofal_stop);
       tries++)
    sleep(1);
  if (nparts <= 0 || ncmdparts <= 0) {
    LOG_ERROR("cannot start: %s", *err ? err : "no partitions");
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
  LOG_INFO("sites from %s; forecasts from %s every %lld s", topic, base_url, interval_s);
  rc = 0;
  int64_t next_poll = 0;
  while (!fofal_stopped(&fofal_stop)) {
    fofal_kmsg_t m;
    int got = fofal_kafka_consume(consumer, 200, &m);
    if (got < 0) {
      LOG_ERROR("fatal Kafka consumer error; exiting");
      rc = 1;
      break;
    }
    if (got == 1) {
      if (m.eof) {
        if (m.partition >= 0 && m.partition < nparts && !eof[m.partition]) eof[m.partition] = 1, at_end++;
      } else {
        on_event(m.value, m.len);
      }
      fofal_kafka_msg_release(&m);
    }
    if (at_end < nparts || fofal_mono_us() < next_poll) continue;
    next_poll = fofal_mono_us() + 1000000;
    poll_sites(curl, prod, ncmdparts);
  }
  if (prod) fofal_kafka_flush(prod, 10000);
  LOG_INFO("stopped: %zu sites, %lld fetches (%lld from the cache), %lld forecasts sent, %lld bad responses, %lld "
           "failed requests",
           nsites, fetches, cache_hits, sent, bad_responses, failed_requests);
out:
  for (size_t i = 0; i < sizeof cache / sizeof cache[0]; i++) json_decref(cache[i].hours);
  free(sites);
  free(eof);
  if (curl) curl_easy_cleanup(curl);
  curl_global_cleanup();
  fofal_kafka_free(prod);
  fofal_kafka_free(consumer);
  fofal_settings_free(settings, NSET);
  return rc;
}
