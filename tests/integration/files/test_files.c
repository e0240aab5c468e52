/*
 * test_files.c — file storage through the API against the real stack (decider,
 * projector, API), in a tenant of its own: a JPEG, a PNG and a PDF uploaded as evidence of
 * a non-conformity, listed as its attachments and downloaded byte for byte; a thumbnail
 * that decodes; a 20 MB body (413 before it is read whole), an executable named .jpg
 * (415), a path-like name (422), an unknown target (422), a weaver (403): each a
 * problem+json; the same bytes of another tenant are 404 for this one.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jpeglib.h>
#include <netinet/in.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filestore.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32], other[32];
static char *inspector, *weaver, *inspector_b;

static void setup(void) {
  h_tenant(tenant);
  h_tenant(other);
  inspector = h_token(tenant, "quality");
  weaver = h_token(tenant, "weaver");
  inspector_b = h_token(other, "quality");
  port = h_free_port();
  /* As test_quality.c: on a busy machine a process started right after `fofal topics
   * create` may find its topics missing and exit; start it again. */
  for (int round = 0; round < 30; round++) {
    if (dec <= 0) dec = h_start_decider("it-files");
    if (proj <= 0) proj = h_start_projector("it-files");
    sleep(2);
    int died = 0, status;
    pid_t *pids[] = {&dec, &proj};
    for (int i = 0; i < 2; i++)
      if (waitpid(*pids[i], &status, WNOHANG) == *pids[i]) {
        *pids[i] = 0;
        died = 1;
      }
    if (!died) break;
  }
  api = h_start_api(port);
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(inspector);
  free(weaver);
  free(inspector_b);
}

