/*
 * openapi_auth.c — the /api/v1/auth/... part of the OpenAPI document (accounts.c),
 * written as JSON text and merged into the document at start by openapi.c.
 * Loop thread, once.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>

#define P(desc) "{\"description\":\"" desc "\",\"content\":{\"application/problem+json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}}"
#define BODY(props, req) \
  "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"," \
  "\"additionalProperties\":false,\"required\":" req ",\"properties\":" props "}}}}"
/* A string of min to max characters, as accounts.c's fields_ok checks them. */
#define STR(min, max) "{\"type\":\"string\",\"minLength\":" #min ",\"maxLength\":" #max "}"
#define TOKENS "\"200\":{\"description\":\"Signed in.\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Tokens\"}}}}"
/* Every route answers only once its event is decided: 503 not_recorded when it cannot be
 * recorded, not_decided when it is in the log but undecided. */
#define U "\"503\":" P("PostgreSQL or Redis unavailable, or not_recorded: the event could not be recorded in the log (Kafka unavailable; nothing was done, no token issued), or not_decided: the command is in the log but fofal-decider did not decide it in time (no token issued; it may still take effect, so a retry may answer 409 already_exists), or position_not_reached: recorded, not yet applied by the identity projection; retry after Retry-After.")
#define RL "\"429\":" P("rate_limited (Retry-After says when to retry) or locked_out.") "," U

