/*
 * filestore.h — stored files (photos, PDFs): what an upload is checked against, the
 * storage interface and its default backend, and phone thumbnails.
 *
 * A file is named by its content address: the SHA-256 of its bytes, 64 lower-case hex
 * digits. The bytes never travel through Kafka: the log records the reference (module
 * files, event file_stored) and the bytes stay in the store.
 *
 * The storage interface (fofal_filestore_t) is what a backend implements: put (store
 * bytes under tenant + address, atomically, a second put of the same bytes is a no-op),
 * get (the bytes back, whole), has, list (every address of a tenant, for backups) and
 * remove. The default backend is a directory (fofal_filestore_disk): each tenant's files
 * under <dir>/<tenant>/<2 first hex digits>/<sha256>, written to a temporary file in the
 * same folder, fsync'ed, then renamed (and the folder fsync'ed), so a reader sees a file
 * whole or not at all. Deduplication is per tenant: the same bytes uploaded twice by a
 * tenant are stored once; another tenant's copy is its own (so a tenant never reaches a
 * file through another's, and erasing one never touches the other).
 *
 * An S3-compatible backend would implement the same five functions on a bucket: put as
 * PUT Object of key <tenant>/<sha256> with x-amz-checksum-sha256 (S3 checks the bytes; a
 * PUT is atomic: readers see the old object or the new one) after a HEAD to skip what is
 * there already, get as GET Object, has as HEAD, list as ListObjectsV2 with prefix
 * <tenant>/, remove as DELETE; with the credentials and endpoint in settings
 * (FOFAL_FILES_S3_*), and libcurl with AWS Signature V4 (CURLOPT_AWS_SIGV4).
 *
 * Threads: the functions are reentrant; the disk backend keeps no state but its folder.
 */
#ifndef FOFAL_FILESTORE_H
#define FOFAL_FILESTORE_H

#include <stddef.h>

#define FOFAL_FILE_SHA_LEN 64           /* hex digits of a content address */
#define FOFAL_FILE_NAME_MAX 200         /* bytes of a file's display name */
#define FOFAL_FILE_THUMB_PX 256         /* the longer side of a phone thumbnail */
#define FOFAL_FILE_MAX_PIXELS (40L * 1000 * 1000) /* an image larger is not decoded */

/* The type of a file's bytes from its first bytes (magic numbers): "image/jpeg",
 * "image/png", "application/pdf", or NULL for anything else. Pure. */
const char *fofal_file_sniff(const void *buf, size_t len);

/* 1 when `ctype` (a Content-Type header value, parameters allowed) names one of the types
 * fofal_file_sniff knows, the canonical type into *canon; else 0. */
int fofal_file_ctype(const char *ctype, const char **canon);

/* 1 when `name` is a display name a client may give: 1..FOFAL_FILE_NAME_MAX bytes of
 * valid UTF-8, no control character, no '/' or '\\', not "." or "..", not starting with
 * '.' or '~', no ':' (a drive or stream). A name is only ever shown, never used on disk;
 * a path-like one is refused so that nobody believes otherwise. Pure. */
int fofal_file_name_ok(const char *name);

/* The content address of buf: 64 lower-case hex digits and a NUL. */
void fofal_file_address(const void *buf, size_t len, char out[FOFAL_FILE_SHA_LEN + 1]);
/* 1 when s is a content address (exactly 64 lower-case hex digits). */
int fofal_file_address_ok(const char *s);
/* 1 when s may name a tenant's folder: 1..63 of A-Z a-z 0-9 _ - (no dot, no slash). */
int fofal_file_tenant_ok(const char *s);

