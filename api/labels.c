/*
 * labels.c — woven-piece labels (labels.h): QR payloads, the QR code as SVG and PNG, and
 * the ZPL II label for the Zebra printers. The one file that calls libqrencode and libpng.
 *
 * Format choices. The QR code is libqrencode's, error correction M, 8-bit mode (the text
 * is taken byte for byte, nothing is upper-cased or re-split), version chosen by size.
 * The SVG draws each horizontal run of dark modules as one "M x yhnv1h-nz" sub-path of a
 * single <path> in module units, on a white <rect> so that the quiet zone stays white on
 * a dark phone screen. The PNG is 1-bit grayscale, the smallest PNG libpng writes, built
 * in memory through png_set_write_fn. The ZPL puts every piece of data behind ^FH with
 * '_' hex escapes, so nothing a user typed can end a field or start a command.
 *
 * Caps (labels.h): text 1..512 bytes, module_px 1..32, margin 0..16, ZPL text fields 64
 * characters. The largest image is then (177 + 32) × 32 = 6,688 pixels square, about
 * 5.6 MB of 1-bit rows streamed one at a time, and the largest SVG a few hundred KB.
 *
 * Any thread; no state but the call's own. A libpng error longjmps back to write_png(),
 * which frees everything and returns FOFAL_EIO; libpng's messages are not printed
 * (library code does not log). Allocation goes through fofal_malloc & co (abort on OOM).
 */
#include "labels.h"

#include "events.h"

#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ growing buffer */

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    b->p = fofal_realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  /* Every caller formats a few numbers and short literals: never near 256 bytes. */
  if (n > 0) buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ----------------------------------------------------------------- QR codes */

static int check_qr_args(const char *text, int module_px, int margin) {
  if (!text) return FOFAL_EINVAL;
  size_t n = strnlen(text, FOFAL_LABEL_TEXT_MAX + 1);
  if (n == 0 || n > FOFAL_LABEL_TEXT_MAX) return FOFAL_EINVAL;
  if (module_px < 1 || module_px > FOFAL_LABEL_MODULE_PX_MAX) return FOFAL_EINVAL;
  if (margin < 0 || margin > FOFAL_LABEL_MARGIN_MAX) return FOFAL_EINVAL;
  return 0;
}

/* 8-bit mode at `level`, smallest version. libqrencode's data bit 0 of each module is
 * "dark". Returns 0 with a new *qr (QRcode_free), or FOFAL_EIO. */
static int encode(const char *text, QRecLevel level, QRcode **qr) {
  *qr = QRcode_encodeString8bit(text, 0, level);
  /* ≤ 512 bytes always fit (version 40-M holds 2,331): a failure is the library's. */
  return *qr ? 0 : FOFAL_EIO;
}

static int dark(const QRcode *qr, int x, int y) { return qr->data[y * qr->width + x] & 1; }

int fofal_label_qr_svg(const char *text, int module_px, int margin_modules, char **out, size_t *outlen) {
  QRcode *qr = NULL;
  buf_t b = {0};
  int rc = FOFAL_EINVAL;
  if (!out || !outlen) return FOFAL_EINVAL;
  *out = NULL;
  *outlen = 0;
  if ((rc = check_qr_args(text, module_px, margin_modules)) < 0) goto out;
  if ((rc = encode(text, QR_ECLEVEL_M, &qr)) < 0) goto out;

  int n = qr->width + 2 * margin_modules, px = n * module_px;
  buf_printf(&b,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\">",
             px, px, n, n);
  buf_printf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", n, n);
  for (int y = 0; y < qr->width; y++) {
    for (int x = 0; x < qr->width;) {
      if (!dark(qr, x, y)) {
        x++;
        continue;
      }
      int run = 1;
      while (x + run < qr->width && dark(qr, x + run, y)) run++;
      buf_printf(&b, "M%d %dh%dv1h-%dz", x + margin_modules, y + margin_modules, run, run);
      x += run;
    }
  }
  buf_printf(&b, "\"/></svg>\n");
  *out = b.p;
  *outlen = b.len;
  b.p = NULL;
  rc = 0;
out:
  free(b.p);
  QRcode_free(qr);
  return rc;
}

static void png_write_cb(png_structp png, png_bytep data, size_t len) {
  buf_add(png_get_io_ptr(png), data, len);
}

static void png_flush_cb(png_structp png) { (void)png; }

