/*
 * docs.c — Swagger UI at /api/docs/: its page, its initializer and the package's files.
 *
 * Swagger UI is the npm package swagger-ui-dist (5.x: it reads OpenAPI 3.1), installed by
 * ops/setup from ops/swagger-ui/package-lock.json into FOFAL_SWAGGER_UI_DIR. Only the
 * files the page needs are read, once at start, into memory and served from there: the
 * package's own index.html and swagger-initializer.js are never served. Our initializer
 * (a file, so that no inline script is needed) shows the one document of this server,
 * turns configuration from the query string off (CVE-2021-46708 was a query-config
 * injection) and asks no outside validator.
 *
 * Every answer here replaces transport.c's Content-Security-Policy with a strict one:
 * scripts, styles, fetches and fonts from this origin only, images also as data: URIs
 * (Swagger UI's icons), no inline script, no plugins, no forms, no <base>, no framing.
 * transport.c's other headers (nosniff, X-Frame-Options, Referrer-Policy, HSTS) stay.
 *
 * When the files are missing (ops/setup not run), fofal-api still starts (main.c warns)
 * and /api/docs/ answers 503 swagger_ui_missing saying what to run.
 *
 * Loop thread for requests; fofal__docs_load and fofal__docs_free run before and after
 * the loop.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCS_CSP                                                                                                         \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self' " \
  "data:; manifest-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'"
#define ASSET_MAX (16 << 20) /* bytes a package file may have */

typedef struct {
  const char *name; /* under /api/docs/static/ and in FOFAL_SWAGGER_UI_DIR */
  const char *type;
  char *body;       /* owned; NULL until loaded */
  size_t len;
} asset_t;

static asset_t assets[] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", NULL, 0},
    {"swagger-ui.css", "text/css; charset=utf-8", NULL, 0},
    {"favicon-32x32.png", "image/png", NULL, 0},
};
#define NASSETS (sizeof assets / sizeof assets[0])

static const char page[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>FOFAL API</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<link rel=\"icon\" type=\"image/png\" href=\"/api/docs/static/favicon-32x32.png\">"
    "<link rel=\"stylesheet\" href=\"/api/docs/static/swagger-ui.css\"></head>\n<body><div id=\"ui\"></div>"
    "<script src=\"/api/docs/static/swagger-ui-bundle.js\"></script>"
    "<script src=\"/api/docs/fofal-docs.js\"></script></body></html>\n";

/* Our swagger-initializer.js. */
static const char initializer[] =
    "'use strict';\n"
    "window.addEventListener('load', function () {\n"
    "  window.ui = SwaggerUIBundle({\n"
    "    url: '/api/v1/openapi.json',\n"
    "    dom_id: '#ui',\n"
    "    queryConfigEnabled: false,\n"
    "    validatorUrl: null,\n"
    "    deepLinking: true,\n"
    "    displayOperationId: true,\n"
    "    presets: [SwaggerUIBundle.presets.apis],\n"
    "    layout: 'BaseLayout'\n"
    "  });\n"
    "});\n";

int fofal__file_read(const char *path, size_t max, char **body, size_t *len, char *errbuf, size_t errlen) {
  int rc = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return fofal_err(errbuf, errlen, FOFAL_ENOENT, "cannot open %s: %s", path, strerror(errno));
  char *buf = NULL;
  long n;
  if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (size_t)n > max || fseek(f, 0, SEEK_SET)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot read %s (or it is over %zu bytes)", path, max);
    goto out;
  }
  buf = fofal_malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot read %s", path);
    goto out;
  }
  buf[n] = '\0';
  *body = buf;
  *len = (size_t)n;
  buf = NULL;
out:
  free(buf);
  fclose(f);
  return rc;
}

/* Reads dir/name whole into a new buffer. 0, or a FOFAL_E* with errbuf. */
static int read_asset(const char *dir, asset_t *a, char *errbuf, size_t errlen) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, a->name) >= sizeof path)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_SWAGGER_UI_DIR is too long");
  return fofal__file_read(path, ASSET_MAX, &a->body, &a->len, errbuf, errlen);
}

int fofal__docs_load(const char *dir, char *errbuf, size_t errlen) {
  fofal__docs_free();
  for (size_t i = 0; i < NASSETS; i++) {
    int rc = read_asset(dir, &assets[i], errbuf, errlen);
    if (rc) {
      fofal__docs_free();
      return rc;
    }
  }
  return 0;
}

void fofal__docs_free(void) {
  for (size_t i = 0; i < NASSETS; i++) {
    free(assets[i].body);
    assets[i].body = NULL;
    assets[i].len = 0;
  }
}

void fofal__send_static(h2o_req_t *req, const char *type, const char *body, size_t len, const char *cache) {
  static h2o_generator_t generator = {NULL, NULL};
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache, strlen(cache));
  req->res.content_length = len;
  h2o_start_response(req, &generator);
  h2o_iovec_t buf = h2o_iovec_init(body, len);
  if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
  else
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

int fofal__on_docs(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  static const char statics[] = "/api/docs/static/";
  h2o_iovec_t p = req->path_normalized;
  h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
                        H2O_STRLIT(DOCS_CSP), 1);
  if (!assets[0].body) {
    fofal__send_problem(req, 503, "swagger_ui_missing",
                        "Swagger UI is not installed on this server: run ops/setup, or set FOFAL_SWAGGER_UI_DIR to a "
                        "swagger-ui-dist folder; the document itself is at /api/v1/openapi.json",
                        NULL);
    return 0;
  }
  if (h2o_memis(p.base, p.len, H2O_STRLIT("/api/docs")) || h2o_memis(p.base, p.len, H2O_STRLIT("/api/docs/"))) {
    fofal__send_static(req, "text/html; charset=utf-8", page, sizeof page - 1, "no-cache");
    return 0;
  }
  if (h2o_memis(p.base, p.len, H2O_STRLIT("/api/docs/fofal-docs.js"))) {
    fofal__send_static(req, "text/javascript; charset=utf-8", initializer, sizeof initializer - 1, "no-cache");
    return 0;
  }
  if (p.len > sizeof statics - 1 && !memcmp(p.base, statics, sizeof statics - 1))
    for (size_t i = 0; i < NASSETS; i++)
      if (h2o_memis(p.base + sizeof statics - 1, p.len - (sizeof statics - 1), assets[i].name, strlen(assets[i].name))) {
        fofal__send_static(req, assets[i].type, assets[i].body, assets[i].len, "public, max-age=3600");
        return 0;
      }
  fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
  return 0;
}