/* ------------------------------------------------------------- the store */
typedef struct fofal_filestore fofal_filestore_t;
typedef struct {
  /* Stores len bytes under (tenant, sha) — sha is fofal_file_address(buf, len), checked
   * by the caller —; *created 1 when they were not there yet. 0 or FOFAL_E* with errbuf. */
  int (*put)(fofal_filestore_t *s, const char *tenant, const char *sha, const void *buf, size_t len, int *created,
             char *errbuf, size_t errlen);
  /* The bytes of (tenant, sha) into *buf (new, malloc) and *len, at most `max` bytes:
   * 0, FOFAL_ENOENT (not stored), FOFAL_EIO (unreadable, or they no longer match sha). */
  int (*get)(fofal_filestore_t *s, const char *tenant, const char *sha, size_t max, char **buf, size_t *len,
             char *errbuf, size_t errlen);
  /* 1 when stored (and its size into *len when not NULL), 0 when not. */
  int (*has)(fofal_filestore_t *s, const char *tenant, const char *sha, size_t *len);
  /* Calls fn for each stored (tenant, sha, size), in no order. 0 or FOFAL_EIO. */
  int (*each)(fofal_filestore_t *s, void (*fn)(void *opaque, const char *tenant, const char *sha, size_t len),
              void *opaque, char *errbuf, size_t errlen);
  /* Removes (tenant, sha): 0 also when it was not there. */
  int (*remove)(fofal_filestore_t *s, const char *tenant, const char *sha, char *errbuf, size_t errlen);
  void (*close)(fofal_filestore_t *s);
} fofal_filestore_ops_t;
struct fofal_filestore {
  const fofal_filestore_ops_t *ops;
};

/* The directory backend rooted at dir (created when missing, mode 0700). 0 and *out
 * (fofal_filestore_close), or FOFAL_E* with errbuf. */
int fofal_filestore_disk(const char *dir, fofal_filestore_t **out, char *errbuf, size_t errlen);
/* The path of (tenant, sha) in a disk store rooted at dir, into out: 0, or FOFAL_EINVAL
 * when tenant or sha is not fit for a path (nothing a client sends reaches a path
 * otherwise). */
int fofal_filestore_disk_path(const char *dir, const char *tenant, const char *sha, char *out, size_t outlen);

static inline void fofal_filestore_close(fofal_filestore_t *s) {
  if (s) s->ops->close(s);
}

/* ---------------------------------------------------------- personal files
 * A file marked personal (a photo of a person) is stored sealed with that person's data
 * key (the key of README Security's personal data, identity_keys.person_keys): erasing
 * the person deletes the key, and every copy of the file — the store's and the backups' —
 * can no longer be opened (crypto-shredding). XChaCha20-Poly1305 with the tenant, the
 * person and the content address of the clear bytes as associated data; the nonce is
 * derived from the key and that address, so the same photo of the same person seals to the
 * same bytes (stored once). Sealed bytes: "FOFALPF1", the 24-byte nonce, the 64 hex digits
 * of the clear address, the ciphertext. The store names them by their own SHA-256. */
#define FOFAL_FILE_SEAL_OVERHEAD (8 + 24 + 64 + 16)
/* *out new (free), *outlen. 0 or FOFAL_EIO. */
int fofal_file_seal(const unsigned char key[32], const char *tenant, const char *person, const void *buf, size_t len,
                    unsigned char **out, size_t *outlen);
/* The clear bytes of sealed ones into *out (new) and their address into clear_sha: 0, or
 * FOFAL_EPARSE (not sealed bytes, another person's, or altered). */
int fofal_file_open(const unsigned char key[32], const char *tenant, const char *person, const void *buf, size_t len,
                    unsigned char **out, size_t *outlen, char clear_sha[FOFAL_FILE_SHA_LEN + 1]);

/* ------------------------------------------------------------ thumbnails */
/* A JPEG (quality 80) whose longer side is at most max_px (an image already smaller keeps
 * its size), from a JPEG or PNG (transparency on white). *out new (free). 0, FOFAL_EINVAL
 * (not an image we decode: a PDF, or bytes that do not decode) or FOFAL_ETOOBIG (over
 * FOFAL_FILE_MAX_PIXELS), with errbuf. */
int fofal_file_thumbnail(const char *type, const void *buf, size_t len, int max_px, unsigned char **out,
                         size_t *outlen, char *errbuf, size_t errlen);

#endif
