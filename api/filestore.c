/*
 * filestore.c — stored files: type sniffing, names, content addresses, the directory
 * backend of the storage interface, and thumbnails (libjpeg-turbo and libpng). See
 * filestore.h.
 */
#include "filestore.h"

#include "events.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jpeglib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <png.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- checks */

const char *fofal_file_sniff(const void *buf, size_t len) {
  const unsigned char *b = buf;
  /* JPEG: SOI then a marker (FF D8 FF). */
  if (len >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "image/jpeg";
  /* PNG: its 8-byte signature. */
  if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  /* PDF: "%PDF-" at the start (ISO 32000 allows it within the first 1024 bytes; we do not:
   * a polyglot with something else before it is refused). */
  if (len >= 8 && !memcmp(b, "%PDF-", 5)) return "application/pdf";
  return NULL;
}

int fofal_file_ctype(const char *ctype, const char **canon) {
  static const char *const known[] = {"image/jpeg", "image/png", "application/pdf", NULL};
  if (!ctype) return 0;
  while (*ctype == ' ') ctype++;
  size_t n = strcspn(ctype, "; ");
  for (int i = 0; known[i]; i++)
    if (n == strlen(known[i]) && !strncasecmp(ctype, known[i], n)) {
      if (canon) *canon = known[i];
      return 1;
    }
  return 0;
}

/* Length of the UTF-8 sequence at s (valid, shortest form, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *s) {
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) return (s[1] & 0xC0) == 0x80 ? 2 : 0;
  if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xE0 && s[1] < 0xA0) return 0;
    if (s[0] == 0xED && s[1] >= 0xA0) return 0;
    return 3;
  }
  if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xF0 && s[1] < 0x90) return 0;
    if (s[0] == 0xF4 && s[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

int fofal_file_name_ok(const char *name) {
  if (!name) return 0;
  size_t n = strlen(name);
  if (n == 0 || n > FOFAL_FILE_NAME_MAX) return 0;
  if (name[0] == '.' || name[0] == '~' || name[0] == ' ') return 0;
  if (strstr(name, "..")) return 0;
  for (const unsigned char *p = (const unsigned char *)name; *p;) {
    if (*p < 0x20 || *p == 0x7F || *p == '/' || *p == '\\' || *p == ':') return 0;
    size_t l = utf8_len(p);
    if (!l) return 0;
    p += l;
  }
  return 1;
}

void fofal_file_address(const void *buf, size_t len, char out[FOFAL_FILE_SHA_LEN + 1]) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[FOFAL_FILE_SHA_LEN] = '\0';
}

int fofal_file_address_ok(const char *s) {
  if (!s || strlen(s) != FOFAL_FILE_SHA_LEN) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
  return 1;
}

int fofal_file_tenant_ok(const char *s) {
  if (!s) return 0;
  size_t n = strlen(s);
  if (n == 0 || n > 63) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

/* ---------------------------------------------------------- disk backend */

typedef struct {
  fofal_filestore_t super;
  char *dir;
} disk_t;

int fofal_filestore_disk_path(const char *dir, const char *tenant, const char *sha, char *out, size_t outlen) {
  if (!fofal_file_tenant_ok(tenant) || !fofal_file_address_ok(sha)) return FOFAL_EINVAL;
  int n = snprintf(out, outlen, "%s/%s/%.2s/%s", dir, tenant, sha, sha);
  return n < 0 || (size_t)n >= outlen ? FOFAL_EINVAL : 0;
}

static int mkdir_p(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0700) && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static int disk_put(fofal_filestore_t *s, const char *tenant, const char *sha, const void *buf, size_t len, int *created,
                    char *errbuf, size_t errlen) {
  disk_t *d = (disk_t *)s;
  char path[4096], folder[4096], tmp[4200];
  if (created) *created = 0;
  if (fofal_filestore_disk_path(d->dir, tenant, sha, path, sizeof path))
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "not a tenant and content address");
  struct stat st;
  if (!stat(path, &st) && (size_t)st.st_size == len) return 0; /* stored already: deduplicated */
  snprintf(folder, sizeof folder, "%s/%s/%.2s", d->dir, tenant, sha);
  if (mkdir_p(folder)) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot create %s: %s", folder, strerror(errno));
  unsigned char rnd[8];
  char rs[17];
  if (RAND_bytes(rnd, sizeof rnd) != 1) memset(rnd, 0, sizeof rnd); /* O_EXCL still refuses a clash */
  for (int i = 0; i < 8; i++) snprintf(rs + 2 * i, 3, "%02x", rnd[i]);
  snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%s", folder, sha, rs);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot create %s: %s", tmp, strerror(errno));
  const char *p = buf;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) || close(fd)) {
    int e = errno;
    unlink(tmp);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot sync %s: %s", tmp, strerror(e));
  }
  if (rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot rename %s: %s", tmp, strerror(e));
  }
  fsync_dir(folder);
  if (created) *created = 1;
  return 0;
}