TestSuite(files, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

typedef struct {
  int status;
  char *head, *body;
  size_t len;
} resp_t;

/* One HTTP/1.1 request with a binary body of `len` bytes (only `send_len` of them sent:
 * a client that stops early) and its answer. */
static void http(const char *method, const char *path, const char *token, const char *ctype, const void *body, size_t len,
                 size_t send_len, resp_t *r) {
  memset(r, 0, sizeof *r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  char head[6000];
  int hl = snprintf(head, sizeof head,
                    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n%s%s%s"
                    "Content-Length: %zu\r\n\r\n",
                    method, path, token, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", len);
  cr_assert_eq(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
  size_t off = 0;
  while (off < send_len) {
    ssize_t n = send(fd, (const char *)body + off, send_len - off, MSG_NOSIGNAL);
    if (n <= 0) break; /* the server answered and closed */
    off += (size_t)n;
  }
  size_t cap = 1 << 16, got = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (got + 4096 > cap) buf = realloc(buf, cap *= 2);
    ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  char *sep = strstr(buf, "\r\n\r\n");
  cr_assert(sep && !strncmp(buf, "HTTP/1.", 7), "no answer to %s %s", method, path);
  r->status = atoi(buf + 9);
  *sep = '\0';
  r->head = buf;
  r->body = sep + 4;
  r->len = got - (size_t)(sep + 4 - buf);
}

static json_t *upload(const char *token, const char *query, const char *ctype, const void *body, size_t len, int want,
                      const char *code) {
  char path[600];
  snprintf(path, sizeof path, "/api/v1/files/upload?%s", query);
  resp_t r;
  http("POST", path, token, ctype, body, len, len, &r);
  json_t *j = json_loads(r.body, 0, NULL);
  cr_expect_eq(r.status, want, "upload %s: %d %s", query, r.status, r.body);
  if (code) {
    cr_expect(strstr(r.head, "application/problem+json"), "a problem: %s", r.head);
    cr_expect_str_eq(s_of(j, "code"), code, "%s", s_of(j, "detail"));
  }
  free(r.head);
  return j;
}

static unsigned char *make_jpeg(int w, int h, unsigned long *len) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  unsigned char *mem = NULL;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &mem, len);
  c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h, c.input_components = 3, c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_start_compress(&c, TRUE);
  unsigned char *row = malloc((size_t)w * 3);
  while (c.next_scanline < c.image_height) {
    for (int x = 0; x < w; x++) row[3 * x] = (unsigned char)x, row[3 * x + 1] = 40, row[3 * x + 2] = (unsigned char)c.next_scanline;
    jpeg_write_scanlines(&c, &row, 1);
  }
  free(row);
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return mem;
}

static unsigned char *make_png(int w, int h, size_t *len) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION, im.width = (png_uint_32)w, im.height = (png_uint_32)h, im.format = PNG_FORMAT_RGB;
  unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
  for (size_t i = 0; i < PNG_IMAGE_SIZE(im); i++) px[i] = (unsigned char)(i * 7);
  png_alloc_size_t pl = 0;
  png_image_write_to_memory(&im, NULL, &pl, 0, px, 0, NULL);
  unsigned char *p = malloc(pl);
  png_image_write_to_memory(&im, p, &pl, 0, px, 0, NULL);
  free(px);
  *len = pl;
  return p;
}

Test(files, upload_list_download_thumbnail_and_refusals) {
  char b[512], q[600], nc[FOFAL_UUID_LEN + 1], missing[FOFAL_UUID_LEN + 1], path[300];
  fofal_uuid7(nc);
  fofal_uuid7(missing);
  snprintf(b, sizeof b, "{\"nc_id\":\"%s\",\"title\":\"oil stain on roll\",\"source\":\"manual\"}", nc);
  json_t *r = NULL;
  cr_assert_eq(h_command_ok(port, inspector, "quality.nc.open", "f-nc", NULL, b, &r), 201, "%s", s_of(r, "detail"));
  json_decref(r);

  unsigned long jl = 0;
  unsigned char *jpeg = make_jpeg(800, 600, &jl);
  size_t pl = 0;
  unsigned char *png = make_png(64, 48, &pl);
  static const char pdf[] = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

  /* accepted: a JPEG, a PNG, a PDF */
  snprintf(q, sizeof q, "kind=nc&id=%s&name=stain%%201.jpg", nc);
  json_t *jj = upload(inspector, q, "image/jpeg", jpeg, jl, 201, NULL);
  char sha[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(jpeg, jl, sha);
  cr_expect_str_eq(s_of(jj, "sha256"), sha, "the content address");
  cr_expect_eq(json_integer_value(json_object_get(jj, "size")), (json_int_t)jl);
  cr_expect_str_eq(s_of(jj, "type"), "image/jpeg");
  cr_expect(fofal_uuid_valid(s_of(jj, "id")));
  char pos[160];
  snprintf(pos, sizeof pos, "%s", s_of(jj, "position"));
  json_decref(jj);
  snprintf(q, sizeof q, "kind=nc&id=%s", nc);
  json_decref(upload(inspector, q, "image/png", png, pl, 201, NULL));
  json_t *jp = upload(inspector, q, "application/pdf", pdf, sizeof pdf - 1, 201, NULL);
  snprintf(pos, sizeof pos, "%s", s_of(jp, "position"));
  json_decref(jp);
  /* the same bytes again for the same NC: stored once, the same answer */
  json_t *again = upload(inspector, q, "image/png", png, pl, 201, NULL);
  char png_sha[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(png, pl, png_sha);
  cr_expect_str_eq(s_of(again, "sha256"), png_sha);
  json_decref(again);

  /* refused, each with a clear problem */
  size_t big = 20u * 1000 * 1000;
  char *huge = calloc(1, big);
  memcpy(huge, jpeg, 64);
  resp_t rr;
  snprintf(path, sizeof path, "/api/v1/files/upload?kind=nc&id=%s", nc);
  http("POST", path, inspector, "image/jpeg", huge, big, 256 * 1024, &rr); /* sends 256 KiB of 20 MB */
  cr_expect_eq(rr.status, 413, "20 MB: %d %s", rr.status, rr.body);
  cr_expect(strstr(rr.head, "application/problem+json"), "%s", rr.head);
  cr_expect(strstr(rr.body, "body_too_large"), "%s", rr.body);
  free(rr.head);
  free(huge);
  static const unsigned char elf[] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3E, 0};
  snprintf(q, sizeof q, "kind=nc&id=%s&name=photo.jpg", nc);
  json_decref(upload(inspector, q, "image/jpeg", elf, sizeof elf, 415, "type_mismatch"));
  json_decref(upload(inspector, q, "application/octet-stream", elf, sizeof elf, 415, "unsupported_media_type"));
  snprintf(q, sizeof q, "kind=nc&id=%s&name=..%%2F..%%2Fetc%%2Fpasswd", nc);
  json_decref(upload(inspector, q, "image/jpeg", jpeg, jl, 422, "unsafe_name"));
  snprintf(q, sizeof q, "kind=nc&id=%s", missing);
  json_decref(upload(inspector, q, "image/jpeg", jpeg, jl, 422, "unknown_target"));
  snprintf(q, sizeof q, "kind=nc&id=%s", nc);
  json_decref(upload(weaver, q, "image/jpeg", jpeg, jl, 403, "forbidden"));
  json_decref(upload(inspector, "kind=../x&id=1", "image/jpeg", jpeg, jl, 400, "invalid_kind"));

  /* the NC's attachments */
  snprintf(path, sizeof path, "/api/v1/files/attachments/nc/%s?position=%s", nc, pos);
  json_t *list = NULL;
  cr_assert_eq(h_get(port, inspector, path, &list, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(list, "items")), 3, "a JPEG, a PNG and a PDF");
  json_decref(list);
  cr_expect_eq(h_get(port, weaver, path, &list, NULL), 403);
  json_decref(list);
  cr_expect_eq(h_get(port, inspector, "/api/v1/files/attachments/roll/x", &list, NULL), 404);
  json_decref(list);

  /* download: the same bytes and type; a thumbnail that decodes */
  snprintf(path, sizeof path, "/api/v1/files/%s", sha);
  http("GET", path, inspector, NULL, NULL, 0, 0, &rr);
  cr_expect_eq(rr.status, 200);
  cr_expect(strstr(rr.head, "image/jpeg"), "%s", rr.head);
  cr_expect_eq(rr.len, (size_t)jl);
  cr_expect_eq(memcmp(rr.body, jpeg, jl), 0, "byte for byte");
  free(rr.head);
  snprintf(path, sizeof path, "/api/v1/files/%s?thumb=1", sha);
  http("GET", path, inspector, NULL, NULL, 0, 0, &rr);
  cr_expect_eq(rr.status, 200);
  struct jpeg_decompress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_decompress(&c);
  jpeg_mem_src(&c, (unsigned char *)rr.body, (unsigned long)rr.len);
  cr_assert_eq(jpeg_read_header(&c, TRUE), JPEG_HEADER_OK, "the thumbnail is a JPEG");
  cr_expect_eq(c.image_width, 256);
  cr_expect_eq(c.image_height, 192);
  jpeg_destroy_decompress(&c);
  free(rr.head);
  /* a weaver reads no NC's files */
  snprintf(path, sizeof path, "/api/v1/files/%s", sha);
  cr_expect_eq(h_get(port, weaver, path, &list, NULL), 403);
  json_decref(list);

  /* another tenant: the same bytes stored there do not open this tenant's file, and this
   * tenant's file is 404 to it */
  char nc_b[FOFAL_UUID_LEN + 1];
  fofal_uuid7(nc_b);
  cr_expect_eq(h_get(port, inspector_b, path, &list, NULL), 404, "another tenant's file");
  json_decref(list);
  snprintf(b, sizeof b, "{\"nc_id\":\"%s\",\"title\":\"b\",\"source\":\"manual\"}", nc_b);
  cr_assert_eq(h_command_ok(port, inspector_b, "quality.nc.open", "f-nc-b", NULL, b, &r), 201);
  json_decref(r);
  snprintf(q, sizeof q, "kind=nc&id=%s", nc_b);
  json_t *jb = upload(inspector_b, q, "image/jpeg", jpeg, jl, 201, NULL);
  cr_expect_str_eq(s_of(jb, "sha256"), sha);
  json_decref(jb);
  snprintf(q, sizeof q, "kind=nc&id=%s", nc); /* B may not attach to A's NC */
  json_decref(upload(inspector_b, q, "image/png", png, pl, 422, "unknown_target"));
  /* the command cannot be sent by hand */
  snprintf(b, sizeof b,
           "{\"file_id\":\"%s\",\"sha256\":\"%s\",\"size\":1,\"type\":\"image/jpeg\",\"kind\":\"nc\",\"target\":\"%s\"}",
           missing, sha, nc);
  cr_expect_eq(h_command(port, inspector, "files.file.store", "f-by-hand", NULL, b, &r), 422);
  cr_expect_str_eq(s_of(r, "code"), "auth_route_only");
  json_decref(r);
  free(jpeg);
  free(png);
}

/* A photo of a person is sealed with their key: readable until they are erased, then 410
 * (crypto-shredding: the stored bytes never held the clear photo). */
Test(files, personal_photo_shredded_with_the_person) {
  char b[512], q[600], nc[FOFAL_UUID_LEN + 1], path[300];
  char *admin = h_token(tenant, "admin");
  json_t *r = NULL;
  cr_assert_eq(h_command_ok(port, admin, "hr.employee.register", "f-emp", NULL,
                            "{\"badge\":\"C-77\",\"name\":\"Samia Ben Salah\",\"job\":\"cutter\"}", &r),
               201, "%s", s_of(r, "detail"));
  json_decref(r);
  fofal_uuid7(nc);
  snprintf(b, sizeof b, "{\"nc_id\":\"%s\",\"title\":\"cutter without gloves\",\"source\":\"manual\"}", nc);
  cr_assert_eq(h_command_ok(port, inspector, "quality.nc.open", "f-nc-p", NULL, b, &r), 201);
  json_decref(r);
  size_t pl = 0;
  unsigned char *photo = make_png(40, 30, &pl);
  snprintf(q, sizeof q, "kind=nc&id=%s&person=C-99", nc);
  json_decref(upload(inspector, q, "image/png", photo, pl, 422, "unknown_person"));
  snprintf(q, sizeof q, "kind=nc&id=%s&person=C-77", nc);
  json_t *up = upload(inspector, q, "image/png", photo, pl, 201, NULL);
  char clear[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(photo, pl, clear);
  cr_expect_str_eq(s_of(up, "content_sha256"), clear);
  cr_expect_str_neq(s_of(up, "sha256"), clear, "named by its sealed bytes");
  snprintf(path, sizeof path, "/api/v1/files/%s?position=%s", s_of(up, "sha256"), s_of(up, "position"));
  /* on disk: sealed, no clear byte of the photo */
  char disk[1024];
  cr_assert_eq(fofal_filestore_disk_path(h_env("FOFAL_FILES_DIR"), tenant, s_of(up, "sha256"), disk, sizeof disk), 0);
  FILE *f = fopen(disk, "rb");
  cr_assert(f, "%s", disk);
  unsigned char head[8];
  cr_expect_eq(fread(head, 1, 8, f), 8);
  fclose(f);
  cr_expect(memcmp(head, "\x89PNG", 4), "the stored bytes are sealed, not a PNG");
  json_decref(up);
  resp_t rr;
  http("GET", path, inspector, NULL, NULL, 0, 0, &rr);
  cr_expect_eq(rr.status, 200, "%s", rr.body);
  cr_expect(rr.len == pl && !memcmp(rr.body, photo, pl), "opened with the person's key");
  free(rr.head);
  cr_assert_eq(h_command_ok(port, admin, "hr.employee.erase", "f-erase", NULL,
                            "{\"badge\":\"C-77\",\"reason\":\"employee_request\"}", &r),
               201, "%s", s_of(r, "detail"));
  json_decref(r);
  http("GET", path, inspector, NULL, NULL, 0, 0, &rr);
  cr_expect_eq(rr.status, 410, "after erasure: %d %s", rr.status, rr.body);
  cr_expect(strstr(rr.body, "\"erased\""), "%s", rr.body);
  free(rr.head);
  json_decref(upload(inspector, q, "image/png", photo, pl, 422, NULL)); /* no new photo of an erased person */
  free(photo);
  free(admin);
}