static const char auth_paths[] =
    "{"
    "\"/api/v1/auth/login\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.login\",\"security\":[],"
    "\"summary\":\"Sign in with a password.\",\"description\":\"Answers tokens, or for roles that touch money, pay or HR "
    "(accountant, hr, manager, admin) {mfa_required: true, mfa_token, mfa_enrolled}: continue with /auth/mfa (after "
    "/auth/totp/enrol when not enrolled). Rate-limited per IP and per account.\","
    BODY("{\"tenant\":" STR(1, 63) ",\"username\":" STR(1, 100) ",\"password\":" STR(1, 1024) "}", "[\"tenant\",\"username\",\"password\"]")
    ",\"responses\":{" TOKENS ",\"401\":" P("invalid_credentials.") "," RL "}}},"
    "\"/api/v1/auth/mfa\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.mfa\",\"security\":[],"
    "\"summary\":\"Second factor: a TOTP code or a one-time recovery code.\",\"description\":\"The first successful code "
    "after /auth/totp/enrol completes the enrolment; that answer also carries `recovery_codes` (10, shown once).\","
    BODY("{\"mfa_token\":" STR(1, 4096) ",\"code\":{\"type\":\"string\",\"pattern\":\"^[0-9]{6}$\"},\"recovery_code\":" STR(14, 14) "}", "[\"mfa_token\"]")
    ",\"responses\":{" TOKENS ",\"401\":" P("invalid_token (MFA token) or invalid_code.") "," RL "}}},"
    "\"/api/v1/auth/totp/enrol\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.totp_enrol\",\"security\":[],"
    "\"summary\":\"Start a TOTP enrolment: an otpauth:// URI and its QR code (SVG).\","
    BODY("{\"mfa_token\":" STR(1, 4096) "}", "[\"mfa_token\"]")
    ",\"responses\":{\"200\":{\"description\":\"{otpauth_uri, qr_svg}\"},\"401\":" P("invalid_token.") ",\"409\":" P("already_enrolled.") "}}},"
    "\"/api/v1/auth/refresh\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.refresh\",\"security\":[],"
    "\"summary\":\"Rotate a refresh token.\",\"description\":\"The token presented is used up; a second use of it "
    "revokes the whole session (refresh_token_reused), the newer tokens included.\","
    BODY("{\"refresh_token\":" STR(1, 200) "}", "[\"refresh_token\"]")
    ",\"responses\":{" TOKENS ",\"401\":" P("invalid_refresh_token or refresh_token_reused.") "," RL "}}},"
    "\"/api/v1/auth/logout\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.logout\","
    "\"summary\":\"End the session of the access token, on every instance within seconds.\","
    "\"responses\":{" U ",\"204\":{\"description\":\"Signed out.\"},\"400\":" P("no_session: a token without sid; or malformed_json: a body that is not a JSON object.") ",\"401\":" P("No valid access token.") "}}},"
    "\"/api/v1/auth/password\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.password\","
    "\"summary\":\"Change the caller's password; every session of the account ends.\","
    BODY("{\"current_password\":" STR(1, 1024) ",\"new_password\":" STR(12, 1024) "}", "[\"current_password\",\"new_password\"]")
    ",\"responses\":{\"204\":{\"description\":\"Changed (recorded in the log and applied): sign in again.\"},\"400\":" P("no_account: the token names no account (a development token).") ",\"403\":" P("invalid_credentials.") ",\"422\":" P("invalid_request: a member not listed, or a new password under 12 characters.") "," RL "}}},"
    "\"/api/v1/auth/accounts\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.account_create\","
    "\"summary\":\"Create an account of the caller's tenant (admin).\",\"description\":\"Sends "
    "identity.account.create through the log (the password and PIN hashed with argon2id and sealed, the username "
    "sealed as personal data) and answers once the identity projection has applied it: the account signs in at once.\","
    BODY("{\"username\":" STR(1, 100) ",\"role\":{\"type\":\"string\",\"enum\":[\"weaver\",\"cutter\",\"mechanic\",\"storekeeper_mp\",\"storekeeper_pf\",\"storekeeper_st\",\"quality\",\"planner\",\"manager\",\"salesperson\",\"accountant\",\"hr\",\"auditor\",\"admin\"]},\"password\":" STR(12, 1024) ",\"badge\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$\",\"description\":\"The person's badge (W121), as their employee record's: every sign-in of the account carries it in the access token (claim badge), and it is who they are on the floor (their own views and records; the person of their commands).\"},\"pin\":{\"type\":\"string\",\"pattern\":\"^[0-9]{6,8}$\",\"description\":\"6 to 8 digits (PINs of 4 digits set earlier still sign in).\"}}", "[\"username\",\"role\"]")
    ",\"responses\":{\"201\":{\"description\":\"{account_id, username, role}\"},\"403\":" P("forbidden.") ",\"409\":" P("already_exists: the username or the badge is another account's.") ",\"422\":" P("invalid_request.") "," U "}}},"
    "\"/api/v1/auth/devices\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.device_enrol\","
    "\"summary\":\"Enrol a shared shop-floor phone (admin, manager); its secret is shown once.\","
    BODY("{\"name\":" STR(1, 100) "}", "[\"name\"]")
    ",\"responses\":{\"201\":{\"description\":\"{device_id, device_secret, name}\"},\"403\":" P("forbidden.") ",\"422\":" P("invalid_request: a member not listed, or a name over 100 characters.") "," U "}}},"
    "\"/api/v1/auth/gateways\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.gateway_enrol\","
    "\"summary\":\"Enrol an MQTT gateway of the caller's tenant (admin); its password is shown once.\","
    "\"description\":\"Sends identity.gateway.enrol through the log with the Mosquitto hash of a random 256-bit "
    "password; fofal-mqtt-auth gives the broker the account within about a second. The gateway signs in to MQTT as "
    "`username` and may only publish fofal/<tenant>/looms/<loom>/telemetry (the listed looms, or any loom of the "
    "tenant) and fofal/<tenant>/halls/+/env; it reads nothing. Revoke it with the command identity.gateway.revoke.\","
    BODY("{\"name\":" STR(1, 100) ",\"looms\":{\"type\":\"array\",\"maxItems\":256,\"uniqueItems\":true,\"items\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._-]{1,63}$\"}}}", "[\"name\"]")
    ",\"responses\":{\"201\":{\"description\":\"{gateway_id, username, password, tenant, name, looms?}\"},\"403\":" P("forbidden.") ",\"422\":" P("invalid_request: a member not listed, a name over 100 characters, or looms that are not distinct loom codes.") "," U "}}},"
    "\"/api/v1/auth/devices/{device_id}/revoke\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.device_revoke\","
    "\"summary\":\"Revoke a shop-floor device (admin, manager): it signs nobody in any more, and the sessions opened on it end.\","
    "\"description\":\"Sends identity.device.revoke through the log and answers once the identity projection has applied it. The body may be empty.\","
    "\"parameters\":[{\"name\":\"device_id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\",\"format\":\"uuid\"}}],"
    "\"requestBody\":{\"required\":false,\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"reason\":" STR(1, 200) "}}}}}"
    ",\"responses\":{\"204\":{\"description\":\"Revoked.\"},\"403\":" P("forbidden.") ",\"404\":" P("not_found: no such device in the tenant.") ",\"409\":" P("already_revoked.") "," U "}}},"
    "\"/api/v1/auth/pin-login\":{\"post\":{\"tags\":[\"auth\"],\"operationId\":\"auth.pin_login\",\"security\":[],"
    "\"summary\":\"Shop-floor sign-in on an enrolled device: badge and PIN.\",\"description\":\"Rate-limited per "
    "device, badge and IP; after FOFAL_API_PIN_MAX_FAILURES wrong PINs the badge locks (429 locked_out), 1 minute "
    "doubling up to 64. Roles that need MFA cannot sign in by PIN. The access token's subject is the account id and its "
    "badge claim the account's badge: who the person is on the floor.\","
    BODY("{\"tenant\":" STR(1, 63) ",\"device_id\":{\"type\":\"string\",\"format\":\"uuid\",\"minLength\":36,\"maxLength\":36},\"device_secret\":" STR(1, 200) ",\"badge\":" STR(1, 64) ",\"pin\":{\"type\":\"string\",\"pattern\":\"^[0-9]{4,8}$\"}}", "[\"tenant\",\"device_id\",\"device_secret\",\"badge\",\"pin\"]")
    ",\"responses\":{" TOKENS ",\"401\":" P("invalid_device or invalid_credentials.") ",\"403\":" P("pin_not_allowed.") "," RL "}}},"
    "\"/api/v1/auth/me\":{\"get\":{\"tags\":[\"auth\"],\"operationId\":\"auth.me\",\"summary\":\"Who the access token says the caller is.\","
    "\"responses\":{\"200\":{\"description\":\"{tenant, subject, role, sid, badge}: badge when the token carries one.\"},\"401\":" P("No valid, or a revoked, access token (token_revoked).") "}}}"
    "}";

