/*
 * fuzz_labels.c — the label renderer (api/labels.c) on what users and clients type: the QR
 * payload's parts, the QR code as SVG and PNG, and the ZPL label's fields.
 *
 * Input: byte 0 is the module size (1..32 px, bits 0–4) and bits 5–7 pick what runs
 * besides the ZPL label (bit 5: SVG, bit 6: PNG, bit 7: the QR payload); byte 1 the quiet
 * zone (0..16, modulo 17). The rest is '\n'-separated fields: base URL, tenant, label id
 * (for the payload), then the QR text and the label's eight text fields.
 *
 * Properties: no crash, leak or undefined behaviour; a refusal leaves *out NULL and
 * *outlen 0; a payload is one of the two documented forms; the SVG is one <svg> element
 * (and a newline) of *outlen bytes; the PNG starts with the PNG signature; the ZPL label
 * is printable ASCII (and newlines) of *outlen bytes, starts with ^XA, ends with ^XZ, and
 * holds no ^ or ~ but its own commands — exactly 5 + 5 + 6 per printed field + 1 carets:
 * data cannot inject a command.
 */
#include "fuzz.h"

#include "events.h"
#include "labels.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static size_t count(const char *s, size_t n, char c) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += s[i] == c;
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int module_px = (data[0] & 31) + 1, margin = data[1] % 17;
  int do_svg = data[0] & 32, do_png = data[0] & 64, do_payload = data[0] & 128;
  const uint8_t *p = data + 2;
  size_t n = size - 2;
  char *f[12];
  for (int i = 0; i < 12; i++) f[i] = fuzz_field(&p, &n);

  if (do_payload) {
    char out[FOFAL_LABEL_TEXT_MAX + 1];
    int rc = fofal_label_qr_payload(f[0], f[1], f[2], out, sizeof out);
    FUZZ_CHECK(rc == 0 || rc == FOFAL_EINVAL || rc == FOFAL_ETOOBIG, "qr_payload answered %d", rc);
    if (rc) FUZZ_CHECK(out[0] == '\0', "a refused payload is empty");
    else FUZZ_CHECK(!strncmp(out, "FOFAL:L:", 8) || !strncmp(out, "http://", 7) || !strncmp(out, "https://", 8),
                    "a payload's form: %s", out);
  }
  const char *text = f[3];
  if (do_svg) {
    char *svg = (char *)1;
    size_t len = 1;
    int rc = fofal_label_qr_svg(text, module_px, margin, &svg, &len);
    if (rc) FUZZ_CHECK(!svg && !len, "a refused SVG leaves nothing");
    else FUZZ_CHECK(strlen(svg) == len && !strncmp(svg, "<svg", 4) && strstr(svg, "</svg>") == svg + len - 7,
                    "an SVG of its length");
    free(svg);
  }
  if (do_png) {
    unsigned char *png = (unsigned char *)1;
    size_t len = 1;
    int rc = fofal_label_qr_png(text, module_px, margin, &png, &len);
    if (rc) FUZZ_CHECK(!png && !len, "a refused PNG leaves nothing");
    else FUZZ_CHECK(len > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8), "a PNG");
    free(png);
  }
  fofal_label_t label = {.qr = text,      .article = f[4],  .order = f[5],    .loom = f[6],    .weaver = f[7],
                         .shift = f[8],   .quantity = f[9], .woven_at = f[10], .label_id = f[11]};
  char *zpl = (char *)1;
  size_t len = 1;
  int rc = fofal_label_zpl(&label, &zpl, &len);
  if (rc) {
    FUZZ_CHECK(rc == FOFAL_EINVAL || rc == FOFAL_EIO, "zpl answered %d", rc);
    FUZZ_CHECK(!zpl && !len, "a refused label leaves nothing");
  } else {
    FUZZ_CHECK(strlen(zpl) == len, "a label of its length");
    for (size_t i = 0; i < len; i++)
      FUZZ_CHECK(zpl[i] == '\n' || (zpl[i] >= 0x20 && zpl[i] < 0x7f), "printable ASCII (byte %zu: 0x%02x)", i,
                 (unsigned char)zpl[i]);
    size_t fields = 0;
    for (int i = 4; i < 12; i++) fields += f[i][0] != '\0';
    FUZZ_CHECK(len >= 6 && !strncmp(zpl, "^XA", 3) && !strcmp(zpl + len - 3, "^XZ"), "^XA ... ^XZ");
    FUZZ_CHECK(count(zpl, len, '^') == 5 + 5 + 6 * fields + 1 && count(zpl, len, '~') == 0,
               "only the label's own commands (%zu carets, %zu fields): %s", count(zpl, len, '^'), fields, zpl);
  }
  free(zpl);
  for (int i = 0; i < 12; i++) free(f[i]);
  return 0;
}
