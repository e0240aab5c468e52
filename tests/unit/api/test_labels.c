/*
 * test_labels.c — api/labels.c: QR payloads, the QR code as SVG and PNG, the ZPL label.
 *
 * The PNG is decoded again with libpng and compared pixel by pixel with the module matrix
 * libqrencode gives for the same text, and, when zbarimg is on PATH, read back as a QR
 * code (short and ~200-byte payloads). The SVG's runs are parsed back into a matrix and
 * compared the same way. The ZPL is checked for its frame, its QR field, escaping that
 * leaves no ^ or ~ of the data, cut and omitted fields. Every bad input is FOFAL_EINVAL.
 */
#include <criterion/criterion.h>
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "labels.h"

#define UUID "0190f5a4-6c2e-7b3d-9f10-2a4b6c8d0e1f"

/* The reference: libqrencode called directly, as labels.c must (level M, 8-bit). */
static QRcode *reference(const char *text) {
  QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
  cr_assert_not_null(qr, "libqrencode could not encode the reference");
  return qr;
}

static int ref_dark(const QRcode *qr, int x, int y) { return qr->data[y * qr->width + x] & 1; }

/* A text of exactly n bytes, varied so that it is not a single repeated byte. */
static char *text_of(size_t n) {
  char *s = fofal_malloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = (char)('!' + (i * 7) % 90);
  s[n] = '\0';
  return s;
}

/* ------------------------------------------------------------------- PNG */

typedef struct {
  const unsigned char *p;
  size_t len, off;
} reader_t;

static void read_cb(png_structp png, png_bytep data, size_t n) {
  reader_t *r = png_get_io_ptr(png);
  if (r->off + n > r->len) png_error(png, "read past the end of the PNG");
  memcpy(data, r->p + r->off, n);
  r->off += n;
}

typedef struct {
  png_uint_32 w, h;
  int depth, color, interlace;
  unsigned char *pix; /* w × h bytes, 0 or 255 */
} image_t;

/* Decodes with libpng: the header as written, then the pixels expanded to 8 bits. */
static void decode_png(const unsigned char *buf, size_t len, image_t *img) {
  memset(img, 0, sizeof *img);
  cr_assert_geq(len, 8);
  cr_assert_eq(png_sig_cmp(buf, 0, 8), 0, "bad PNG signature");
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  reader_t r = {buf, len, 0};
  unsigned char *volatile pix = NULL;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(pix);
    cr_assert_fail("libpng could not decode the PNG");
  }
  png_set_read_fn(png, &r, read_cb);
  png_read_info(png, info);
  png_get_IHDR(png, info, &img->w, &img->h, &img->depth, &img->color, &img->interlace, NULL, NULL);
  png_set_expand_gray_1_2_4_to_8(png);
  png_read_update_info(png, info);
  cr_assert_eq(png_get_rowbytes(png, info), img->w, "rows do not expand to one byte per pixel");
  pix = fofal_malloc((size_t)img->w * img->h);
  for (png_uint_32 y = 0; y < img->h; y++) png_read_row(png, pix + (size_t)y * img->w, NULL);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  img->pix = pix;
}

static void check_png(const char *text, int px, int margin) {
  unsigned char *buf = NULL;
  size_t len = 0;
  cr_assert_eq(fofal_label_qr_png(text, px, margin, &buf, &len), 0, "png px=%d margin=%d", px, margin);
  cr_assert_not_null(buf);
  image_t img;
  decode_png(buf, len, &img);
  QRcode *qr = reference(text);
  png_uint_32 side = (png_uint_32)((qr->width + 2 * margin) * px);
  cr_assert_eq(img.w, side, "IHDR width %u, expected (%d + 2*%d) * %d", img.w, qr->width, margin, px);
  cr_assert_eq(img.h, side);
  cr_assert_eq(img.depth, 1, "bit depth %d", img.depth);
  cr_assert_eq(img.color, PNG_COLOR_TYPE_GRAY);
  cr_assert_eq(img.interlace, PNG_INTERLACE_NONE);
  for (png_uint_32 y = 0; y < side; y++) {
    for (png_uint_32 x = 0; x < side; x++) {
      int mx = (int)x / px - margin, my = (int)y / px - margin;
      int want_dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width && ref_dark(qr, mx, my);
      unsigned char v = img.pix[(size_t)y * side + x];
      cr_assert_eq(v, want_dark ? 0 : 255, "pixel (%u,%u) is %u, module (%d,%d) %s", x, y, v, mx, my,
                   want_dark ? "dark" : "light");
    }
  }
  QRcode_free(qr);
  free(img.pix);
  free(buf);
}

