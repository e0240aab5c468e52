/*
 * fuzz_envelope.c — the CloudEvents envelope decoder (events/envelope.c, fofal_event_decode)
 * on any bytes, as a consumer reads them from an event topic.
 *
 * Properties: no crash, leak or undefined behaviour; a refusal leaves the event cleared and
 * says why; an accepted event encodes (fofal_event_encode) to text that decodes to the same
 * event (attributes, time to the microsecond, seq and data), and its type names a module
 * when fofal_event_type_module says so. One upcaster is registered, so that the upcasting
 * loop runs too: fofal.fuzz.thing v1 → v2 adds {"upcast":1}; v2 → v3 refuses data with
 * "refuse" in it.
 */
#include "fuzz.h"

#include "events.h"

static int thing_v1(json_t **data) {
  json_object_set_new(*data, "upcast", json_integer(1));
  return 0;
}

static int thing_v2(json_t **data) { return json_object_get(*data, "refuse") ? FOFAL_EINVAL : 0; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fofal_upcaster_register("fofal.fuzz.thing", 1, thing_v1);
  fofal_upcaster_register("fofal.fuzz.thing", 2, thing_v2);
  return 0;
}

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fofal_event_t ev, back;
  char err[256] = "", err2[256] = "";
  int rc = fofal_event_decode(&ev, (const char *)data, size, err, sizeof err);
  if (rc) {
    FUZZ_CHECK(rc < 0 && err[0], "a refusal (%d) says why", rc);
    FUZZ_CHECK(!ev.id && !ev.type && !ev.data, "a refused event is cleared");
    return 0;
  }
  FUZZ_CHECK(ev.id && ev.source && ev.type && ev.subject && ev.tenant && json_is_object(ev.data),
             "an accepted event has its required attributes");
  char module[64];
  if (!fofal_event_type_module(ev.type, module, sizeof module))
    FUZZ_CHECK(module[0] && !strchr(module, '.'), "module of %s", ev.type);
  char *text = fofal_event_encode(&ev);
  rc = fofal_event_decode(&back, text, strlen(text), err2, sizeof err2);
  FUZZ_CHECK(rc == 0, "the encoded event decodes again: %s (%s)", err2, text);
  {
    /* A decoded event is at its current version: decoding it again upcasts nothing. */
    FUZZ_CHECK(same(ev.id, back.id) && same(ev.source, back.source) && same(ev.subject, back.subject) &&
                   same(ev.tenant, back.tenant) && same(ev.actor, back.actor) && same(ev.command_id, back.command_id) &&
                   same(ev.correlation_id, back.correlation_id),
               "attributes survive a round trip: %s", text);
    FUZZ_CHECK(ev.time_us == back.time_us, "time survives a round trip: %lld vs %lld (%s)", (long long)ev.time_us,
               (long long)back.time_us, text);
    FUZZ_CHECK(ev.seq == back.seq, "seq survives a round trip");
    FUZZ_CHECK(same(ev.type, back.type) && json_equal(ev.data, back.data), "type and data survive a round trip: %s",
               text);
    fofal_event_clear(&back);
  }
  free(text);
  fofal_event_clear(&ev);
  return 0;
}