static int disk_get(fofal_filestore_t *s, const char *tenant, const char *sha, size_t max, char **out, size_t *outlen,
                    char *errbuf, size_t errlen) {
  disk_t *d = (disk_t *)s;
  char path[4096];
  *out = NULL;
  *outlen = 0;
  if (fofal_filestore_disk_path(d->dir, tenant, sha, path, sizeof path))
    return fofal_err(errbuf, errlen, FOFAL_ENOENT, "no such file");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fofal_err(errbuf, errlen, errno == ENOENT ? FOFAL_ENOENT : FOFAL_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || (size_t)st.st_size > max) {
    close(fd);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "%s: unreadable or larger than %zu bytes", path, max);
  }
  size_t n = (size_t)st.st_size, got = 0;
  char *b = malloc(n ? n : 1);
  if (!b) {
    close(fd);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "out of memory");
  }
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  char check[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(b, got, check);
  if (got != n || strcmp(check, sha)) {
    free(b);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "%s: its bytes no longer match its address", path);
  }
  *out = b;
  *outlen = n;
  return 0;
}

static int disk_has(fofal_filestore_t *s, const char *tenant, const char *sha, size_t *len) {
  disk_t *d = (disk_t *)s;
  char path[4096];
  struct stat st;
  if (fofal_filestore_disk_path(d->dir, tenant, sha, path, sizeof path) || stat(path, &st) || !S_ISREG(st.st_mode)) return 0;
  if (len) *len = (size_t)st.st_size;
  return 1;
}

static int disk_each(fofal_filestore_t *s, void (*fn)(void *opaque, const char *tenant, const char *sha, size_t len),
                     void *opaque, char *errbuf, size_t errlen) {
  disk_t *d = (disk_t *)s;
  DIR *top = opendir(d->dir);
  if (!top) return errno == ENOENT ? 0 : fofal_err(errbuf, errlen, FOFAL_EIO, "%s: %s", d->dir, strerror(errno));
  struct dirent *t;
  while ((t = readdir(top))) {
    if (!fofal_file_tenant_ok(t->d_name)) continue;
    char tdir[4096];
    snprintf(tdir, sizeof tdir, "%s/%s", d->dir, t->d_name);
    DIR *td = opendir(tdir);
    if (!td) continue;
    struct dirent *b;
    while ((b = readdir(td))) {
      if (strlen(b->d_name) != 2 || b->d_name[0] == '.') continue;
      char bdir[4200];
      snprintf(bdir, sizeof bdir, "%s/%s", tdir, b->d_name);
      DIR *bd = opendir(bdir);
      if (!bd) continue;
      struct dirent *f;
      while ((f = readdir(bd))) {
        if (!fofal_file_address_ok(f->d_name) || strncmp(f->d_name, b->d_name, 2)) continue;
        size_t len;
        if (disk_has(s, t->d_name, f->d_name, &len)) fn(opaque, t->d_name, f->d_name, len);
      }
      closedir(bd);
    }
    closedir(td);
  }
  closedir(top);
  return 0;
}

static int disk_remove(fofal_filestore_t *s, const char *tenant, const char *sha, char *errbuf, size_t errlen) {
  disk_t *d = (disk_t *)s;
  char path[4096];
  if (fofal_filestore_disk_path(d->dir, tenant, sha, path, sizeof path)) return 0;
  if (unlink(path) && errno != ENOENT) return fofal_err(errbuf, errlen, FOFAL_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

static void disk_close(fofal_filestore_t *s) {
  disk_t *d = (disk_t *)s;
  free(d->dir);
  free(d);
}

static const fofal_filestore_ops_t disk_ops = {disk_put, disk_get, disk_has, disk_each, disk_remove, disk_close};

int fofal_filestore_disk(const char *dir, fofal_filestore_t **out, char *errbuf, size_t errlen) {
  *out = NULL;
  if (!dir || !*dir) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "no folder for the file store");
  if (strlen(dir) > 3000) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "the file store's path is too long");
  if (mkdir_p(dir)) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot create %s: %s", dir, strerror(errno));
  disk_t *d = calloc(1, sizeof *d);
  if (!d) return fofal_err(errbuf, errlen, FOFAL_EIO, "out of memory");
  d->super.ops = &disk_ops;
  d->dir = strdup(dir);
  *out = &d->super;
  return 0;
}