static void png_error_cb(png_structp png, png_const_charp msg) {
  (void)msg;
  png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* Appends the PNG of qr to *b. What the error path reads after libpng's longjmp is
 * volatile (an optimising compiler could otherwise keep it in a clobbered register). */
static int write_png(const QRcode *qr, int module_px, int margin, buf_t *b) {
  png_structp png = NULL;
  png_infop info = NULL;
  unsigned char *volatile row = NULL, *volatile mods = NULL;
  volatile int rc = FOFAL_EIO;
  int n = qr->width + 2 * margin, px = n * module_px;
  size_t rowbytes = ((size_t)px + 7) / 8;

  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_cb, png_warning_cb);
  if (!png) goto out;
  info = png_create_info_struct(png);
  if (!info) goto out;
  row = fofal_malloc(rowbytes);
  mods = fofal_malloc((size_t)n);
  if (setjmp(png_jmpbuf(png))) goto out;

  png_set_write_fn(png, b, png_write_cb, png_flush_cb);
  png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int my = 0; my < n; my++) {
    /* One module row → one pixel row (bit set = white), written module_px times. */
    int qy = my - margin;
    for (int mx = 0; mx < n; mx++) {
      int qx = mx - margin;
      mods[mx] = qy >= 0 && qy < qr->width && qx >= 0 && qx < qr->width && dark(qr, qx, qy);
    }
    memset(row, 0xff, rowbytes);
    for (int x = 0; x < px; x++)
      if (mods[x / module_px]) row[x / 8] &= (unsigned char)~(0x80u >> (x % 8));
    for (int r = 0; r < module_px; r++) png_write_row(png, row);
  }
  png_write_end(png, NULL);
  rc = 0;
out:
  png_destroy_write_struct(&png, &info);
  free(row);
  free(mods);
  return rc;
}

int fofal_label_qr_png(const char *text, int module_px, int margin_modules, unsigned char **out,
                       size_t *outlen) {
  QRcode *qr = NULL;
  buf_t b = {0};
  int rc;
  if (!out || !outlen) return FOFAL_EINVAL;
  *out = NULL;
  *outlen = 0;
  if ((rc = check_qr_args(text, module_px, margin_modules)) < 0) goto out;
  if ((rc = encode(text, QR_ECLEVEL_M, &qr)) < 0) goto out;
  if ((rc = write_png(qr, module_px, margin_modules, &b)) < 0) goto out;
  *out = (unsigned char *)b.p;
  *outlen = b.len;
  b.p = NULL;
out:
  free(b.p);
  QRcode_free(qr);
  return rc;
}

/* ---------------------------------------------------------------- payload */

static int tenant_valid(const char *s) {
  size_t n = strnlen(s, FOFAL_LABEL_TENANT_MAX + 1);
  if (n == 0 || n > FOFAL_LABEL_TENANT_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
  }
  return 1;
}

static int label_id_valid(const char *s) {
  if (!fofal_uuid_valid(s)) return 0;
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'F') return 0;
  return 1;
}

/* Length of the base URL without one trailing '/', or FOFAL_EINVAL if it is not acceptable. */
static int base_url_len(const char *s) {
  size_t n = strnlen(s, FOFAL_LABEL_BASE_URL_MAX + 1);
  if (n > FOFAL_LABEL_BASE_URL_MAX) return FOFAL_EINVAL;
  size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
  if (!scheme) return FOFAL_EINVAL;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}~", c)) return FOFAL_EINVAL;
  }
  if (s[n - 1] == '/') n--;
  if (n <= scheme) return FOFAL_EINVAL; /* no host */
  return (int)n;
}

int fofal_label_qr_payload(const char *base_url, const char *tenant, const char *label_id, char *out,
                           size_t outlen) {
  if (!out || outlen == 0) return FOFAL_EINVAL;
  out[0] = '\0';
  if (!tenant || !label_id || !tenant_valid(tenant) || !label_id_valid(label_id)) return FOFAL_EINVAL;
  int n;
  if (!base_url || !*base_url) {
    n = snprintf(out, outlen, "FOFAL:L:%s:%s", tenant, label_id);
  } else {
    int blen = base_url_len(base_url);
    if (blen < 0) return FOFAL_EINVAL;
    n = snprintf(out, outlen, "%.*s/l/%s/%s", blen, base_url, tenant, label_id);
  }
  if (n < 0 || (size_t)n >= outlen) {
    out[0] = '\0';
    return FOFAL_ETOOBIG;
  }
  return 0;
}

