/*
 * main.c — fofal-api: the HTTP/1.1 + HTTP/2 server (h2o, libh2o-evloop).
 *
 * Serves h2c (prior knowledge and Upgrade) on FOFAL_HTTP_PORT and, when a certificate is
 * configured, TLS with ALPN h2 on FOFAL_HTTPS_PORT. One event loop on the main thread
 * runs every handler; Kafka and health work run on helper threads (api.h). Bodies are
 * capped by h2o itself (413, made problem+json by http.c's filter) before any handler
 * sees them. SIGINT/SIGTERM stop the loop;
 * in-flight waiters are dropped, which is safe: their commands are idempotent.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static fofal_api_conf_t conf;

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_HTTP_LISTEN", FOFAL_SET_STR, "127.0.0.1", 0, 0, "Address to listen on (IPv4).", &conf.listen},
    {"FOFAL_HTTP_PORT", FOFAL_SET_INT, "8080", 1, 65535, "Port for HTTP/1.1 and h2c.", &conf.http_port},
    {"FOFAL_HTTPS_PORT", FOFAL_SET_INT, "0", 0, 65535, "Port for TLS (HTTP/2 via ALPN, and HTTP/1.1); 0 = off.",
     &conf.https_port},
    {"FOFAL_TLS_CERT", FOFAL_SET_STR, "", 0, 0, "PEM certificate chain for TLS.", &conf.tls_cert},
    {"FOFAL_TLS_KEY", FOFAL_SET_STR, "", 0, 0, "PEM private key for TLS.", &conf.tls_key},
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &conf.brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal_api dbname=fofal", 0, 0,
     "libpq connection string of the read models, as fofal-api's own login role (README, Security).", &conf.pg_dsn},
    {"FOFAL_REDIS_ADDR", FOFAL_SET_STR, "127.0.0.1:16379", 0, 0, "Redis host:port.", &conf.redis_addr},
    {"FOFAL_REDIS_USER", FOFAL_SET_STR, "", 0, 0, "Redis ACL user (AUTH); empty: the default user.", &conf.redis_user},
    {"FOFAL_REDIS_PASSWORD", FOFAL_SET_STR, "", 0, 0, "Redis password of FOFAL_REDIS_USER; empty: no AUTH. Never logged.",
     &conf.redis_password},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the JSON Schemas.", &conf.schemas},
    {"FOFAL_JWT_SECRET", FOFAL_SET_STR, NULL, 0, 0, "HMAC key of access tokens (HS256); at least 32 characters.",
     &conf.jwt_secret},
    {"FOFAL_JWT_PREVIOUS_SECRETS", FOFAL_SET_STR, "", 0, 0,
     "Earlier HMAC keys, comma-separated, that still verify tokens (not sign) during a key rotation.",
     &conf.jwt_previous_secrets},
    {"FOFAL_API_DEV_TOKENS", FOFAL_SET_BOOL, "0", 0, 1,
     "Accept tokens without a session (`fofal token`, at most a day): development and test stacks only.",
     &conf.dev_tokens},
    {"FOFAL_JWT_ISSUER", FOFAL_SET_STR, "fofal", 0, 0, "Required `iss` of access tokens.", &conf.jwt_issuer},
    {"FOFAL_JWT_AUDIENCE", FOFAL_SET_STR, "fofal-api", 0, 0, "Required `aud` of access tokens.", &conf.jwt_audience},
    {"FOFAL_API_COMMAND_WAIT_MS", FOFAL_SET_INT, "5000", 10, 60000,
     "How long a command request waits for its decision before answering 202.", &conf.wait_ms},
    {"FOFAL_API_PRODUCE_TIMEOUT_MS", FOFAL_SET_INT, "1500", 100, 30000,
     "How long Kafka may take to acknowledge a command before the answer is 503.", &conf.produce_timeout_ms},
    {"FOFAL_API_PG_POOL", FOFAL_SET_INT, "4", 1, 64,
     "Read worker threads, each with its own PostgreSQL and Redis connection.", &conf.pg_pool},
    {"FOFAL_API_PG_QUEUE", FOFAL_SET_INT, "1000", 1, 100000,
     "Read jobs that may wait for a worker; beyond this a read is answered 503.", &conf.pg_queue},
    {"FOFAL_API_PG_TENANT_QUEUE", FOFAL_SET_INT, "200", 1, 100000,
     "Read jobs of one tenant that may wait for a worker (tenants are served in turn); beyond this its read is 503.",
     &conf.pg_tenant_queue},
    {"FOFAL_API_POSITION_WAIT_MS", FOFAL_SET_INT, "2000", 0, 30000,
     "How long a read with ?position= waits for the projections before answering 503.", &conf.position_wait_ms},
    {"FOFAL_WS_MAX_QUEUE", FOFAL_SET_INT, "10000", 1, 1000000,
     "Unsent messages a WebSocket client may have before it is closed as a slow consumer (1013).", &conf.ws_max_queue},
    {"FOFAL_WS_MAX_CONNECTIONS", FOFAL_SET_INT, "10000", 1, 1000000, "WebSocket connections at most.",
     &conf.ws_max_connections},
    {"FOFAL_WS_MAX_PER_TENANT", FOFAL_SET_INT, "2000", 1, 1000000, "WebSocket connections of one tenant at most, per instance.",
     &conf.ws_max_per_tenant},
    {"FOFAL_WS_MAX_PER_ACCOUNT", FOFAL_SET_INT, "10", 1, 100000,
     "WebSocket connections of one account (token subject) at most, per instance.", &conf.ws_max_per_account},
    {"FOFAL_WS_IDLE_S", FOFAL_SET_INT, "60", 2, 86400,
     "A WebSocket client that sends nothing (not even the pong to a ping) for this long is closed (1001).",
     &conf.ws_idle_s},
    {"FOFAL_SWAGGER_UI_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/ops/swagger-ui/node_modules/swagger-ui-dist", 0, 0,
     "Folder of the npm package swagger-ui-dist 5 (ops/setup installs it) that /api/docs/ serves.", &conf.swagger_dir},
    {"FOFAL_CONSOLE_DIR", FOFAL_SET_STR, FOFAL_CONSOLE_DIST, 0, 0,
     "Folder of the built console (api/console/, built by CMake with npm) that /console/ serves.", &conf.console_dir},
    {"FOFAL_API_LABEL_URL", FOFAL_SET_STR, "", 0, 0,
     "Base URL label QR codes carry (<url>/l/<tenant>/<label id>, for any phone camera); empty: FOFAL:L:<tenant>:<label id> for the FOFAL app.",
     &conf.label_url},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &conf.log_level},
    /* stored files (README "Files"): api/files/ */
    {"FOFAL_FILES_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/var/dev/filestore", 0, 0,
     "Folder of the file store (photos, PDFs), content-addressed per tenant; ops/stack's stack.env sets it in var/<stack>/ (ops/stack).",
     &conf.files_dir},
    {"FOFAL_FILES_MAX_BYTES", FOFAL_SET_INT, "10485760", 1024, 104857600,
     "Largest file an upload may carry, bytes (a larger body is refused with 413 before it is read whole).",
     &conf.files_max_bytes},
    {"FOFAL_API_REPORTS_CHECK_S", FOFAL_SET_INT, "3600", 1, 86400,
     "How often the last month's reports not yet generated are looked for, seconds (the first time a minute after "
     "start, or sooner when this is shorter): the system generates them itself at month end (README \"Monthly "
     "reports\").",
     &conf.reports_check_s},
    /* security (issue 6): api/accounts.c, api/transport.c */
    {"FOFAL_API_ACCESS_TTL", FOFAL_SET_INT, "300", 30, 3600, "Lifetime of a signed-in access token, seconds.", &conf.access_ttl},
    {"FOFAL_API_REFRESH_TTL", FOFAL_SET_INT, "2592000", 300, 31536000,
     "Lifetime of a session (its refresh-token family), seconds.", &conf.refresh_ttl},
    {"FOFAL_API_ARGON2_T", FOFAL_SET_INT, "2", 1, 10, "argon2id passes for passwords and PINs.", &conf.argon2_t},
    {"FOFAL_API_ARGON2_MEMORY_KIB", FOFAL_SET_INT, "19456", 8192, 1048576, "argon2id memory for passwords and PINs, KiB.",
     &conf.argon2_m_kib},
    {"FOFAL_API_RATE_IP_PER_S", FOFAL_SET_INT, "5000", 0, 1000000,
     "Requests per second per client IP on every route, per instance (burst twice that); 0 = off.", &conf.rate_ip_per_s},
    {"FOFAL_API_RATE_LOGIN_IP", FOFAL_SET_INT, "30", 1, 100000,
     "Sign-in attempts (password, MFA, PIN) per minute per IP, shared by all instances through Redis.", &conf.rate_login_ip},
    {"FOFAL_API_RATE_LOGIN_ACCOUNT", FOFAL_SET_INT, "5", 1, 100000,
     "Sign-in, MFA and password-change attempts per minute per account (Redis).", &conf.rate_login_account},
    {"FOFAL_API_RATE_PIN_DEVICE", FOFAL_SET_INT, "10", 1, 100000, "PIN sign-in attempts per minute per device (Redis).",
     &conf.rate_pin_device},
    {"FOFAL_API_RATE_PIN_BADGE", FOFAL_SET_INT, "3", 1, 100000, "PIN sign-in attempts per minute per badge (Redis).",
     &conf.rate_pin_badge},
    {"FOFAL_API_PIN_MAX_FAILURES", FOFAL_SET_INT, "5", 1, 100,
     "Wrong PINs in a row before the badge locks (1 minute, doubling per further failure up to 64).", &conf.pin_max_failures},
    {"FOFAL_API_PIN_FAILURE_DECAY_S", FOFAL_SET_INT, "86400", 1, 31536000,
     "A wrong PIN this long after the badge's last one counts as the first again (the count toward the lock decays).",
     &conf.pin_failure_decay_s},
    {"FOFAL_API_MFA_MAX_FAILURES", FOFAL_SET_INT, "10", 1, 1000,
     "Wrong MFA codes since the last success before the account's MFA step locks (15 minutes, doubling per further lock "
     "up to a day).",
     &conf.mfa_max_failures},
    {"FOFAL_API_CORS_ORIGINS", FOFAL_SET_STR, "", 0, 0,
     "Origins allowed by CORS, comma-separated (e.g. https://app.example), * for any; empty = none.", &conf.cors_origins},
    {"FOFAL_HTTP_REDIRECT", FOFAL_SET_BOOL, "0", 0, 1,
     "Redirect plain HTTP to HTTPS (308) when FOFAL_HTTPS_PORT is set, also for clients on this host (others always are).",
     &conf.http_redirect},
    {"FOFAL_HTTP_INSECURE", FOFAL_SET_BOOL, "0", 0, 1,
     "Serve plain HTTP to clients not on this host (a TLS proxy in front that is not in FOFAL_API_TRUSTED_PROXIES); "
     "without it they get 308 to HTTPS or 403 https_required.",
     &conf.http_insecure},
    {"FOFAL_API_TRUSTED_PROXIES", FOFAL_SET_STR, "", 0, 0,
     "Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For / Forwarded and X-Forwarded-Proto name "
     "the client and its scheme (rate limits, logs, the plain-HTTP rule); empty: none.",
     &conf.trusted_proxies},
    {"FOFAL_API_REVOCATION_STALE_S", FOFAL_SET_INT, "5", 1, 3600,
     "Session tokens are refused (503) while the revoked sessions could not be read from Redis for this long.",
     &conf.revocation_stale_s},
    {"FOFAL_PD_MASTER_KEY", FOFAL_SET_STR, NULL, 0, 0,
     "64 hex characters: the key that wraps the per-person keys of personal data (events/crypto.c).",
     &conf.pd_master_key},
    {"FOFAL_API_ACCESS_LOG", FOFAL_SET_BOOL, "1", 0, 1, "One structured access line per request (no query string, no token).",
     &conf.access_log},
};
#define NSET (sizeof settings / sizeof settings[0])