Test(labels, png_header_and_every_pixel_match_the_qr_matrix) {
  check_png("FOFAL:L:demo:" UUID, 1, 0);
  check_png("FOFAL:L:demo:" UUID, 3, 4);
  check_png("https://erp.example.tn/l/demo/" UUID, 8, 2);
  char *big = text_of(FOFAL_LABEL_TEXT_MAX);
  check_png(big, 2, 16);
  free(big);
}

static int on_path(const char *prog) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char *copy = fofal_strdup(path), *save = NULL;
  int found = 0;
  for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
    char *full = fofal_asprintf("%s/%s", dir, prog);
    found = access(full, X_OK) == 0;
    free(full);
  }
  free(copy);
  return found;
}

/* Writes the PNG of text to a temporary file and returns what zbarimg reads from it. */
static char *zbar_read(const char *text, int px, int margin) {
  unsigned char *buf = NULL;
  size_t len = 0;
  cr_assert_eq(fofal_label_qr_png(text, px, margin, &buf, &len), 0);
  char path[] = "/tmp/fofal-label-XXXXXX.png";
  int fd = mkstemps(path, 4);
  cr_assert_geq(fd, 0, "mkstemps");
  FILE *f = fdopen(fd, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(buf, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
  free(buf);

  char *cmd = fofal_asprintf("zbarimg --raw -q '%s' 2>/dev/null", path);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char *got = fofal_malloc(4096);
  size_t n = fread(got, 1, 4095, p);
  got[n] = '\0';
  int status = pclose(p);
  unlink(path);
  free(cmd);
  cr_assert_eq(status, 0, "zbarimg exit status %d, output \"%s\"", status, got);
  if (n && got[n - 1] == '\n') got[n - 1] = '\0'; /* zbarimg ends each symbol with a newline */
  return got;
}

Test(labels, png_reads_back_as_the_same_text_with_zbarimg) {
  if (!on_path("zbarimg")) cr_skip_test("zbarimg is not on PATH");
  const char *short_text = "FOFAL:L:demo:" UUID;
  char *got = zbar_read(short_text, 4, 4);
  cr_assert_str_eq(got, short_text);
  free(got);

  /* ~200 bytes: a URL with a query, mixed case, digits and punctuation (version ~10). */
  const char *long_text =
      "https://erp.fofal.example.tn/l/mill-ksar-hellal/" UUID
      "?article=FOUTA-NID-ABEILLE-100x200&order=PO-2026-00417&loom=L03&weaver=Amel%20Ben%20Salah"
      "&shift=B&qty=120pcs&woven=2026-11-24T08:15Z&v=1";
  cr_assert_geq(strlen(long_text), 190);
  cr_assert_leq(strlen(long_text), 230);
  got = zbar_read(long_text, 3, 4);
  cr_assert_str_eq(got, long_text);
  free(got);
}

/* ------------------------------------------------------------------- SVG */

Test(labels, svg_frame_viewbox_and_modules_match_the_qr_matrix) {
  const char *text = "https://erp.example.tn/l/demo/" UUID;
  const int px = 5, margin = 3;
  char *svg = NULL;
  size_t len = 0;
  cr_assert_eq(fofal_label_qr_svg(text, px, margin, &svg, &len), 0);
  cr_assert_eq(len, strlen(svg));
  cr_assert_eq(strncmp(svg, "<svg", 4), 0, "starts with %.20s", svg);
  cr_assert_not_null(strstr(svg, "</svg>"));
  cr_assert_not_null(strstr(svg, "shape-rendering=\"crispEdges\""));

  QRcode *qr = reference(text);
  int n = qr->width + 2 * margin;
  char want[128];
  snprintf(want, sizeof want, "viewBox=\"0 0 %d %d\"", n, n);
  cr_assert_not_null(strstr(svg, want), "no %s in %.200s", want, svg);
  snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", n * px, n * px);
  cr_assert_not_null(strstr(svg, want), "no %s", want);

  /* Exactly one path; its runs rebuilt into a matrix equal the reference. */
  const char *d = strstr(svg, " d=\"");
  cr_assert_not_null(d);
  cr_assert_null(strstr(d + 1, "<path"), "more than one <path>");
  d += 4;
  unsigned char *grid = fofal_calloc((size_t)n * n, 1);
  long dark_svg = 0;
  while (*d == 'M') {
    int x, y, run, run2, used = 0;
    cr_assert_eq(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used), 4, "bad run at %.30s", d);
    cr_assert_gt(used, 0);
    cr_assert_eq(run, run2);
    cr_assert(x >= margin && y >= margin && run > 0 && x + run <= n - margin && y < n - margin,
              "run outside the symbol: %d %d %d", x, y, run);
    for (int i = 0; i < run; i++) {
      cr_assert_eq(grid[y * n + x + i], 0, "module (%d,%d) drawn twice", x + i, y);
      grid[y * n + x + i] = 1;
    }
    dark_svg += run;
    d += used;
  }
  cr_assert_eq(*d, '"', "unexpected path data at %.30s", d);

  long dark_ref = 0;
  for (int y = 0; y < qr->width; y++)
    for (int x = 0; x < qr->width; x++) {
      dark_ref += ref_dark(qr, x, y);
      cr_assert_eq(grid[(y + margin) * n + x + margin], ref_dark(qr, x, y), "module (%d,%d)", x, y);
    }
  cr_assert_eq(dark_svg, dark_ref, "dark modules: svg %ld, libqrencode %ld", dark_svg, dark_ref);
  free(grid);
  QRcode_free(qr);
  free(svg);
}

Test(labels, svg_of_different_texts_differ_in_size) {
  char *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  char *big = text_of(300);
  cr_assert_eq(fofal_label_qr_svg("x", 1, 0, &a, &la), 0);
  cr_assert_eq(fofal_label_qr_svg(big, 1, 0, &b, &lb), 0);
  cr_assert_not_null(strstr(a, "viewBox=\"0 0 21 21\""), "one byte is a version 1 symbol (21 modules)");
  cr_assert_null(strstr(b, "viewBox=\"0 0 21 21\""));
  cr_assert_gt(lb, la);
  free(big);
  free(a);
  free(b);
}

/* ------------------------------------------------------------------- ZPL */

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *zpl(const fofal_label_t *label) {
  char *out = NULL;
  size_t len = 0;
  cr_assert_eq(fofal_label_zpl(label, &out, &len), 0);
  cr_assert_not_null(out);
  cr_assert_eq(len, strlen(out));
  return out;
}

Test(labels, zpl_frame_qr_and_every_line) {
  char payload[128];
  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, payload, sizeof payload), 0);
  fofal_label_t l = {.qr = payload,
                     .article = "FOUTA-NID-ABEILLE-100x200",
                     .order = "PO-2026-00417",
                     .loom = "L03",
                     .weaver = "Amel Ben Salah",
                     .shift = "B",
                     .quantity = "120 pcs",
                     .woven_at = "2026-11-24 08:15",
                     .label_id = UUID};
  char *z = zpl(&l);
  cr_assert_eq(strncmp(z, "^XA", 3), 0);
  cr_assert(ends_with(z, "^XZ"), "ends with %s", z + strlen(z) - 5);
  cr_assert_eq(count(z, "^XA"), 1);
  cr_assert_eq(count(z, "^XZ"), 1);
  cr_assert_not_null(strstr(z, "^BQN,2,"));
  char want[200];
  snprintf(want, sizeof want, "^FDQA,%s^FS", payload);
  cr_assert_not_null(strstr(z, want), "no %s in\n%s", want, z);
  const char *values[] = {l.article, l.order, l.loom, l.weaver, l.shift, l.quantity, l.woven_at, l.label_id};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    snprintf(want, sizeof want, "%s^FS", values[i]);
    cr_assert_not_null(strstr(z, want), "line %zu (%s) missing", i, values[i]);
  }
  cr_assert_eq(count(z, "^FO"), 9, "the QR code and eight lines");
  /* The magnification fits the QR code in the 2-inch height. */
  int mag = 0;
  cr_assert_eq(sscanf(strstr(z, "^BQN,2,"), "^BQN,2,%d", &mag), 1);
  cr_assert(mag >= 1 && mag <= 10, "mag %d", mag);
  free(z);
}