/* -------------------------------------------------------------------- ZPL */

/* Label geometry in dots (203 dpi): 4 × 2 inch. The QR code gets the left square, the
 * text the column right of it. */
#define ZPL_W 812
#define ZPL_H 406
#define ZPL_PAD 16
#define ZPL_QR_MAX 370            /* largest QR side, dots */
#define ZPL_TEXT_X 400
#define ZPL_LINE_Y0 18
#define ZPL_LINE_STEP 46

/* Appends s as ^FH data: at most max_chars UTF-8 characters (0 = no cap), control
 * characters dropped, ^ ~ _ and every non-ASCII byte as _XX. */
static void zpl_escape(buf_t *b, const char *s, size_t max_chars) {
  size_t chars = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if (c < 0x20 || c == 0x7f) continue;
    if ((c & 0xc0) != 0x80) { /* not a continuation byte: a new character starts */
      if (max_chars && chars == max_chars) break;
      chars++;
    }
    if (c == '^' || c == '~' || c == '_' || c >= 0x80)
      buf_printf(b, "_%02X", c);
    else
      buf_add(b, p, 1);
  }
}

/* Largest ^BQ magnification (1..10) that keeps the QR code within ZPL_QR_MAX dots, from
 * the module count libqrencode needs for the payload at level Q. The printer picks its
 * own version in automatic mode; it is never larger than this 8-bit estimate. */
static int zpl_qr_mag(const char *payload, int *mag) {
  QRcode *qr = NULL;
  int rc = encode(payload, QR_ECLEVEL_Q, &qr);
  if (rc < 0) return rc;
  int m = ZPL_QR_MAX / qr->width;
  *mag = m < 1 ? 1 : m > 10 ? 10 : m;
  QRcode_free(qr);
  return 0;
}

int fofal_label_zpl(const fofal_label_t *label, char **out, size_t *outlen) {
  buf_t b = {0};
  int rc, mag = 1;
  if (!out || !outlen) return FOFAL_EINVAL;
  *out = NULL;
  *outlen = 0;
  if (!label || !label->qr) return FOFAL_EINVAL;
  size_t qn = strnlen(label->qr, FOFAL_LABEL_TEXT_MAX + 1);
  if (qn == 0 || qn > FOFAL_LABEL_TEXT_MAX) return FOFAL_EINVAL;
  for (size_t i = 0; i < qn; i++) {
    unsigned char c = (unsigned char)label->qr[i];
    if (c < 0x20 || c == 0x7f) return FOFAL_EINVAL; /* cutting would change what it names */
  }
  if ((rc = zpl_qr_mag(label->qr, &mag)) < 0) goto out;

  buf_printf(&b, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", ZPL_W, ZPL_H);
  buf_printf(&b, "^FO%d,%d^BQN,2,%d^FH_^FDQA,", ZPL_PAD, ZPL_PAD, mag);
  zpl_escape(&b, label->qr, 0);
  buf_add(&b, "^FS\n", 4);

  const struct {
    const char *caption, *value;
  } lines[] = {
      {"Article: ", label->article}, {"Order: ", label->order},     {"Loom: ", label->loom},
      {"Weaver: ", label->weaver},   {"Shift: ", label->shift},     {"Qty: ", label->quantity},
      {"Woven: ", label->woven_at},  {"", label->label_id},
  };
  int y = ZPL_LINE_Y0;
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    if (!lines[i].value || !*lines[i].value) continue;
    /* The id is 36 characters: a smaller font keeps it on one line of the column. */
    int last = i == sizeof lines / sizeof lines[0] - 1;
    buf_printf(&b, "^FO%d,%d^A0N,%d,%d^FB%d,1,0,L^FH_^FD%s", ZPL_TEXT_X, y, last ? 22 : 30, last ? 16 : 26,
               ZPL_W - ZPL_TEXT_X - ZPL_PAD, lines[i].caption);
    zpl_escape(&b, lines[i].value, FOFAL_LABEL_FIELD_MAX);
    buf_add(&b, "^FS\n", 4);
    y += ZPL_LINE_STEP;
  }
  buf_add(&b, "^XZ", 3);
  *out = b.p;
  *outlen = b.len;
  b.p = NULL;
  rc = 0;
out:
  free(b.p);
  return rc;
}
