/*
 * console.c — the screens (api/console/, React) at /console/: the built files, from memory.
 *
 * The console is built by CMake (api/console/CMakeLists.txt runs Vite) into the build
 * tree; FOFAL_CONSOLE_DIR names that folder. At start every regular file under it (at
 * most MAX_FILES, MAX_TOTAL bytes together, MAX_DEPTH folders deep; symbolic links are
 * not followed) is read into memory and served from there, so a request never touches
 * the disk and no path of a request ever becomes a path on disk.
 *
 *   /console, /console/            index.html
 *   /console/<file>                that file; what is under /console/assets/ (names carry a content
 *                                  hash) are cached for a year, everything else no-cache
 *                                  (index.html, sw.js and the manifest must be re-checked)
 *   /console/<route>               index.html when the last segment has no dot (a client
 *                                  route such as /console/floor/weaver, so a reload works)
 *   anything else                  404 problem+json
 *
 * Every answer here replaces transport.c's Content-Security-Policy with the console's,
 * as docs.c does for Swagger UI: scripts and styles from this origin only (no inline
 * script or style element), fetch and WebSocket to this origin ('self' covers ws:/wss:
 * of the same host), images also as data: and blob: URIs (the TOTP QR code is an SVG
 * data URI; label QR codes are fetched with the token and shown as blob URLs), the
 * camera's stream, the service worker and the manifest from this origin; no plugins, no
 * <base>, no form posts, no framing. transport.c's other headers stay.
 *
 * Without a build (FOFAL_CONSOLE_DIR missing or empty) fofal-api still starts (main.c
 * warns) and /console/ answers 503 console_missing saying what to run.
 *
 * Loop thread for requests; fofal__console_load and fofal__console_free run before and
 * after the loop.
 */
#include "api.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONSOLE_CSP                                                                                              \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "   \
  "font-src 'self'; media-src 'self' blob:; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "        \
  "form-action 'none'; object-src 'none'; frame-ancestors 'none'"
#define MAX_FILES 256
#define MAX_TOTAL (64u << 20) /* bytes of all files together */
#define MAX_FILE (16u << 20)
#define MAX_DEPTH 4
#define MAX_NAME 200          /* bytes of a path below the folder */

typedef struct {
  char name[MAX_NAME + 1]; /* below the folder, e.g. "assets/index-1a2b.js" */
  const char *type;
  char *body; /* owned */
  size_t len;
} cfile_t;

static cfile_t files[MAX_FILES];
static size_t nfiles, total;
static const cfile_t *index_html;

static const char *mime_of(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  if (dot)
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (!strcmp(dot, types[i].ext)) return types[i].type;
  return NULL; /* not served: an unknown kind of file */
}

/* Adds every regular file under dir/rel (rel "" at the top). 0, or a FOFAL_E* with errbuf. */
static int load_dir(const char *dir, const char *rel, int depth, char *errbuf, size_t errlen) {
  char path[4096];
  int rc = 0;
  if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel) >= sizeof path)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_CONSOLE_DIR is too long");
  DIR *d = opendir(path);
  if (!d) return fofal_err(errbuf, errlen, FOFAL_ENOENT, "cannot open %s: %s", path, strerror(errno));
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* ., .. and hidden files */
    char sub[MAX_NAME + 2], full[4096 + MAX_NAME + 2];
    if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) > MAX_NAME) continue;
    snprintf(full, sizeof full, "%s/%s", dir, sub);
    struct stat st;
    if (lstat(full, &st)) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth < MAX_DEPTH) rc = load_dir(dir, sub, depth + 1, errbuf, errlen);
      continue;
    }
    const char *type = mime_of(e->d_name);
    if (!S_ISREG(st.st_mode) || !type) continue;
    if (nfiles == MAX_FILES) {
      rc = fofal_err(errbuf, errlen, FOFAL_EIO, "more than %d files under %s", MAX_FILES, dir);
      break;
    }
    cfile_t *f = &files[nfiles];
    rc = fofal__file_read(full, MAX_FILE, &f->body, &f->len, errbuf, errlen);
    if (rc) break;
    snprintf(f->name, sizeof f->name, "%s", sub);
    f->type = type;
    nfiles++;
    total += f->len;
    if (total > MAX_TOTAL) rc = fofal_err(errbuf, errlen, FOFAL_EIO, "the files under %s are over %u bytes", dir, MAX_TOTAL);
  }
  closedir(d);
  return rc;
}

int fofal__console_load(const char *dir, char *errbuf, size_t errlen) {
  fofal__console_free();
  int rc = load_dir(dir, "", 0, errbuf, errlen);
  for (size_t i = 0; !rc && i < nfiles; i++)
    if (!strcmp(files[i].name, "index.html")) index_html = &files[i];
  if (!rc && !index_html) rc = fofal_err(errbuf, errlen, FOFAL_ENOENT, "no index.html in %s (is the console built?)", dir);
  if (rc) fofal__console_free();
  return rc;
}

void fofal__console_free(void) {
  for (size_t i = 0; i < nfiles; i++) {
    free(files[i].body);
    files[i].body = NULL;
  }
  nfiles = total = 0;
  index_html = NULL;
}

int fofal__on_console(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  static const char prefix[] = "/console/";
  h2o_iovec_t p = req->path_normalized;
  h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
                        H2O_STRLIT(CONSOLE_CSP), 1);
  if (!index_html) {
    fofal__send_problem(req, 503, "console_missing",
                        "the console is not built on this server: run ./ops/build (it builds api/console/ with npm; "
                        "ops/setup installs its packages), or set FOFAL_CONSOLE_DIR to a built console",
                        NULL);
    return 0;
  }
  if (p.len <= sizeof prefix - 1) { /* /console or /console/ */
    fofal__send_static(req, index_html->type, index_html->body, index_html->len, "no-cache");
    return 0;
  }
  const char *rest = p.base + sizeof prefix - 1;
  size_t rlen = p.len - (sizeof prefix - 1);
  for (size_t i = 0; i < nfiles; i++)
    if (h2o_memis(rest, rlen, files[i].name, strlen(files[i].name))) {
      int hashed = rlen > 7 && !memcmp(rest, "assets/", 7);
      fofal__send_static(req, files[i].type, files[i].body, files[i].len,
                         hashed ? "public, max-age=31536000, immutable" : "no-cache");
      return 0;
    }
  /* A client route: its last segment names no file. */
  const char *last = rest + rlen;
  while (last > rest && last[-1] != '/') last--;
  if (!memchr(last, '.', (size_t)(rest + rlen - last)) && !(rlen >= 7 && !memcmp(rest, "assets/", 7))) {
    fofal__send_static(req, index_html->type, index_html->body, index_html->len, "no-cache");
    return 0;
  }
  fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
  return 0;
}