static const char tokens_schema[] =
    "{\"type\":\"object\",\"properties\":{\"access_token\":{\"type\":\"string\"},\"token_type\":{\"const\":\"Bearer\"},"
    "\"expires_in\":{\"type\":\"integer\"},\"refresh_token\":{\"type\":\"string\",\"description\":\"Opaque; rotate with "
    "/auth/refresh.\"},\"refresh_expires_in\":{\"type\":\"integer\"},\"account_id\":{\"type\":\"string\"},\"role\":{\"type\":"
    "\"string\"},\"tenant\":{\"type\":\"string\"},\"sid\":{\"type\":\"string\"},\"badge\":{\"type\":\"string\","
    "\"description\":\"The account's badge, when it has one; the access token carries it as claim badge.\"},\"recovery_codes\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\"}}}}";

static json_t *problem(const char *desc) {
  return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content", "application/problem+json", "schema", "$ref",
                   "#/components/schemas/Problem");
}

void fofal__openapi_auth(json_t *paths, json_t *schemas) {
  json_error_t e;
  json_t *p = json_loads(auth_paths, 0, &e), *t = json_loads(tokens_schema, 0, NULL);
  if (!p || !t) {
    fprintf(stderr, "openapi_auth.c: bad JSON at %d: %s\n", e.position, e.text);
    abort(); /* a programming error, found by every test run */
  }
  /* What every route of accounts.c answers before its own checks: 401 without a valid
   * token (unless the route is public, "security": []), and for a body 400 when it is
   * not a JSON object, 413 over 16 KiB, 415 without application/json, 422 when a field
   * is missing, not a string or of the wrong length (fields_ok). */
  const char *path;
  json_t *item;
  json_object_foreach(p, path, item) {
    const char *method;
    json_t *op;
    json_object_foreach(item, method, op) {
      json_t *resp = json_object_get(op, "responses"), *sec = json_object_get(op, "security");
      if (!(json_is_array(sec) && json_array_size(sec) == 0) && !json_object_get(resp, "401"))
        json_object_set_new(resp, "401", problem("No valid access token (unauthenticated, invalid_token, token_revoked)."));
      if (!json_object_get(op, "requestBody")) continue;
      if (!json_object_get(resp, "400")) json_object_set_new(resp, "400", problem("malformed_json: not a JSON object."));
      json_object_set_new(resp, "413", problem("body_too_large: over 16 KiB."));
      json_object_set_new(resp, "415", problem("unsupported_media_type: send application/json."));
      if (!json_object_get(resp, "422"))
        json_object_set_new(resp, "422", problem("invalid_request: a field missing, not a string, or of the wrong length "
                                                 "(errors: JSON pointers)."));
    }
  }
  json_object_update(paths, p);
  json_object_set_new(schemas, "Tokens", t);
  json_decref(p);
}
