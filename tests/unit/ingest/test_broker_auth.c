/*
 * test_broker_auth.c — ingest/broker_auth.c: Mosquitto's password and ACL files from the
 * identity module's gateway events. A gateway writes its own tenant's topics (its listed
 * looms, or any), reads nothing; a revoked one leaves both files; the base comes first;
 * a record with a name that could widen a topic or break a line writes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

#define GW1 "0190aaaa-bbbb-7ccc-8ddd-0000000000f1"
#define GW2 "0190aaaa-bbbb-7ccc-8ddd-0000000000f2"
#define HASH                                                                                                           \
  "$7$101$kZJU0f2ER0S6tBCE$LwfYLuRHZltfq13lcLCg6+n9+1aXcWSgajcT4H1Cps42Ae9rKkgaD6DveM6LzpNWOu16nz2tcN04bUlhE9YOQg=="

/* An identity event as fofal-decider writes it (new string). */
static char *event(const char *type, const char *tenant, json_t *data) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid7(id);
  fofal_event_t ev = {.id = id, .source = "/fofal/identity", .type = (char *)type, .subject = "x", .time_us = 1,
                      .tenant = (char *)tenant, .seq = 1, .actor = "u:a/admin", .data = data};
  char *s = fofal_event_encode(&ev);
  json_decref(data);
  return s;
}

static int feed(fofal_broker_auth_t *a, char *ev) {
  int rc = fofal_broker_auth_record(a, ev, strlen(ev));
  free(ev);
  return rc;
}

Test(broker_auth, gateways_write_their_tenants_topics_and_revoked_ones_leave) {
  fofal_broker_auth_t *a = fofal_broker_auth_new();
  cr_expect_eq(feed(a, event("fofal.identity.gateway_enrolled.v1", "acme",
                             json_pack("{s:s,s:s,s:s,s:[s,s],s:s}", "gateway_id", GW1, "name", "hall 1", "username",
                                       "gw-" GW1, "looms", "L1", "L2", "password_hash", HASH))),
               1);
  cr_expect_eq(feed(a, event("fofal.identity.gateway_enrolled.v1", "beta",
                             json_pack("{s:s,s:s,s:s,s:s}", "gateway_id", GW2, "name", "b", "username", "gw-" GW2,
                                       "password_hash", HASH))),
               1);
  cr_expect_eq(feed(a, event("fofal.identity.login_failed.v1", "acme", json_pack("{s:s}", "method", "password"))), 0);
  char *pw = fofal_broker_auth_passwd(a, "fofal-ingest:$7$1$x$y");
  cr_expect_str_eq(pw, "fofal-ingest:$7$1$x$y\ngw-" GW1 ":" HASH "\ngw-" GW2 ":" HASH "\n");
  free(pw);
  char *acl = fofal_broker_auth_acl(a, "user fofal-ingest\ntopic read fofal/+/looms/+/telemetry\n");
  cr_expect_str_eq(acl, "user fofal-ingest\ntopic read fofal/+/looms/+/telemetry\n"
                        "\nuser gw-" GW1 "\n"
                        "topic write fofal/acme/looms/L1/telemetry\n"
                        "topic write fofal/acme/looms/L2/telemetry\n"
                        "topic write fofal/acme/halls/+/env\n"
                        "\nuser gw-" GW2 "\n"
                        "topic write fofal/beta/looms/+/telemetry\n"
                        "topic write fofal/beta/halls/+/env\n");
  cr_expect(!strstr(acl, "topic read fofal/acme") && !strstr(acl, "readwrite"), "a gateway reads nothing");
  free(acl);
  cr_expect_eq(feed(a, event("fofal.identity.gateway_revoked.v1", "acme", json_pack("{s:s}", "gateway_id", GW1))), 1);
  cr_expect_eq(fofal_broker_auth_count(a), 1);
  pw = fofal_broker_auth_passwd(a, NULL);
  acl = fofal_broker_auth_acl(a, NULL);
  cr_expect(!strstr(pw, GW1) && !strstr(acl, GW1), "a revoked gateway is in neither file");
  cr_expect(strstr(pw, GW2) && strstr(acl, GW2));
  free(pw);
  free(acl);
  fofal_broker_auth_free(a);
}

Test(broker_auth, names_that_could_widen_a_topic_write_nothing) {
  fofal_broker_auth_t *a = fofal_broker_auth_new();
  /* A tenant with a wildcard, a hash with a line break: refused whole. */
  cr_expect_eq(feed(a, event("fofal.identity.gateway_enrolled.v1", "#",
                             json_pack("{s:s,s:s,s:s,s:s}", "gateway_id", GW1, "name", "x", "username", "gw-" GW1,
                                       "password_hash", HASH))),
               0);
  cr_expect_eq(feed(a, event("fofal.identity.gateway_enrolled.v1", "acme",
                             json_pack("{s:s,s:s,s:s,s:s}", "gateway_id", GW1, "name", "x", "username", "gw-" GW1,
                                       "password_hash", "$7$1$a$b\nfofal-ingest:x"))),
               0);
  /* A loom with a wildcard: refused whole (dropping it could leave "any loom"). */
  cr_expect_eq(feed(a, event("fofal.identity.gateway_enrolled.v1", "acme",
                             json_pack("{s:s,s:s,s:s,s:[s],s:s}", "gateway_id", GW2, "name", "x", "username",
                                       "gw-" GW2, "looms", "+", "password_hash", HASH))),
               0);
  cr_expect_eq(fofal_broker_auth_count(a), 0);
  char *acl = fofal_broker_auth_acl(a, NULL), *pw = fofal_broker_auth_passwd(a, NULL);
  cr_expect_str_eq(acl, "");
  cr_expect_str_eq(pw, "");
  free(acl);
  free(pw);
  fofal_broker_auth_free(a);
}