/* ------------------------------------------------------ loop messages */

typedef struct {
  h2o_multithread_message_t super;
  void (*fn)(fofal_api_t *api, void *arg);
  void *arg;
} post_t;

static fofal_api_t *the_api;

void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  post_t *m = fofal_calloc(1, sizeof *m);
  m->fn = fn;
  m->arg = arg;
  h2o_multithread_send_message(&api->receiver, &m->super);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages) {
  (void)receiver;
  while (!h2o_linklist_is_empty(messages)) {
    post_t *m = H2O_STRUCT_FROM_MEMBER(post_t, super.link, messages->next);
    h2o_linklist_unlink(&m->super.link);
    m->fn(the_api, m->arg);
    free(m);
  }
}

/* ------------------------------------------------------------ routing */

static int path_is(h2o_req_t *req, const char *p) { return h2o_memis(req->path_normalized.base, req->path_normalized.len, p, strlen(p)); }

static int method_is(h2o_req_t *req, const char *m) { return h2o_memis(req->method.base, req->method.len, m, strlen(m)); }

static int path_under(h2o_req_t *req, const char *prefix) {
  size_t n = strlen(prefix);
  return req->path_normalized.len > n && !memcmp(req->path_normalized.base, prefix, n);
}

/* The resources that only read: another method is 405 with Allow (RFC 9110 §15.5.6). */
static int read_only(h2o_req_t *req, int get) {
  if (get) return 1;
  fofal__add_header(req, "Allow", "GET, HEAD");
  fofal__send_problem(req, 405, "method_not_allowed", "this resource is read with GET", NULL);
  return 0;
}