/* -------------------------------------------------------- personal files */

#define SEAL_MAGIC "FOFALPF1"

static void seal_ad(const char *tenant, const char *person, const char *sha, unsigned char *ad, size_t *adlen) {
  int n = snprintf((char *)ad, 256, "%s\n%s\n%s", tenant, person, sha);
  *adlen = n < 0 ? 0 : (size_t)n;
}

int fofal_file_seal(const unsigned char key[32], const char *tenant, const char *person, const void *buf, size_t len,
                    unsigned char **out, size_t *outlen) {
  char sha[FOFAL_FILE_SHA_LEN + 1];
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], ad[256];
  size_t adlen;
  *out = NULL;
  *outlen = 0;
  if (sodium_init() < 0) return FOFAL_EIO;
  fofal_file_address(buf, len, sha);
  crypto_generichash(nonce, sizeof nonce, (const unsigned char *)sha, FOFAL_FILE_SHA_LEN, key, 32);
  seal_ad(tenant, person, sha, ad, &adlen);
  size_t n = FOFAL_FILE_SEAL_OVERHEAD + len;
  unsigned char *o = malloc(n);
  if (!o) return FOFAL_EIO;
  memcpy(o, SEAL_MAGIC, 8);
  memcpy(o + 8, nonce, sizeof nonce);
  memcpy(o + 32, sha, FOFAL_FILE_SHA_LEN);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + 96, &clen, buf, len, ad, adlen, NULL, nonce, key);
  *out = o;
  *outlen = 96 + (size_t)clen;
  return 0;
}

int fofal_file_open(const unsigned char key[32], const char *tenant, const char *person, const void *buf, size_t len,
                    unsigned char **out, size_t *outlen, char clear_sha[FOFAL_FILE_SHA_LEN + 1]) {
  const unsigned char *b = buf;
  unsigned char ad[256];
  size_t adlen;
  *out = NULL;
  *outlen = 0;
  if (sodium_init() < 0) return FOFAL_EIO;
  if (len < FOFAL_FILE_SEAL_OVERHEAD || memcmp(b, SEAL_MAGIC, 8)) return FOFAL_EPARSE;
  memcpy(clear_sha, b + 32, FOFAL_FILE_SHA_LEN);
  clear_sha[FOFAL_FILE_SHA_LEN] = '\0';
  if (!fofal_file_address_ok(clear_sha)) return FOFAL_EPARSE;
  seal_ad(tenant, person, clear_sha, ad, &adlen);
  unsigned char *o = malloc(len - 96 + 1);
  unsigned long long mlen = 0;
  if (!o) return FOFAL_EIO;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(o, &mlen, NULL, b + 96, len - 96, ad, adlen, b + 8, key)) {
    free(o);
    return FOFAL_EPARSE;
  }
  char check[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(o, (size_t)mlen, check);
  if (strcmp(check, clear_sha)) {
    free(o);
    return FOFAL_EPARSE;
  }
  *out = o;
  *outlen = (size_t)mlen;
  return 0;
}

/* ------------------------------------------------------------ thumbnails */

typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr_t;

static void jpeg_fail(j_common_ptr c) {
  jerr_t *e = (jerr_t *)c->err;
  (*c->err->format_message)(c, e->msg);
  longjmp(e->jump, 1);
}
static void jpeg_quiet(j_common_ptr c, int level) { (void)c, (void)level; }

/* Decodes a JPEG into RGB (DCT-scaled down towards max_px when that is exact enough). */
static int jpeg_decode(const void *buf, size_t len, int max_px, unsigned char **rgb, int *w, int *h, char *errbuf,
                       size_t errlen) {
  struct jpeg_decompress_struct c;
  jerr_t e;
  unsigned char *volatile px = NULL;
  c.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = jpeg_fail;
  e.mgr.emit_message = jpeg_quiet;
  if (setjmp(e.jump)) {
    free(px);
    jpeg_destroy_decompress(&c);
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the JPEG does not decode: %s", e.msg);
  }
  jpeg_create_decompress(&c);
  jpeg_mem_src(&c, buf, (unsigned long)len);
  jpeg_read_header(&c, TRUE);
  if ((long)c.image_width * (long)c.image_height > FOFAL_FILE_MAX_PIXELS) {
    jpeg_destroy_decompress(&c);
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "the image has more than %ld pixels", FOFAL_FILE_MAX_PIXELS);
  }
  c.out_color_space = JCS_RGB;
  unsigned longer = c.image_width > c.image_height ? c.image_width : c.image_height;
  c.scale_num = 1;
  c.scale_denom = 1;
  while (c.scale_denom < 8 && longer / (c.scale_denom * 2) >= (unsigned)max_px) c.scale_denom *= 2;
  jpeg_start_decompress(&c);
  size_t stride = (size_t)c.output_width * 3;
  px = malloc(stride * c.output_height);
  if (!px) longjmp(e.jump, 1);
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = px + stride * c.output_scanline;
    jpeg_read_scanlines(&c, &row, 1);
  }
  *w = (int)c.output_width;
  *h = (int)c.output_height;
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  *rgb = px;
  return 0;
}

