/*
 * reactions.c — how the quality module reacts to other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger.
 *
 *   quality.nc_on_subcontracting_rejects
 *       fofal.subcontracting.goods_returned → quality.nc.open (source subcontracting):
 *       a return that brings pieces back rejected opens a non-conformity naming the
 *       rejected lots (their label ids), with the subcontractor, the dispatch, the
 *       quantities and the defects in its description. Its id derives from the return, so
 *       a replayed trigger opens no second NC. A return without rejects needs nothing.
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

static int nc_on_subcontracting_rejects(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  json_t *lots = json_array();
  char desc[2001] = "";
  size_t i, n = 0, k;
  const json_t *l, *d;
  int len = snprintf(desc, sizeof desc, "Dispatch %s, return %s:", jstr(ev->data, "dispatch_id"), jstr(ev->data, "return_id"));
  json_array_foreach(json_object_get(ev->data, "lines"), i, l) {
    json_int_t bad = jint(l, "rejected_milli", 0);
    if (bad <= 0 || json_array_size(lots) >= 50) continue;
    json_array_append_new(lots, json_string(jstr(l, "label_id")));
    n++;
    if (len >= 0 && (size_t)len < sizeof desc)
      len += snprintf(desc + len, sizeof desc - (size_t)len, " lot %s: %lld.%03lld rejected", jstr(l, "label_id"),
                      (long long)(bad / 1000), (long long)(bad % 1000));
    json_array_foreach(json_object_get(l, "defects"), k, d) {
      if (len >= 0 && (size_t)len < sizeof desc)
        len += snprintf(desc + len, sizeof desc - (size_t)len, "%s%s", k ? ", " : " (",
                        json_is_string(d) ? json_string_value(d) : jstr(d, "cause"));
      if (k + 1 == json_array_size(json_object_get(l, "defects")) && len >= 0 && (size_t)len < sizeof desc)
        len += snprintf(desc + len, sizeof desc - (size_t)len, ")");
    }
    if (len >= 0 && (size_t)len < sizeof desc) len += snprintf(desc + len, sizeof desc - (size_t)len, ";");
  }
  if (!n) {
    json_decref(lots);
    return FOFAL_REACT_NOTHING;
  }
  char nc[FOFAL_UUID_LEN + 1], title[200];
  fofal_uuid_named(jstr(ev->data, "return_id"), "quality/nc", nc);
  snprintf(title, sizeof title, "Rejects back from subcontractor %s", jstr(ev->data, "subcontractor"));
  out->data = json_pack("{s:s,s:s,s:s,s:s,s:o}", "nc_id", nc, "title", title, "source", "subcontracting", "description", desc,
                        "lots", lots);
  snprintf(out->type, sizeof out->type, "quality.nc.open");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_return[] = {"fofal.subcontracting.goods_returned.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"quality.nc_on_subcontracting_rejects", on_return, nc_on_subcontracting_rejects,
     "rejects back from a subcontractor (subcontracting) open a non-conformity naming their lots", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_quality_reactions = {.module = "quality", .reactions = reactions};