Test(labels, zpl_data_cannot_inject_commands) {
  const char *evil = "^XZ^XA~JR";
  fofal_label_t l = {.qr = "FOFAL:L:demo:" UUID "^XZ~JR_", .article = evil, .weaver = evil,
                     .loom = "L\n0\r3\x1b", .shift = "a_b", .order = "caf\xc3\xa9"};
  char *z = zpl(&l);
  cr_assert_eq(count(z, "^XZ"), 1, "a ^XZ of the data survived:\n%s", z);
  cr_assert(ends_with(z, "^XZ"));
  cr_assert_eq(count(z, "^XA"), 1);
  cr_assert_null(strchr(z, '~'), "a ~ of the data survived:\n%s", z);
  cr_assert_eq(count(z, "_5EXZ_5EXA_7EJR^FS"), 2, "article and weaver, hex-escaped");
  cr_assert_not_null(strstr(z, "QA,FOFAL:L:demo:" UUID "_5EXZ_7EJR_5F^FS"));
  cr_assert_not_null(strstr(z, "Loom: L03^FS"), "control characters are dropped");
  cr_assert_not_null(strstr(z, "Shift: a_5Fb^FS"), "the ^FH indicator itself is escaped");
  cr_assert_not_null(strstr(z, "Order: caf_C3_A9^FS"), "UTF-8 is hex-escaped byte by byte");
  /* Every data field is hex-decoded by ^FH, and the output is printable ASCII. */
  cr_assert_eq(count(z, "^FH_^FD"), count(z, "^FD"));
  for (const unsigned char *p = (const unsigned char *)z; *p; p++)
    cr_assert((*p >= 0x20 && *p < 0x7f) || *p == '\n', "byte 0x%02x in the ZPL", *p);
  free(z);
}

