/*
 * ingest.h — the one header of ingest/ that other folders include: loom telemetry
 * payloads (the MQTT side) and their checks.
 *
 * MQTT topic:  fofal/<tenant>/looms/<loom>/telemetry, QoS 1.
 * Payload (JSON, at most FOFAL_TELEMETRY_MAX_BYTES):
 *   {"msg_id": "<unique per sensor message>", "ts": "<RFC 3339>",
 *    "picks": <pick counter, integer ≥ 0>, "ppm": <speed, picks per minute, 0..2000>,
 *    "state": "running" | "stopped",
 *    "stop_cause": "warp_break" | "weft_break" | "mechanical" | "electrical" | "other"   (when stopped),
 *    "temperature": <°C, -20..80, optional>, "humidity": <% RH, 0..100, optional>}
 * The JSON Schema is schemas/telemetry/loom_sample.json.
 */
#ifndef FOFAL_INGEST_H
#define FOFAL_INGEST_H

#include <stddef.h>

#include "events.h"

#define FOFAL_TELEMETRY_MAX_BYTES 4096
#define FOFAL_TELEMETRY_SUBSCRIPTION "fofal/+/looms/+/telemetry"

/* Parses an MQTT topic "fofal/<tenant>/looms/<loom>/telemetry" into tenant and loom
 * (each 1..63 chars of [A-Za-z0-9._-]). 0 or FOFAL_EINVAL. */
int fofal_telemetry_topic(const char *topic, size_t len, char tenant[64], char loom[64]);

/* Checks a payload. 0 with *data a new JSON object, or FOFAL_EPARSE / FOFAL_ETOOBIG /
 * FOFAL_EINVAL with the reason in errbuf. */
int fofal_telemetry_parse(const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen);

/* The CloudEvent written to fofal.telemetry.raw for a checked sample (new string). */
char *fofal_telemetry_event(const char *tenant, const char *loom, const json_t *data);

#endif
