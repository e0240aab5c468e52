/*
 * test_filestore.c — api/filestore.c: the type of a file from its magic bytes, the names a
 * client may give (a path-like one is refused), the content address, the disk backend
 * (atomic, deduplicated per tenant, tenants apart, damaged bytes detected, nothing outside
 * its folder) and phone thumbnails that decode.
 */
#include <criterion/criterion.h>
#include <jpeglib.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "filestore.h"

static const unsigned char jpeg_head[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
static const unsigned char png_head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0};
static const unsigned char elf[] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0};
static const unsigned char mz[] = {'M', 'Z', 0x90, 0, 3, 0, 0, 0, 4, 0};

Test(sniff, by_magic_bytes) {
  cr_expect_str_eq(fofal_file_sniff(jpeg_head, sizeof jpeg_head), "image/jpeg");
  cr_expect_str_eq(fofal_file_sniff(png_head, sizeof png_head), "image/png");
  cr_expect_str_eq(fofal_file_sniff("%PDF-1.7\n%", 10), "application/pdf");
  cr_expect_null(fofal_file_sniff(elf, sizeof elf), "an ELF executable is no image");
  cr_expect_null(fofal_file_sniff(mz, sizeof mz), "a Windows executable is no image");
  cr_expect_null(fofal_file_sniff("#!/bin/sh\nrm -rf /", 18));
  cr_expect_null(fofal_file_sniff("<svg xmlns=", 11), "SVG (scriptable) is not accepted");
  cr_expect_null(fofal_file_sniff(jpeg_head, 2), "too short");
  cr_expect_null(fofal_file_sniff(" %PDF-1.7\n", 10), "a PDF marker further in is not taken");
  cr_expect_null(fofal_file_sniff("", 0));
}

Test(sniff, declared_types) {
  const char *c = NULL;
  cr_expect(fofal_file_ctype("image/jpeg", &c));
  cr_expect_str_eq(c, "image/jpeg");
  cr_expect(fofal_file_ctype("IMAGE/PNG; charset=binary", &c));
  cr_expect_str_eq(c, "image/png");
  cr_expect(fofal_file_ctype("application/pdf", &c));
  cr_expect_not(fofal_file_ctype("image/jpg", &c));
  cr_expect_not(fofal_file_ctype("image/svg+xml", &c));
  cr_expect_not(fofal_file_ctype("application/octet-stream", &c));
  cr_expect_not(fofal_file_ctype("image/jpegx", &c));
  cr_expect_not(fofal_file_ctype(NULL, &c));
}

