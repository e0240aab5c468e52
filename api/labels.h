/*
 * labels.h — woven-piece labels: the QR payload that names a roll or piece, the QR code as
 * SVG (phones) and PNG (anything else), and a ZPL II label for the shop-floor Zebra
 * printers (4 × 2 inch, 203 dpi).
 *
 * Pure functions over memory: no I/O, no logging, no global state; every function is
 * thread-safe. The only file that calls libqrencode and libpng is labels.c.
 *
 * Errors are the FOFAL_E* codes of events.h: FOFAL_EINVAL for any argument outside the
 * caps below (never a crash), FOFAL_ETOOBIG when a caller's buffer is too small,
 * FOFAL_EIO when libqrencode or libpng fail on valid input. On error *out is NULL and
 * *outlen 0; nothing is left allocated.
 */
#ifndef FOFAL_LABELS_H
#define FOFAL_LABELS_H

#include <stddef.h>

#define FOFAL_LABEL_TEXT_MAX 512      /* bytes of text in one QR code */
#define FOFAL_LABEL_MODULE_PX_MAX 32  /* pixels per QR module: 1..32 */
#define FOFAL_LABEL_MARGIN_MAX 16     /* quiet zone in modules: 0..16 (4 is the standard's) */
#define FOFAL_LABEL_FIELD_MAX 64      /* characters of one ZPL text field; longer is cut */
#define FOFAL_LABEL_BASE_URL_MAX 256  /* bytes of the base URL of a QR payload */
#define FOFAL_LABEL_TENANT_MAX 63     /* bytes of a tenant id: [a-z0-9_-]{1,63} */

/*
 * The text a label's QR code carries, into out (outlen bytes with the NUL):
 *   base_url NULL or ""  →  "FOFAL:L:<tenant>:<label_id>"  (read by the FOFAL app)
 *   otherwise            →  "<base_url>/l/<tenant>/<label_id>" (any phone camera)
 * base_url is http:// or https:// followed by printable ASCII without spaces, quotes,
 * <>\^`{|}~, at most FOFAL_LABEL_BASE_URL_MAX bytes; one trailing '/' is dropped.
 * tenant is [a-z0-9_-]{1,63}; label_id a UUID in canonical lower-case form.
 * 0, FOFAL_EINVAL, or FOFAL_ETOOBIG when out is too small (out is then "").
 */
int fofal_label_qr_payload(const char *base_url, const char *tenant, const char *label_id, char *out,
                           size_t outlen);

/*
 * text (1..FOFAL_LABEL_TEXT_MAX bytes) as a QR code: error correction M, 8-bit mode,
 * the smallest version that holds it; module_px pixels per module (1..32) and a quiet
 * zone of margin_modules (0..16) on each side.
 *
 * SVG: one <path> of horizontal runs of dark modules over a white background, in module
 * units (viewBox "0 0 N N", N = modules + 2 × margin), width and height N × module_px,
 * shape-rendering crispEdges. *out is a new NUL-terminated string (caller frees with
 * free()); *outlen its length without the NUL.
 */
int fofal_label_qr_svg(const char *text, int module_px, int margin_modules, char **out, size_t *outlen);

/*
 * The same QR code as a PNG: 1-bit grayscale (dark = 0), N × module_px pixels square,
 * not interlaced. *out is a new buffer of *outlen bytes (caller frees with free()).
 */
int fofal_label_qr_png(const char *text, int module_px, int margin_modules, unsigned char **out,
                       size_t *outlen);

/*
 * What a printed label shows. Every field is borrowed for the duration of the call;
 * NULL (or "") omits the line. Text is UTF-8; each field is cut to
 * FOFAL_LABEL_FIELD_MAX characters, control characters are dropped.
 */
typedef struct {
  const char *qr;          /* required: the QR payload, e.g. from fofal_label_qr_payload() */
  const char *article;     /* e.g. "FOUTA-NID-ABEILLE-100x200" */
  const char *order;       /* the number of the order it was woven for */
  const char *loom;        /* e.g. "L03" */
  const char *weaver;
  const char *shift;       /* e.g. "B" or "14-22" */
  const char *quantity;    /* pieces or length, with its unit: "120 pcs", "48.5 m" */
  const char *woven_at;    /* date/time as it should read */
  const char *label_id;    /* the label's UUID */
} fofal_label_t;

/*
 * A ZPL II label (^XA … ^XZ) for a 4 × 2 inch label at 203 dpi (812 × 406 dots): the QR
 * code on the left (^BQN, model 2, automatic mode, error correction Q: a woven label gets
 * rubbed), one text line per present field on the right, UTF-8 (^CI28).
 *
 * Data cannot inject commands: every field, the QR payload included, goes through ^FH
 * with '_' hex escapes for ^ ~ _ and every non-ASCII byte, so the output is printable
 * ASCII whose only ^ and ~ are ours. The QR payload is not cut: over
 * FOFAL_LABEL_TEXT_MAX bytes or with a control character it is FOFAL_EINVAL.
 * *out is a new NUL-terminated string (caller frees with free()); *outlen its length.
 */
int fofal_label_zpl(const fofal_label_t *label, char **out, size_t *outlen);

#endif