static int on_request(h2o_handler_t *self, h2o_req_t *req) {
  static const char cmds[] = "/api/v1/commands";
  if (fofal__transport_pre(API_OF(self), req)) return 0;
  int get = method_is(req, "GET") || method_is(req, "HEAD");
  if (path_is(req, "/healthz")) return read_only(req, get) ? fofal__on_healthz(self, req) : 0;
  if (path_is(req, "/readyz")) return read_only(req, get) ? fofal__on_readyz(self, req) : 0;
  if (path_is(req, "/metrics")) return read_only(req, get) ? fofal__on_metrics(self, req) : 0;
  if (path_is(req, "/api/v1/openapi.json")) return read_only(req, get) ? fofal__on_openapi(self, req) : 0;
  if (path_is(req, "/api/v1/asyncapi.json")) return read_only(req, get) ? fofal__on_asyncapi(self, req) : 0;
  if (path_is(req, "/api/docs") || path_under(req, "/api/docs")) return read_only(req, get) ? fofal__on_docs(self, req) : 0;
  if (path_is(req, "/console") || path_is(req, "/console/") || path_under(req, "/console/"))
    return read_only(req, get) ? fofal__on_console(self, req) : 0;
  if (path_is(req, cmds)) return fofal__on_command_batch(self, req);
  if (req->path_normalized.len > sizeof cmds && !memcmp(req->path_normalized.base, cmds, sizeof cmds - 1) &&
      req->path_normalized.base[sizeof cmds - 1] == '/') {
    if (get) return fofal__on_command_status(self, req);
    return fofal__on_command(self, req);
  }
  const fofal_api_module_t *mod = fofal__api_module_of(req); /* /api/v1/<module>/… */
  if (mod && mod->on_read) return mod->on_read(self, req);
  if (path_under(req, "/api/v1/audit/")) return fofal__on_audit_read(self, req);
  if (path_is(req, "/api/v1/stream")) return fofal__on_stream(self, req);
  if (path_under(req, "/api/v1/auth/")) return fofal__on_auth(self, req);
  fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
  return 0;
}