Test(labels, zpl_long_fields_are_cut_and_missing_ones_omitted) {
  char long_ascii[101], long_utf8[2 * 70 + 1], want[512];
  memset(long_ascii, 'x', 100);
  long_ascii[100] = '\0';
  for (int i = 0; i < 70; i++) memcpy(long_utf8 + 2 * i, "\xc3\xa9", 2); /* é */
  long_utf8[140] = '\0';
  fofal_label_t l = {.qr = "FOFAL:L:demo:" UUID, .article = long_ascii, .weaver = long_utf8, .order = ""};
  char *z = zpl(&l);
  snprintf(want, sizeof want, "Article: %.*s^FS", FOFAL_LABEL_FIELD_MAX, long_ascii);
  cr_assert_not_null(strstr(z, want), "article not cut to %d characters:\n%s", FOFAL_LABEL_FIELD_MAX, z);
  cr_assert_eq(count(z, "x"), FOFAL_LABEL_FIELD_MAX);
  /* 64 characters of two bytes each: 64 whole "é", never half of one. */
  cr_assert_eq(count(z, "_C3_A9"), FOFAL_LABEL_FIELD_MAX);
  cr_assert_eq(count(z, "_C3"), FOFAL_LABEL_FIELD_MAX);
  cr_assert_not_null(strstr(z, "_C3_A9^FS"));
  /* NULL and "" fields have no line at all. */
  cr_assert_eq(count(z, "^FO"), 3, "the QR code, article and weaver:\n%s", z);
  cr_assert_null(strstr(z, "Order:"));
  cr_assert_null(strstr(z, "Loom:"));
  cr_assert_null(strstr(z, "Qty:"));
  free(z);

  fofal_label_t only_qr = {.qr = "FOFAL:L:demo:" UUID};
  z = zpl(&only_qr);
  cr_assert_eq(count(z, "^FO"), 1);
  cr_assert(ends_with(z, "^XZ"));
  free(z);
}