Test(names, path_like_refused) {
  cr_expect(fofal_file_name_ok("defaut-rouleau 12.jpg"));
  cr_expect(fofal_file_name_ok("tâche d'huile.png"), "UTF-8 is fine");
  const char *bad[] = {"",          "../../etc/passwd", "/etc/passwd",  "a/b.jpg", "a\\b.jpg", "..",     ".",
                       ".htaccess", "~root",            "C:photo.jpg",  "a..b",    "x\ny.jpg", "\x7f.jpg", "\xff\xfe.jpg",
                       "\xc0\xaf.jpg" /* overlong '/' */, NULL};
  for (int i = 0; bad[i]; i++) cr_expect_not(fofal_file_name_ok(bad[i]), "\"%s\" accepted", bad[i]);
  char big[FOFAL_FILE_NAME_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  cr_expect_not(fofal_file_name_ok(big), "too long");
  big[FOFAL_FILE_NAME_MAX] = '\0';
  cr_expect(fofal_file_name_ok(big), "exactly the most");
}

Test(address, sha256) {
  char a[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address("abc", 3, a);
  cr_expect_str_eq(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fofal_file_address("", 0, a);
  cr_expect_str_eq(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  cr_expect(fofal_file_address_ok(a));
  cr_expect_not(fofal_file_address_ok("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  cr_expect_not(fofal_file_address_ok("../../../../etc/passwd"));
  cr_expect_not(fofal_file_address_ok("abc"));
  cr_expect(fofal_file_tenant_ok("demo"));
  cr_expect(fofal_file_tenant_ok("tenant-a_1"));
  cr_expect_not(fofal_file_tenant_ok(".."));
  cr_expect_not(fofal_file_tenant_ok("a/b"));
  cr_expect_not(fofal_file_tenant_ok(""));
}

static char dir[256];
static void mkdir_tmp(void) {
  snprintf(dir, sizeof dir, "/tmp/fofal-filestore-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void rm_tmp(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}

static int count;
static void counter(void *o, const char *t, const char *s, size_t l) { (void)o, (void)t, (void)s, (void)l, count++; }

Test(disk, atomic_dedup_tenants_apart, .init = mkdir_tmp, .fini = rm_tmp) {
  fofal_filestore_t *s = NULL;
  char err[256], sha[FOFAL_FILE_SHA_LEN + 1], path[512];
  cr_assert_eq(fofal_filestore_disk(dir, &s, err, sizeof err), 0, "%s", err);
  const char body[] = "%PDF-1.4 a report";
  fofal_file_address(body, sizeof body, sha);
  int created = -1;
  cr_assert_eq(s->ops->put(s, "tenant-a", sha, body, sizeof body, &created, err, sizeof err), 0, "%s", err);
  cr_expect_eq(created, 1);
  cr_assert_eq(s->ops->put(s, "tenant-a", sha, body, sizeof body, &created, err, sizeof err), 0);
  cr_expect_eq(created, 0, "the same bytes are stored once");
  cr_assert_eq(fofal_filestore_disk_path(dir, "tenant-a", sha, path, sizeof path), 0);
  struct stat st;
  cr_expect_eq(stat(path, &st), 0, "stored under <dir>/<tenant>/<ab>/<sha256>: %s", path);
  cr_expect_eq(st.st_mode & 0777, 0600);
  size_t len = 0;
  cr_expect(s->ops->has(s, "tenant-a", sha, &len));
  cr_expect_eq(len, sizeof body);
  cr_expect_not(s->ops->has(s, "tenant-b", sha, NULL), "another tenant does not have it");
  char *got = NULL;
  cr_expect_eq(s->ops->get(s, "tenant-b", sha, 1 << 20, &got, &len, err, sizeof err), FOFAL_ENOENT);
  cr_assert_eq(s->ops->get(s, "tenant-a", sha, 1 << 20, &got, &len, err, sizeof err), 0, "%s", err);
  cr_expect_eq(len, sizeof body);
  cr_expect_eq(memcmp(got, body, len), 0);
  free(got);
  cr_expect_eq(s->ops->get(s, "tenant-a", sha, 4, &got, &len, err, sizeof err), FOFAL_EIO, "over the cap");
  /* nothing but a tenant and an address reaches a path */
  cr_expect_eq(fofal_filestore_disk_path(dir, "../x", sha, path, sizeof path), FOFAL_EINVAL);
  cr_expect_eq(fofal_filestore_disk_path(dir, "tenant-a", "../../etc/passwd", path, sizeof path), FOFAL_EINVAL);
  cr_expect_neq(s->ops->put(s, "..", sha, body, sizeof body, &created, err, sizeof err), 0);
  /* no temporary file is left behind; each lists one file */
  cr_assert_eq(s->ops->put(s, "tenant-b", sha, body, sizeof body, &created, err, sizeof err), 0);
  count = 0;
  cr_expect_eq(s->ops->each(s, counter, NULL, err, sizeof err), 0);
  cr_expect_eq(count, 2);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "test -z \"$(find '%s' -name '.tmp-*')\"", dir);
  cr_expect_eq(system(cmd), 0, "a temporary file is left");
  /* damaged bytes are detected on read */
  FILE *f = fopen(path, "r+");
  cr_assert_not_null(f);
  fputc('X', f);
  fclose(f);
  cr_expect_eq(s->ops->get(s, "tenant-a", sha, 1 << 20, &got, &len, err, sizeof err), FOFAL_EIO);
  cr_expect_eq(s->ops->remove(s, "tenant-a", sha, err, sizeof err), 0);
  cr_expect_not(s->ops->has(s, "tenant-a", sha, NULL));
  fofal_filestore_close(s);
}

/* A w×h RGB JPEG, gradient, in memory. */
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
    for (int x = 0; x < w; x++) row[3 * x] = (unsigned char)x, row[3 * x + 1] = (unsigned char)c.next_scanline, row[3 * x + 2] = 128;
    jpeg_write_scanlines(&c, &row, 1);
  }
  free(row);
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return mem;
}

static void jpeg_size(const unsigned char *buf, size_t len, int *w, int *h) {
  struct jpeg_decompress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_decompress(&c);
  jpeg_mem_src(&c, buf, (unsigned long)len);
  cr_assert_eq(jpeg_read_header(&c, TRUE), JPEG_HEADER_OK);
  *w = (int)c.image_width, *h = (int)c.image_height;
  jpeg_destroy_decompress(&c);
}

Test(thumbnail, jpeg_and_png_decode) {
  unsigned long jl = 0;
  unsigned char *j = make_jpeg(1200, 600, &jl), *out = NULL;
  size_t outlen = 0;
  char err[256];
  int w, h;
  cr_assert_eq(fofal_file_thumbnail("image/jpeg", j, jl, 256, &out, &outlen, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(fofal_file_sniff(out, outlen), "image/jpeg");
  jpeg_size(out, outlen, &w, &h);
  cr_expect_eq(w, 256);
  cr_expect_eq(h, 128);
  free(out);
  free(j);
  /* a PNG with transparency */
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION, im.width = 100, im.height = 400, im.format = PNG_FORMAT_RGBA;
  unsigned char *px = calloc(1, PNG_IMAGE_SIZE(im));
  png_alloc_size_t pl = 0;
  cr_assert(png_image_write_to_memory(&im, NULL, &pl, 0, px, 0, NULL));
  unsigned char *p = malloc(pl);
  cr_assert(png_image_write_to_memory(&im, p, &pl, 0, px, 0, NULL));
  cr_assert_eq(fofal_file_thumbnail("image/png", p, pl, 256, &out, &outlen, err, sizeof err), 0, "%s", err);
  jpeg_size(out, outlen, &w, &h);
  cr_expect_eq(w, 64);
  cr_expect_eq(h, 256);
  free(out);
  free(p);
  free(px);
  /* a PDF has none; broken bytes do not decode (no crash) */
  cr_expect_eq(fofal_file_thumbnail("application/pdf", "%PDF-1.4", 8, 256, &out, &outlen, err, sizeof err), FOFAL_EINVAL);
  cr_expect_eq(fofal_file_thumbnail("image/jpeg", jpeg_head, sizeof jpeg_head, 256, &out, &outlen, err, sizeof err),
               FOFAL_EINVAL);
  cr_expect_eq(fofal_file_thumbnail("image/png", png_head, sizeof png_head, 256, &out, &outlen, err, sizeof err),
               FOFAL_EINVAL);
  cr_expect_null(out);
}

Test(personal, sealed_with_the_persons_key) {
  unsigned char key[32], other[32], *sealed = NULL, *clear = NULL;
  size_t slen = 0, clen = 0;
  memset(key, 7, sizeof key);
  memset(other, 8, sizeof other);
  const char photo[] = "\xff\xd8\xff a face";
  char sha[FOFAL_FILE_SHA_LEN + 1], csha[FOFAL_FILE_SHA_LEN + 1];
  fofal_file_address(photo, sizeof photo, sha);
  cr_assert_eq(fofal_file_seal(key, "demo", "W01", photo, sizeof photo, &sealed, &slen), 0);
  cr_expect_eq(slen, sizeof photo + FOFAL_FILE_SEAL_OVERHEAD);
  cr_expect_null(memmem(sealed, slen, "a face", 6), "the clear bytes are not in the sealed ones");
  unsigned char *again = NULL;
  size_t alen = 0;
  cr_assert_eq(fofal_file_seal(key, "demo", "W01", photo, sizeof photo, &again, &alen), 0);
  cr_expect(alen == slen && !memcmp(again, sealed, slen), "the same photo of the same person seals alike (stored once)");
  free(again);
  cr_assert_eq(fofal_file_open(key, "demo", "W01", sealed, slen, &clear, &clen, csha), 0);
  cr_expect(clen == sizeof photo && !memcmp(clear, photo, clen));
  cr_expect_str_eq(csha, sha);
  free(clear);
  cr_expect_eq(fofal_file_open(other, "demo", "W01", sealed, slen, &clear, &clen, csha), FOFAL_EPARSE, "another key");
  cr_expect_eq(fofal_file_open(key, "demo", "W02", sealed, slen, &clear, &clen, csha), FOFAL_EPARSE, "another person");
  cr_expect_eq(fofal_file_open(key, "other", "W01", sealed, slen, &clear, &clen, csha), FOFAL_EPARSE, "another tenant");
  sealed[slen - 1] ^= 1;
  cr_expect_eq(fofal_file_open(key, "demo", "W01", sealed, slen, &clear, &clen, csha), FOFAL_EPARSE, "altered");
  cr_expect_eq(fofal_file_open(key, "demo", "W01", photo, sizeof photo, &clear, &clen, csha), FOFAL_EPARSE, "not sealed");
  cr_expect_null(clear);
  free(sealed);
}