/* ------------------------------------------------------------ sockets */


static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err) return;
  h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
  if (!sock) return;
  h2o_accept(listener->data, sock);
}

static int listen_on(fofal_api_t *api, const char *addr, int port, h2o_accept_ctx_t *actx, char *errbuf, size_t errlen) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_HTTP_LISTEN=%s is not an IPv4 address", addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
  if (fd < 0) return fofal_err(errbuf, errlen, FOFAL_EIO, "socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 1024)) {
    int e = errno;
    close(fd);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot listen on %s:%d: %s", addr, port, strerror(e));
  }
  h2o_socket_t *sock = h2o_evloop_socket_create(api->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  sock->data = actx;
  h2o_socket_read_start(sock, on_accept);
  return 0;
}

static SSL_CTX *tls_context(const char *cert, const char *key, char *errbuf, size_t errlen) {
  SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
  SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1 || SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1) {
    char e[256];
    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    SSL_CTX_free(ssl);
    fofal_err(errbuf, errlen, FOFAL_ECONFIG, "TLS certificate %s / key: %s", cert, e);
    return NULL;
  }
  h2o_ssl_register_alpn_protocols(ssl, h2o_http2_alpn_protocols);
  return ssl;
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 1;
  int early = fofal_process_start("fofal-api", settings, NSET, argc, argv,
                                  "Usage: fofal-api [--config FILE] [--option=value ...]\n\n"
                                  "The FOFAL HTTP API: commands in, queries out (HTTP/1.1, h2c, TLS with ALPN h2).",
                                  &conf.log_level);
  if (early >= 0) return early;
  fofal_api_t *api = fofal_calloc(1, sizeof *api);
  the_api = api;
  api->conf = conf;
  if (fofal__auth_configure(&conf, err, sizeof err) || fofal__transport_configure(&conf, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  if (conf.dev_tokens)
    LOG_WARN("FOFAL_API_DEV_TOKENS=1: tokens without a session (fofal token) are accepted; never on a live deployment");
  if (fofal_topics_require(conf.brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  if (fofal_registry_load(&api->registry, conf.schemas, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  api->openapi = fofal__openapi_build(api->registry);
  if (fofal__asyncapi_load(api->registry, conf.schemas, conf.brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: AsyncAPI document: %s", err);
    goto out;
  }
  if (fofal__docs_load(conf.swagger_dir, err, sizeof err))
    LOG_WARN("Swagger UI not served (/api/docs/ answers 503): %s; run ops/setup or set FOFAL_SWAGGER_UI_DIR", err);
  if (fofal__console_load(conf.console_dir, err, sizeof err))
    LOG_WARN("console not served (/console/ answers 503): %s; run ./ops/build or set FOFAL_CONSOLE_DIR", err);

  h2o_config_init(&api->config);
  /* The largest body h2o reads: an upload's cap (POST /api/v1/files/upload); every other
   * route refuses a body over its own, smaller cap (fofal__read_json). */
  api->config.max_request_entity_size =
      (size_t)conf.files_max_bytes > FOFAL_API_MAX_BODY ? (size_t)conf.files_max_bytes : FOFAL_API_MAX_BODY;
  h2o_hostconf_t *host = h2o_config_register_host(&api->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  fofal__problem_filter_register(&host->fallback_path);
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
  fofal_handler_t *h = (fofal_handler_t *)h2o_create_handler(pc, sizeof *h);
  h->super.on_req = on_request;
  h->api = api;

  h2o_context_init(&api->ctx, h2o_evloop_create(), &api->config);
  api->queue = h2o_multithread_create_queue(api->ctx.loop);
  h2o_multithread_register_receiver(api->queue, &api->receiver, on_messages);

  if (fofal__api_modules_configure(&api->conf, err, sizeof err) ||
      fofal__health_start(api, err, sizeof err) || fofal__commands_api_start(api, err, sizeof err) ||
      fofal__pool_start(api, err, sizeof err) || fofal__reads_start(api, err, sizeof err) ||
      fofal__stream_start(api, err, sizeof err) || fofal__accounts_start(api, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  fofal__api_modules_start(api);
  api->accept_plain = (h2o_accept_ctx_t){.ctx = &api->ctx, .hosts = api->config.hosts};
  if (listen_on(api, conf.listen, (int)conf.http_port, &api->accept_plain, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  if (conf.https_port && *conf.tls_cert) {
    SSL_CTX *ssl = tls_context(conf.tls_cert, conf.tls_key, err, sizeof err);
    api->accept_tls = (h2o_accept_ctx_t){.ctx = &api->ctx, .hosts = api->config.hosts, .ssl_ctx = ssl};
    if (!ssl || listen_on(api, conf.listen, (int)conf.https_port, &api->accept_tls, err, sizeof err)) {
      LOG_ERROR("cannot start: %s", err);
      goto out;
    }
  }
  LOG_INFO("listening on http://%s:%lld (HTTP/1.1, h2c)%s", conf.listen, conf.http_port,
           conf.https_port && *conf.tls_cert ? " and TLS (ALPN h2)" : "");
  while (!fofal_stopped(&fofal_stop)) h2o_evloop_run(api->ctx.loop, 100);
  LOG_INFO("stopping");
  rc = 0;
out:
  if (api->queue) fofal__api_modules_stop(api);
  fofal__stream_stop(api);
  fofal__pool_stop(api);
  fofal__accounts_stop(api); /* after the workers: their jobs use it */
  fofal__commands_api_stop(api);
  fofal__health_stop(api);
  if (api->queue) {
    /* The loop does not run again: the parts above freed the timers it would visit, and
     * what a late message would touch. Every helper thread has stopped, so nothing posts
     * any more: messages that arrived after the last turn of the loop are dropped (what
     * they carry dies with the process), since h2o refuses to unregister a receiver that
     * still holds messages. */
    while (!h2o_linklist_is_empty(&api->receiver._messages)) {
      post_t *m = H2O_STRUCT_FROM_MEMBER(post_t, super.link, api->receiver._messages.next);
      h2o_linklist_unlink(&m->super.link);
      free(m);
    }
    h2o_multithread_unregister_receiver(api->queue, &api->receiver);
    h2o_multithread_destroy_queue(api->queue);
  }
  fofal__reads_stop(api);
  fofal__auth_cache_free();
  fofal__transport_free();
  fofal_registry_free(api->registry);
  free(api->openapi);
  fofal__asyncapi_free();
  fofal__docs_free();
  fofal__console_free();
  fofal_settings_free(settings, NSET);
  free(api);
  return rc;
}