Test(labels, zpl_bad_input) {
  char *out = (char *)"untouched";
  size_t len = 99;
  char *big = text_of(FOFAL_LABEL_TEXT_MAX + 1);
  fofal_label_t none = {0}, empty = {.qr = ""}, ctl = {.qr = "FOFAL:L:demo:\n"}, huge = {.qr = big};
  cr_assert_eq(fofal_label_zpl(NULL, &out, &len), FOFAL_EINVAL);
  cr_assert_null(out);
  cr_assert_eq(len, 0);
  cr_assert_eq(fofal_label_zpl(&none, &out, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_zpl(&empty, &out, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_zpl(&ctl, &out, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_zpl(&huge, &out, &len), FOFAL_EINVAL);
  cr_assert_null(out);
  fofal_label_t ok = {.qr = "x"};
  cr_assert_eq(fofal_label_zpl(&ok, NULL, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_zpl(&ok, &out, NULL), FOFAL_EINVAL);
  big[FOFAL_LABEL_TEXT_MAX] = '\0'; /* exactly at the cap: accepted */
  char *z = zpl(&huge);
  free(z);
  free(big);
}

/* --------------------------------------------------------------- payload */

Test(labels, payload_forms) {
  char out[512];
  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, out, sizeof out), 0);
  cr_assert_str_eq(out, "FOFAL:L:demo:" UUID);
  cr_assert_eq(fofal_label_qr_payload("", "mill_2-b", UUID, out, sizeof out), 0);
  cr_assert_str_eq(out, "FOFAL:L:mill_2-b:" UUID);
  cr_assert_eq(fofal_label_qr_payload("https://erp.example.tn", "demo", UUID, out, sizeof out), 0);
  cr_assert_str_eq(out, "https://erp.example.tn/l/demo/" UUID);
  cr_assert_eq(fofal_label_qr_payload("http://10.0.0.5:8080/app/", "demo", UUID, out, sizeof out), 0);
  cr_assert_str_eq(out, "http://10.0.0.5:8080/app/l/demo/" UUID, "one trailing / is dropped");

  char tenant63[64];
  memset(tenant63, 'a', 63);
  tenant63[63] = '\0';
  cr_assert_eq(fofal_label_qr_payload(NULL, tenant63, UUID, out, sizeof out), 0);
  cr_assert_eq(strlen(out), strlen("FOFAL:L::") + 63 + 36);

  /* The buffer must hold the text and its NUL; one byte less is ETOOBIG, out "". */
  size_t need = strlen("FOFAL:L:demo:" UUID) + 1;
  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, out, need), 0);
  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, out, need - 1), FOFAL_ETOOBIG);
  cr_assert_str_eq(out, "");
}