static int png_decode(const void *buf, size_t len, unsigned char **rgb, int *w, int *h, char *errbuf, size_t errlen) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&im, buf, len))
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the PNG does not decode: %s", im.message);
  if ((long)im.width * (long)im.height > FOFAL_FILE_MAX_PIXELS) {
    png_image_free(&im);
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "the image has more than %ld pixels", FOFAL_FILE_MAX_PIXELS);
  }
  im.format = PNG_FORMAT_RGB;
  unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
  png_color white = {255, 255, 255};
  if (!px || !png_image_finish_read(&im, &white, px, 0, NULL)) {
    free(px);
    char m[80];
    snprintf(m, sizeof m, "%s", im.message);
    png_image_free(&im);
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the PNG does not decode: %s", m);
  }
  *w = (int)im.width;
  *h = (int)im.height;
  *rgb = px;
  return 0;
}

/* Box-filter scale of an RGB image to (tw, th). */
static unsigned char *downscale(const unsigned char *src, int w, int h, int tw, int th) {
  unsigned char *dst = malloc((size_t)tw * th * 3);
  if (!dst) return NULL;
  for (int y = 0; y < th; y++) {
    int y0 = (int)((long)y * h / th), y1 = (int)((long)(y + 1) * h / th);
    if (y1 <= y0) y1 = y0 + 1;
    for (int x = 0; x < tw; x++) {
      int x0 = (int)((long)x * w / tw), x1 = (int)((long)(x + 1) * w / tw);
      if (x1 <= x0) x1 = x0 + 1;
      unsigned long sum[3] = {0, 0, 0}, n = 0;
      for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) {
          const unsigned char *p = src + ((size_t)yy * w + xx) * 3;
          sum[0] += p[0], sum[1] += p[1], sum[2] += p[2], n++;
        }
      unsigned char *q = dst + ((size_t)y * tw + x) * 3;
      for (int k = 0; k < 3; k++) q[k] = (unsigned char)(sum[k] / n);
    }
  }
  return dst;
}

static int jpeg_encode(const unsigned char *rgb, int w, int h, unsigned char **out, size_t *outlen, char *errbuf,
                       size_t errlen) {
  struct jpeg_compress_struct c;
  jerr_t e;
  unsigned char *mem = NULL;
  unsigned long memlen = 0;
  c.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = jpeg_fail;
  if (setjmp(e.jump)) {
    jpeg_destroy_compress(&c);
    free(mem);
    return fofal_err(errbuf, errlen, FOFAL_EIO, "JPEG encoding failed: %s", e.msg);
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &mem, &memlen);
  c.image_width = (JDIMENSION)w;
  c.image_height = (JDIMENSION)h;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 80, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  *out = mem;
  *outlen = memlen;
  return 0;
}

int fofal_file_thumbnail(const char *type, const void *buf, size_t len, int max_px, unsigned char **out,
                         size_t *outlen, char *errbuf, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  if (max_px < 16) max_px = 16;
  unsigned char *rgb = NULL;
  int w = 0, h = 0, rc;
  if (type && !strcmp(type, "image/jpeg")) rc = jpeg_decode(buf, len, max_px, &rgb, &w, &h, errbuf, errlen);
  else if (type && !strcmp(type, "image/png")) rc = png_decode(buf, len, &rgb, &w, &h, errbuf, errlen);
  else return fofal_err(errbuf, errlen, FOFAL_EINVAL, "no thumbnail for %s: only images have one", type ? type : "this");
  if (rc) return rc;
  int tw = w, th = h;
  if (w > max_px || h > max_px) {
    if (w >= h) {
      tw = max_px;
      th = (int)((long)h * max_px / w);
    } else {
      th = max_px;
      tw = (int)((long)w * max_px / h);
    }
    if (tw < 1) tw = 1;
    if (th < 1) th = 1;
  }
  unsigned char *small = rgb;
  if (tw != w || th != h) {
    small = downscale(rgb, w, h, tw, th);
    free(rgb);
    if (!small) return fofal_err(errbuf, errlen, FOFAL_EIO, "out of memory");
  }
  rc = jpeg_encode(small, tw, th, out, outlen, errbuf, errlen);
  free(small);
  return rc;
}
