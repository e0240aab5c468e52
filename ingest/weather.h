/*
 * weather.h — fofal-weather's pure parts (weather.c): Open-Meteo's forecast response into
 * the hours of a weather.forecast.record command, and the request URL. The process is
 * weather_main.c; README, "Weather".
 */
#ifndef FOFAL_INGEST_WEATHER_H
#define FOFAL_INGEST_WEATHER_H

#include <jansson.h>
#include <stddef.h>

#include "events.h"

#define FOFAL_WEATHER_MAX_HOURS 384            /* 16 days: Open-Meteo's longest forecast */
#define FOFAL_WEATHER_MAX_BODY (4 * 1024 * 1024) /* above any FOFAL_WEATHER_MAX_BYTES */

/* Parses a response of Open-Meteo's forecast API (GET /v1/forecast with
 * hourly=temperature_2m,relative_humidity_2m) of len bytes into *hours (new): an array of
 * {"at": "YYYY-MM-DDTHH:MM:00Z", "temperature_c": number|null, "humidity_pct": number|null}
 * in time order, times moved to UTC by the response's utc_offset_seconds. Refuses what is
 * not exactly that: not JSON or truncated (FOFAL_EPARSE), over FOFAL_WEATHER_MAX_BODY
 * (FOFAL_ETOOBIG), the service's own error object, a missing or mistyped member, arrays of
 * different lengths, none or more than FOFAL_WEATHER_MAX_HOURS hours, times not strictly
 * increasing, a unit other than °C and %, values out of range (FOFAL_EINVAL); the reason
 * in err. Never reads past len. */
int fofal_weather_parse_open_meteo(const char *body, size_t len, json_t **hours, char *err, size_t errlen);

/* The request URL for a site: {base}/v1/forecast?latitude=..&longitude=..&hourly=
 * temperature_2m,relative_humidity_2m&timezone=UTC&forecast_days=N into out. 0, or
 * FOFAL_EINVAL when it does not fit. */
int fofal_weather_url(const char *base, double latitude, double longitude, int days, char *out, size_t outlen);

#endif