Test(labels, payload_rejects_bad_ids_tenants_and_urls) {
  char out[512];
  const char *bad_ids[] = {
      NULL,
      "",
      "0190F5A4-6C2E-7B3D-9F10-2A4B6C8D0E1F",   /* upper case is not canonical */
      "0190f5a4-6c2e-7b3d-9f10-2a4b6c8d0e1",    /* short */
      "0190f5a4-6c2e-7b3d-9f10-2a4b6c8d0e1f0",  /* long */
      "0190f5a46c2e7b3d9f102a4b6c8d0e1f",       /* no dashes */
      "0190f5a4-6c2e-7b3d-9f10_2a4b6c8d0e1f",   /* dash misplaced */
      "0190f5a4-6c2e-7b3d-9f10-2a4b6c8d0e1g",   /* not hex */
      "{0190f5a4-6c2e-7b3d-9f10-2a4b6c8d0e1}",
  };
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
    cr_assert_eq(fofal_label_qr_payload(NULL, "demo", bad_ids[i], out, sizeof out), FOFAL_EINVAL, "id %s",
                 bad_ids[i] ? bad_ids[i] : "NULL");

  char tenant64[65];
  memset(tenant64, 'a', 64);
  tenant64[64] = '\0';
  const char *bad_tenants[] = {NULL, "", "Demo", "de mo", "a/b", "a:b", "a.b", "démo", "^XA", tenant64};
  for (size_t i = 0; i < sizeof bad_tenants / sizeof bad_tenants[0]; i++)
    cr_assert_eq(fofal_label_qr_payload(NULL, bad_tenants[i], UUID, out, sizeof out), FOFAL_EINVAL,
                 "tenant %s", bad_tenants[i] ? bad_tenants[i] : "NULL");

  char url_long[FOFAL_LABEL_BASE_URL_MAX + 2];
  memcpy(url_long, "https://", 8);
  memset(url_long + 8, 'a', sizeof url_long - 9);
  url_long[sizeof url_long - 1] = '\0';
  const char *bad_urls[] = {"ftp://x",       "erp.example.tn", "https://",        "https:///",
                            "https://a b",   "https://a^XA",   "https://a~JR",     "https://a\n",
                            "https://a\"><", "https://\xc3\xa9", url_long};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
    cr_assert_eq(fofal_label_qr_payload(bad_urls[i], "demo", UUID, out, sizeof out), FOFAL_EINVAL, "url %s",
                 bad_urls[i]);

  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, NULL, 10), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_qr_payload(NULL, "demo", UUID, out, 0), FOFAL_EINVAL);
}

/* ------------------------------------------------------------ bad input */

Test(labels, qr_bad_input_is_einval_and_leaves_nothing) {
  char *over = text_of(FOFAL_LABEL_TEXT_MAX + 1);
  const struct {
    const char *text;
    int px, margin;
  } bad[] = {
      {NULL, 4, 4},   {"", 4, 4},  {over, 4, 4}, {"x", 0, 4},  {"x", 33, 4},
      {"x", -1, 4},   {"x", 4, -1}, {"x", 4, 17}, {"x", 1 << 30, 0},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *svg = (char *)"untouched";
    unsigned char *png = (unsigned char *)"untouched";
    size_t len = 99;
    cr_assert_eq(fofal_label_qr_svg(bad[i].text, bad[i].px, bad[i].margin, &svg, &len), FOFAL_EINVAL, "svg %zu", i);
    cr_assert_null(svg);
    cr_assert_eq(len, 0);
    len = 99;
    cr_assert_eq(fofal_label_qr_png(bad[i].text, bad[i].px, bad[i].margin, &png, &len), FOFAL_EINVAL, "png %zu", i);
    cr_assert_null(png);
    cr_assert_eq(len, 0);
  }
  size_t len;
  char *svg;
  unsigned char *png;
  cr_assert_eq(fofal_label_qr_svg("x", 4, 4, NULL, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_qr_svg("x", 4, 4, &svg, NULL), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_qr_png("x", 4, 4, NULL, &len), FOFAL_EINVAL);
  cr_assert_eq(fofal_label_qr_png("x", 4, 4, &png, NULL), FOFAL_EINVAL);

  /* The caps themselves are accepted: 512 bytes, 32 px, margin 16. */
  over[FOFAL_LABEL_TEXT_MAX] = '\0';
  cr_assert_eq(fofal_label_qr_svg(over, 32, 16, &svg, &len), 0);
  free(svg);
  cr_assert_eq(fofal_label_qr_png(over, 1, 16, &png, &len), 0);
  free(png);
  cr_assert_eq(fofal_label_qr_png("x", 32, 0, &png, &len), 0);
  free(png);
  free(over);
}
