/*
 * jsonschema.c — a JSON Schema (draft-07) validator on top of jansson (see jsonschema.h).
 *
 * Compilation deep-copies the schema document (so nothing the caller does later can
 * change it) and turns each schema object into a struct node: keyword arguments are
 * checked and converted, regexes compiled with PCRE2 (UTF mode, ECMA-like "$"), every
 * "$id" indexed. Then every "$ref" is resolved to the node it names (local JSON
 * pointers, "$id" base URIs and plain-name anchors, or documents from a registry).
 * Nodes are memoised by the JSON value they come from, so recursive schemas become
 * cyclic graphs of nodes, compiled once. Cycles that never descend into the instance
 * ({"$ref":"#"}, allOf -> $ref back to itself, ...) are rejected at compile time;
 * validation also caps instance nesting and evaluation recursion, so no input can
 * overflow the stack.
 *
 * Invariants: a compiled schema is never written after fofal_schema_compile_ex returns,
 * and every string or json_t a node points at lives in a document the schema holds a
 * reference to. So validation is safe from many threads at once; it allocates only for
 * error reports, the PCRE2 match data of one call, propertyNames checks (one string per
 * key) and uniqueItems on arrays of more than 16 items (one hash array per check).
 *
 * Failure: functions return 0 or a negative FOFAL_SCHEMA_E* code; out of memory aborts.
 * Nothing here logs.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "jsonschema.h"

#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define COUNT(a) (sizeof(a) / sizeof *(a))
#define GROW(arr, n, cap)                             \
  do {                                                \
    if ((n) == (cap)) {                               \
      (cap) = (cap) ? 2 * (cap) : 8;                  \
      (arr) = xrealloc((arr), (cap) * sizeof *(arr)); \
    }                                                 \
  } while (0)

/* ---- allocation ------------------------------------------------------- */

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz);
  if (!p) abort();
  return p;
}

static void *xrealloc(void *p, size_t n) {
  if (!(p = realloc(p, n ? n : 1))) abort();
  return p;
}

static char *xstrndup(const char *s, size_t n) {
  char *d = xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static json_t *jnew(json_t *j) {
  if (!j) abort();
  return j;
}

/* A json string from arbitrary bytes: invalid UTF-8 (a message cut short, a key
 * made with jansson's _nocheck calls) becomes '?' rather than failing. */
static json_t *jstr(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  char *t;
  size_t i;
  if (j) return j;
  t = xstrndup(s, n);
  for (i = 0; i < n; i++)
    if ((unsigned char)t[i] >= 0x80) t[i] = '?';
  j = jnew(json_stringn(t, n));
  free(t);
  return j;
}

/* ---- compiled form ---------------------------------------------------- */

static const char *const type_names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
enum { T_NULL = 1, T_BOOL = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32, T_INTEGER = 64 };

/* Keywords whose argument is one schema, a list of schemas, an object of
 * schemas-ish, a number, a count.  "items" is in the first two lists: its
 * argument decides which applies. */
enum { S_ITEMS, S_ADD_ITEMS, S_CONTAINS, S_ADD_PROPS, S_PROP_NAMES, S_NOT, S_IF, S_THEN, S_ELSE, S_N };
static const char *const one_kws[S_N] = {
    "items", "additionalItems", "contains", "additionalProperties", "propertyNames", "not", "if", "then", "else"};
enum { L_ITEMS, L_ALL, L_ANY, L_ONE, L_N };
static const char *const list_kws[L_N] = {"items", "allOf", "anyOf", "oneOf"};
enum { M_DEFS, M_PROPS, M_PPROPS, M_DEPS, M_N };
static const char *const map_kws[M_N] = {"definitions", "properties", "patternProperties", "dependencies"};
enum { N_MIN, N_MAX, N_XMIN, N_XMAX, N_MULT, N_N };
static const char *const num_kws[N_N] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"};
enum { C_MINLEN, C_MAXLEN, C_MINITEMS, C_MAXITEMS, C_MINPROPS, C_MAXPROPS, C_N };
static const char *const cnt_kws[C_N] = {"minLength", "maxLength",     "minItems",
                                         "maxItems",  "minProperties", "maxProperties"};
/* bits of node.has */
#define HAS_NUM(i) (1u << (i))
#define HAS_CNT(i) (1u << (8 + (i)))
#define HAS_ENUM (1u << 16)
#define HAS_CONST (1u << 17)
#define HAS_UNIQUE (1u << 18)

enum fmt { FMT_NONE, FMT_DATE_TIME, FMT_DATE, FMT_TIME, FMT_UUID, FMT_N };
static const char *const fmt_names[FMT_N] = {"", "date-time", "date", "time", "uuid"};

struct num {
  bool is_int;
  json_int_t i;
  double d;
};

struct node;
struct nodelist {
  struct node **v;
  size_t n;
};
struct prop { /* properties (sorted by key), patternProperties */
  const char *key;
  size_t klen;
  pcre2_code *re;
  struct node *schema;
};
struct dep {
  const char *key;
  size_t klen;
  struct node *schema; /* schema dependency, or NULL */
  const json_t *names; /* property dependency (array of strings), or NULL */
};

struct node {
  int boolean;      /* -1: object schema; 0/1: the schema false/true */
  struct node *ref; /* $ref target: all other keywords ignored */
  const char *ref_src;
  unsigned types, has;
  struct node *one[S_N];
  struct nodelist list[L_N];
  struct num num[N_N];
  size_t cnt[C_N];
  const json_t *enum_v, *const_v, *required;
  pcre2_code *pattern;
  const char *pattern_src;
  enum fmt format;
  struct prop *props, *pprops;
  size_t nprops, npprops;
  struct dep *deps;
  size_t ndeps;
  unsigned char mark; /* compile-time cycle check only */
};

struct fofal_schema {
  struct node *root;
  struct node **nodes;
  size_t nnodes, capnodes;
  json_t **docs; /* owned references */
  size_t ndocs, capdocs;
  pcre2_match_context *mctx;
};

struct fofal_schema_registry {
  struct regent {
    char *uri;
    json_t *doc;
  } * v;
  size_t n, cap;
};

/* ---- compile context -------------------------------------------------- */

struct ident { /* a URI (document or anchor) naming a schema */
  const char *uri;
  const json_t *json;
  const char *outer; /* base URI in effect around json */
};

struct cctx {
  fofal_schema_t *s;
  const fofal_schema_registry_t *reg;
  struct ident *ids;
  size_t nids, capids;
  struct memo { /* json value -> node, open addressing */
    const json_t *key;
    struct node *node;
  } * memo;
  size_t nmemo, capmemo;
  struct pending { /* $refs, resolved once every $id is indexed */
    struct node *node;
    const char *ref, *here, *where;
    const json_t *target; /* set by resolve_ref */
    const char *outer, *uri;
  } * pend;
  size_t npend, cappend;
  char **strs; /* strings freed with the context */
  size_t nstrs, capstrs;
  char *err;
  size_t errlen;
  char path[512]; /* location being compiled, for messages */
  size_t pathlen;
  int depth;
};

PRINTF_LIKE(3, 4)
static int cerr(struct cctx *c, int code, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  if (!c->err || !c->errlen) return code;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->pathlen > 160) /* keep both ends of a long location */
    snprintf(c->err, c->errlen, "schema at %.60s...%s: %s", c->path, c->path + c->pathlen - 100, msg);
  else
    snprintf(c->err, c->errlen, "schema at %s: %s", c->path, msg);
  return code;
}

static const char *own(struct cctx *c, char *s) {
  GROW(c->strs, c->nstrs, c->capstrs);
  return c->strs[c->nstrs++] = s;
}

static void path_set(struct cctx *c, const char *s) {
  snprintf(c->path, sizeof c->path, "%s", s);
  c->pathlen = strlen(c->path);
}

/* Appends "/seg" (JSON-pointer escaped); returns the length to restore. A location that
 * does not fit is cut and ends in "..."; once cut, nothing more is appended. */
static size_t cpush(struct cctx *c, const char *seg, size_t len) {
  size_t old = c->pathlen, room = sizeof c->path - 4, i; /* room: "..." and the NUL stay free */
  if (c->pathlen >= room) return old;
  c->path[c->pathlen++] = '/';
  for (i = 0; i < len && c->pathlen + (seg[i] == '~' || seg[i] == '/' ? 2 : 1) <= room; i++) {
    if (seg[i] == '~' || seg[i] == '/') {
      c->path[c->pathlen++] = '~';
      c->path[c->pathlen++] = seg[i] == '~' ? '0' : '1';
    } else {
      c->path[c->pathlen++] = seg[i];
    }
  }
  if (i < len) {
    memcpy(c->path + c->pathlen, "...", 3);
    c->pathlen += 3;
  }
  c->path[c->pathlen] = '\0';
  return old;
}

static size_t cpush_idx(struct cctx *c, size_t i) {
  char b[32];
  snprintf(b, sizeof b, "%zu", i);
  return cpush(c, b, strlen(b));
}

static void cpop(struct cctx *c, size_t old) {
  c->path[c->pathlen = old] = '\0';
}

/* An EINVAL error about keyword kw of the schema being compiled. */
static int kw_err(struct cctx *c, const char *kw, const char *msg) {
  size_t old = cpush(c, kw, strlen(kw));
  int rc = cerr(c, FOFAL_SCHEMA_EINVAL, "%s", msg);
  cpop(c, old);
  return rc;
}

/* ---- URIs (RFC 3986 reference resolution, enough for $id / $ref) ------- */

static size_t scheme_len(const char *u) /* length of "scheme:", or 0 */
{
  size_t i = 0;
  if (!((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z'))) return 0;
  while ((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '+' ||
         u[i] == '-' || u[i] == '.')
    i++;
  return u[i] == ':' ? i + 1 : 0;
}

static size_t path_start(const char *u) /* index after "scheme:" and "//authority" */
{
  size_t i = scheme_len(u);
  if (u[i] == '/' && u[i + 1] == '/') i += 2 + strcspn(u + i + 2, "/?#");
  return i;
}

static char *concat(const char *a, size_t al, const char *b) {
  size_t bl = strlen(b);
  char *r = xmalloc(al + bl + 1);
  memcpy(r, a, al);
  memcpy(r + al, b, bl + 1);
  return r;
}

/* Removes "." and ".." segments from the path starting at p (up to '?'/'#'). */
static void remove_dots(char *p) {
  size_t end = strcspn(p, "?#"), o = 0;
  char *in = xstrndup(p, end), *i = in;
  while (*i) {
    if (!strncmp(i, "../", 3)) {
      i += 3;
    } else if (!strncmp(i, "./", 2) || !strncmp(i, "/./", 3)) {
      i += 2;
    } else if (!strcmp(i, "/.")) {
      *++i = '/';
    } else if (!strncmp(i, "/../", 4) || !strcmp(i, "/..")) {
      i += i[3] ? 3 : 2;
      *i = '/';
      while (o > 0 && p[--o] != '/')
        ;
    } else if (!strcmp(i, ".") || !strcmp(i, "..")) {
      break;
    } else {
      do p[o++] = *i++;
      while (*i && *i != '/');
    }
  }
  memmove(p + o, p + end, strlen(p + end) + 1);
  free(in);
}

/* Resolves ref against base; NEW string, an empty trailing fragment removed. */
static char *uri_resolve(const char *base, const char *ref) {
  size_t bl, sl, auth, pe, last, n;
  char *out, *t;
  if (!base) base = "";
  bl = strcspn(base, "#");
  sl = scheme_len(base);
  auth = path_start(base);
  pe = auth + strcspn(base + auth, "?#");
  if (scheme_len(ref) || !*base) {
    out = concat(ref, strlen(ref), "");
    if (scheme_len(out)) remove_dots(out + path_start(out));
  } else if (ref[0] == '#' || ref[0] == '\0') {
    out = concat(base, bl, ref);
  } else if (ref[0] == '/' && ref[1] == '/') {
    out = concat(base, sl, ref);
    remove_dots(out + path_start(out));
  } else if (ref[0] == '/') {
    out = concat(base, auth, ref);
    remove_dots(out + auth);
  } else if (ref[0] == '?') {
    out = concat(base, pe, ref);
  } else {
    for (last = pe; last > auth && base[last - 1] != '/'; last--)
      ;
    if (last == auth && auth > sl) { /* "//authority" with an empty path */
      t = concat(base, auth, "/");
      out = concat(t, auth + 1, ref);
      free(t);
    } else {
      out = concat(base, last, ref);
    }
    remove_dots(out + auth);
  }
  n = strlen(out);
  if (n && out[n - 1] == '#') out[n - 1] = '\0';
  return out;
}

static int hexval(char ch) {
  return ch >= '0' && ch <= '9'   ? ch - '0'
         : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                  : -1;
}

/* NEW string with %XX sequences decoded; *len gets its length (may hold NUL). */
static char *pct_decode(const char *s, size_t *len) {
  size_t n = strlen(s), i, o = 0;
  char *d = xmalloc(n + 1);
  for (i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      d[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      d[o++] = s[i];
    }
  }
  d[ *len = o] = '\0';
  return d;
}

/* ---- compile: identifiers, memo, $ref --------------------------------- */

static const struct ident *find_ident(const struct cctx *c, const char *uri) {
  size_t i;
  for (i = 0; i < c->nids; i++)
    if (!strcmp(c->ids[i].uri, uri)) return &c->ids[i];
  return NULL;
}

static void add_ident(struct cctx *c, const char *uri, const json_t *j, const char *outer) {
  if (find_ident(c, uri)) return; /* first definition wins */
  GROW(c->ids, c->nids, c->capids);
  c->ids[c->nids].uri = uri;
  c->ids[c->nids].json = j;
  c->ids[c->nids++].outer = outer;
}

/* The base URI inside schema j, given the base around it ($id beside $ref is ignored). */
static const char *id_base(struct cctx *c, const char *outer, const json_t *j) {
  const json_t *id = json_object_get(j, "$id");
  char *abs;
  if (!json_is_string(id) || json_object_get(j, "$ref")) return outer;
  abs = uri_resolve(outer, json_string_value(id));
  abs[strcspn(abs, "#")] = '\0';
  return own(c, abs);
}

static size_t memo_slot(const struct cctx *c, const json_t *j) {
  uint64_t x = (uint64_t)(uintptr_t)j;
  size_t i;
  x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdULL;
  for (i = (size_t)(x ^ (x >> 33)) & (c->capmemo - 1); c->memo[i].key && c->memo[i].key != j;)
    i = (i + 1) & (c->capmemo - 1);
  return i;
}

static void memo_put(struct cctx *c, const json_t *j, struct node *n) {
  struct memo *old = c->memo;
  size_t i, oldcap = c->capmemo;
  if ((c->nmemo + 1) * 2 > c->capmemo) {
    c->capmemo = oldcap ? oldcap * 2 : 64;
    c->memo = xcalloc(c->capmemo, sizeof *c->memo);
    for (i = 0; i < oldcap; i++)
      if (old[i].key) c->memo[memo_slot(c, old[i].key)] = old[i];
    free(old);
  }
  i = memo_slot(c, j);
  c->memo[i].key = j;
  c->memo[i].node = n;
  c->nmemo++;
}

static int compile_node(struct cctx *c, const json_t *j, const char *outer, struct node **out);

/* Makes sure document uri is indexed, compiling it from the registry if
 * needed (which indexes the $ids inside it). */
static int ensure_doc(struct cctx *c, const char *uri, const char *ref) {
  fofal_schema_t *s = c->s;
  struct node *dummy;
  size_t i;
  if (find_ident(c, uri)) return 0;
  for (i = 0; c->reg && i < c->reg->n; i++)
    if (!strcmp(c->reg->v[i].uri, uri)) {
      GROW(s->docs, s->ndocs, s->capdocs);
      s->docs[s->ndocs++] = json_incref(c->reg->v[i].doc);
      add_ident(c, uri, c->reg->v[i].doc, uri);
      return compile_node(c, c->reg->v[i].doc, uri, &dummy);
    }
  return cerr(c, FOFAL_SCHEMA_ENOREF, "cannot resolve $ref \"%s\": document \"%s\" is not known", ref, uri);
}

/* Follows JSON pointer ptr (already %-decoded, len bytes) from cur. */
static int walk_pointer(struct cctx *c, const char *ref, const char *ptr, size_t len, const json_t *cur,
                        const char *base, const json_t **target, const char **tbase) {
  size_t pos = 0, sl, kl, i;
  while (pos < len && cur) {
    const char *seg = ptr + pos + 1;
    char *key;

    for (sl = 0; pos + 1 + sl < len && seg[sl] != '/'; sl++)
      ;
    key = xmalloc(sl + 1);
    for (i = kl = 0; i < sl; i++) {
      if (seg[i] == '~' && i + 1 < sl && (seg[i + 1] == '0' || seg[i + 1] == '1'))
        key[kl++] = seg[++i] == '0' ? '~' : '/';
      else
        key[kl++] = seg[i];
    }
    key[kl] = '\0';
    base = id_base(c, base, cur);
    if (json_is_object(cur))
      cur = json_object_getn(cur, key, kl);
    else if (json_is_array(cur) && kl > 0 && kl < 20 && strspn(key, "0123456789") == kl && (kl == 1 || key[0] != '0'))
      cur = json_array_get(cur, (size_t)strtoull(key, NULL, 10));
    else
      cur = NULL;
    free(key);
    pos += 1 + sl;
  }
  if (!cur) return cerr(c, FOFAL_SCHEMA_ENOREF, "cannot resolve $ref \"%s\": no such location", ref);
  *target = cur;
  *tbase = base;
  return 0;
}

/* Finds the JSON value (and the base URI around it) that p->ref names. */
static int resolve_ref(struct cctx *c, struct pending *p) {
  const char *ref = p->ref, *abs = own(c, uri_resolve(p->here, ref)), *hash = strchr(abs, '#'), *doc, *ptr;
  const struct ident *id = NULL;
  size_t plen;
  int rc;
  p->uri = abs;
  doc = own(c, xstrndup(abs, hash ? (size_t)(hash - abs) : strlen(abs)));
  if (hash && hash[1] != '/') { /* plain-name anchor: "$id": "#foo" */
    if (!(id = find_ident(c, abs)) && (rc = ensure_doc(c, doc, ref))) return rc;
    if (!id && !(id = find_ident(c, abs)))
      return cerr(c, FOFAL_SCHEMA_ENOREF, "cannot resolve $ref \"%s\": no schema has $id \"%s\"", ref, abs);
    p->target = id->json;
    p->outer = id->outer;
    return 0;
  }
  if ((rc = ensure_doc(c, doc, ref))) return rc;
  id = find_ident(c, doc);
  ptr = own(c, pct_decode(hash ? hash + 1 : "", &plen));
  return walk_pointer(c, ref, ptr, plen, id->json, id->outer, &p->target, &p->outer);
}

/* ---- compile: keywords ------------------------------------------------ */

static int compile_re(struct cctx *c, const char *src, size_t len, pcre2_code **out) {
  int ec;
  PCRE2_SIZE off;
  PCRE2_UCHAR msg[160];
  *out = pcre2_compile((PCRE2_SPTR)src, len, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ec, &off, NULL);
  if (!*out) {
    pcre2_get_error_message(ec, msg, sizeof msg);
    return cerr(c, FOFAL_SCHEMA_EINVAL, "invalid regular expression \"%s\" at offset %zu: %s", src, (size_t)off,
                (const char *)msg);
  }
  (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* optional speed-up */
  return 0;
}

static bool real_as_int(double d, json_int_t *out) {
  if (d != trunc(d) || d < -0x1p63 || d >= 0x1p63) return false;
  *out = (json_int_t)d;
  return true;
}

static struct num num_of(const json_t *j) {
  struct num x;
  x.is_int = json_is_integer(j);
  x.i = x.is_int ? json_integer_value(j) : 0;
  x.d = x.is_int ? (double)x.i : json_real_value(j);
  return x;
}

static bool string_array(const json_t *v) {
  size_t i;
  const json_t *e;
  if (!json_is_array(v)) return false;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e)) return false;
  }
  return true;
}

static int prop_cmp(const void *a, const void *b) {
  const struct prop *x = a, *y = b;
  int r = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
  return r ? r : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Keywords whose argument is an array of schemas (k is an L_* index). */
static int compile_list(struct cctx *c, const json_t *v, const char *here, int k, struct nodelist *out) {
  size_t old = cpush(c, list_kws[k], strlen(list_kws[k])), i;
  const json_t *e;
  int rc = 0;
  if (!json_is_array(v) || (k != L_ITEMS && !json_array_size(v)))
    rc = cerr(c, FOFAL_SCHEMA_EINVAL, "must be a non-empty array of schemas");
  else
    out->v = xcalloc(json_array_size(v), sizeof *out->v);
  json_array_foreach(v, i, e) {
    size_t old2 = cpush_idx(c, i);
    if (!rc) rc = compile_node(c, e, here, &out->v[out->n++]);
    cpop(c, old2);
  }
  cpop(c, old);
  return rc;
}

/* Keywords whose argument is an object keyed by names (k is an M_* index). */
static int compile_map(struct cctx *c, const json_t *v, const char *here, int k, struct node *n) {
  size_t old = cpush(c, map_kws[k], strlen(map_kws[k])), klen, cnt = json_object_size(v);
  const char *key;
  const json_t *e;
  struct node *dummy;
  int rc = 0;
  if (!json_is_object(v)) {
    rc = cerr(c, FOFAL_SCHEMA_EINVAL, "must be an object");
    goto out;
  }
  if (k == M_PROPS)
    n->props = xcalloc(cnt, sizeof *n->props);
  else if (k == M_PPROPS)
    n->pprops = xcalloc(cnt, sizeof *n->pprops);
  else if (k == M_DEPS)
    n->deps = xcalloc(cnt, sizeof *n->deps);
  json_object_keylen_foreach((json_t *)v, key, klen, e) {
    size_t old2 = cpush(c, key, klen);
    struct prop *p;
    struct dep *d;

    switch (k) {
    case M_DEFS: /* compiled eagerly so that a broken one is reported now */
      rc = compile_node(c, e, here, &dummy);
      break;
    case M_PROPS:
    case M_PPROPS:
      p = k == M_PROPS ? &n->props[n->nprops++] : &n->pprops[n->npprops++];
      p->key = key;
      p->klen = klen;
      if (!(k == M_PPROPS && (rc = compile_re(c, key, klen, &p->re)))) rc = compile_node(c, e, here, &p->schema);
      break;
    default:
      d = &n->deps[n->ndeps];
      d->key = key;
      d->klen = klen;
      n->ndeps++;
      if (!json_is_array(e))
        rc = compile_node(c, e, here, &d->schema);
      else if (!string_array(d->names = e))
        rc = cerr(c, FOFAL_SCHEMA_EINVAL, "must be a schema or an array of strings");
    }
    cpop(c, old2);
    if (rc) goto out;
  }
  if (k == M_PROPS) qsort(n->props, n->nprops, sizeof *n->props, prop_cmp);
out:
  cpop(c, old);
  return rc;
}

static unsigned type_bit(const json_t *name) {
  size_t t;
  for (t = 0; json_is_string(name) && t < COUNT(type_names); t++)
    if (!strcmp(json_string_value(name), type_names[t])) return 1u << t;
  return 0;
}

static int compile_type(struct cctx *c, const json_t *v, struct node *n) {
  const json_t *e;
  size_t i;
  if (!json_is_array(v) && !(n->types = type_bit(v)))
    return kw_err(c, "type", "must be a type name or an array of type names");
  json_array_foreach(v, i, e) {
    if (!type_bit(e)) return kw_err(c, "type", "must be a type name or an array of type names");
    n->types |= type_bit(e);
  }
  if (!n->types) /* "type": [] matches nothing */
    n->types = 1u << 7;
  return 0;
}

static int compile_keywords(struct cctx *c, const json_t *j, const char *here, struct node *n) {
  const json_t *v;
  json_int_t cnt;
  size_t i, old;
  int rc;
  if ((v = json_object_get(j, "definitions")) && (rc = compile_map(c, v, here, M_DEFS, n))) return rc;
  if ((v = json_object_get(j, "$ref"))) { /* draft-07: $ref overrides its siblings */
    if (!json_is_string(v)) return kw_err(c, "$ref", "must be a string");
    GROW(c->pend, c->npend, c->cappend);
    memset(&c->pend[c->npend], 0, sizeof *c->pend);
    c->pend[c->npend].node = n;
    c->pend[c->npend].ref = n->ref_src = json_string_value(v);
    c->pend[c->npend].here = here;
    old = cpush(c, "$ref", 4);
    c->pend[c->npend++].where = own(c, xstrndup(c->path, c->pathlen));
    cpop(c, old);
    return 0;
  }
  if ((v = json_object_get(j, "type")) && (rc = compile_type(c, v, n))) return rc;
  if ((n->enum_v = json_object_get(j, "enum"))) {
    if (!json_is_array(n->enum_v)) return kw_err(c, "enum", "must be an array");
    n->has |= HAS_ENUM;
  }
  if ((n->const_v = json_object_get(j, "const"))) n->has |= HAS_CONST;
  for (i = 0; i < N_N; i++) {
    if (!(v = json_object_get(j, num_kws[i]))) continue;
    if (!json_is_number(v) || (i == N_MULT && json_number_value(v) <= 0))
      return kw_err(c, num_kws[i], i == N_MULT ? "must be a number greater than 0" : "must be a number");
    n->num[i] = num_of(v);
    n->has |= HAS_NUM(i);
  }
  for (i = 0; i < C_N; i++) {
    if (!(v = json_object_get(j, cnt_kws[i]))) continue;
    cnt = json_is_integer(v) ? json_integer_value(v) : -1;
    if ((json_is_real(v) && !real_as_int(json_real_value(v), &cnt)) || cnt < 0)
      return kw_err(c, cnt_kws[i], "must be a non-negative integer");
    n->cnt[i] = (size_t)cnt;
    n->has |= HAS_CNT(i);
  }
  if ((v = json_object_get(j, "pattern"))) {
    if (!json_is_string(v)) return kw_err(c, "pattern", "must be a string");
    old = cpush(c, "pattern", 7);
    rc = compile_re(c, n->pattern_src = json_string_value(v), json_string_length(v), &n->pattern);
    cpop(c, old);
    if (rc) return rc;
  }
  if ((v = json_object_get(j, "format"))) {
    if (!json_is_string(v)) return kw_err(c, "format", "must be a string");
    for (i = 1; i < FMT_N; i++) /* unknown formats are ignored */
      if (!strcmp(json_string_value(v), fmt_names[i])) n->format = (enum fmt)i;
  }
  if ((v = json_object_get(j, "uniqueItems"))) {
    if (!json_is_boolean(v)) return kw_err(c, "uniqueItems", "must be a boolean");
    n->has |= json_is_true(v) ? HAS_UNIQUE : 0;
  }
  if ((v = json_object_get(j, "required"))) {
    if (!string_array(v)) return kw_err(c, "required", "must be an array of strings");
    n->required = v;
  }
  for (i = 0; i < S_N; i++) {
    if (!(v = json_object_get(j, one_kws[i])) || (i == S_ITEMS && json_is_array(v))) continue;
    old = cpush(c, one_kws[i], strlen(one_kws[i]));
    rc = compile_node(c, v, here, &n->one[i]);
    cpop(c, old);
    if (rc) return rc;
  }
  for (i = 0; i < L_N; i++)
    if ((v = json_object_get(j, list_kws[i])) && (i != L_ITEMS || json_is_array(v)) &&
        (rc = compile_list(c, v, here, (int)i, &n->list[i])))
      return rc;
  for (i = M_PROPS; i < M_N; i++)
    if ((v = json_object_get(j, map_kws[i])) && (rc = compile_map(c, v, here, (int)i, n))) return rc;
  return 0;
}

static int compile_node(struct cctx *c, const json_t *j, const char *outer, struct node **out) {
  fofal_schema_t *s = c->s;
  const char *here;
  struct node *n;
  int rc;
  if (c->capmemo && (n = c->memo[memo_slot(c, j)].node)) {
    *out = n;
    return 0;
  }
  if (!json_is_object(j) && !json_is_boolean(j))
    return cerr(c, FOFAL_SCHEMA_EINVAL, "a schema must be an object or a boolean");
  if (c->depth > FOFAL_SCHEMA_MAX_DEPTH)
    return cerr(c, FOFAL_SCHEMA_ETOODEEP, "schema nested deeper than %d levels", FOFAL_SCHEMA_MAX_DEPTH);
  *out = n = xcalloc(1, sizeof *n);
  GROW(s->nodes, s->nnodes, s->capnodes);
  s->nodes[s->nnodes++] = n;
  memo_put(c, j, n);
  n->boolean = json_is_boolean(j) ? json_is_true(j) : -1;
  if (n->boolean >= 0) return 0;
  if ((here = id_base(c, outer, j)) != outer) /* index the $id (full, with any "#anchor") */
    add_ident(c, own(c, uri_resolve(outer, json_string_value(json_object_get(j, "$id")))), j, outer);
  c->depth++;
  rc = compile_keywords(c, j, here, n);
  c->depth--;
  return rc;
}

/* The k-th subschema applied to the same instance value as n (may be NULL). */
static struct node *edge(const struct node *n, size_t k) {
  size_t l;
  if (n->ref) return k == 0 ? n->ref : NULL;
  for (l = L_ALL; l <= L_ONE; k -= n->list[l++].n)
    if (k < n->list[l].n) return n->list[l].v[k];
  if (k < 4) return n->one[S_NOT + k];
  return k - 4 < n->ndeps ? n->deps[k - 4].schema : NULL;
}

static size_t nedges(const struct node *n) {
  return n->ref ? 1 : n->list[L_ALL].n + n->list[L_ANY].n + n->list[L_ONE].n + 4 + n->ndeps;
}

/* Rejects cycles of same-instance edges: they would recurse forever. */
static int check_cycles(struct cctx *c) {
  struct frame {
    struct node *n;
    size_t k;
  } *st = xmalloc(c->s->nnodes * sizeof *st);
  size_t r, sp, i;
  int rc = 0;
  for (r = 0; r < c->s->nnodes && !rc; r++) {
    if (c->s->nodes[r]->mark) continue;
    st[0].n = c->s->nodes[r];
    st[0].k = 0;
    st[0].n->mark = 1;
    for (sp = 1; sp && !rc;) {
      struct frame *f = &st[sp - 1];
      struct node *t;
      if (f->k >= nedges(f->n)) {
        f->n->mark = 2;
        sp--;
      } else if (!(t = edge(f->n, f->k++))) {
        continue;
      } else if (t->mark == 1) {
        const char *via = "";
        for (i = sp; i-- > 0 && !*via;) via = st[i].n->ref_src ? st[i].n->ref_src : "";
        path_set(c, "#");
        rc = cerr(c, FOFAL_SCHEMA_ELOOP,
                  "circular schema reference that never descends into the instance (via $ref \"%s\")", via);
      } else if (!t->mark) {
        t->mark = 1;
        st[sp].n = t;
        st[sp++].k = 0;
      }
    }
  }
  free(st);
  return rc;
}

void fofal_schema_free(fofal_schema_t *s) {
  size_t i, k;
  if (!s) return;
  for (i = 0; i < s->nnodes; i++) {
    struct node *n = s->nodes[i];
    for (k = 0; k < n->npprops; k++) pcre2_code_free(n->pprops[k].re);
    for (k = 0; k < L_N; k++) free(n->list[k].v);
    pcre2_code_free(n->pattern);
    free(n->pprops);
    free(n->props);
    free(n->deps);
    free(n);
  }
  for (i = 0; i < s->ndocs; i++) json_decref(s->docs[i]);
  pcre2_match_context_free(s->mctx);
  free(s->nodes);
  free(s->docs);
  free(s);
}

int fofal_schema_compile_ex(fofal_schema_t **out, const json_t *root, const char *base_uri,
                            const fofal_schema_registry_t *reg, char *errbuf, size_t errlen) {
  struct cctx c;
  const char *base;
  size_t i;
  int rc;
  memset(&c, 0, sizeof c);
  c.err = errbuf;
  c.errlen = errlen;
  path_set(&c, "#");
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!out || !root) return cerr(&c, FOFAL_SCHEMA_EINVAL, "NULL argument");
  *out = NULL;
  c.s = xcalloc(1, sizeof *c.s);
  c.reg = reg;
  c.s->docs = xmalloc(sizeof *c.s->docs);
  c.s->docs[c.s->ndocs++] = jnew(json_deep_copy(root));
  c.s->capdocs = 1;
  base = own(&c, uri_resolve(base_uri, ""));
  add_ident(&c, base, c.s->docs[0], base);
  if ((rc = compile_node(&c, c.s->docs[0], base, &c.s->root))) goto out;
  for (i = 0; i < c.npend; i++) { /* resolve_ref and compile_node may append */
    struct pending p = c.pend[i];
    struct node *t;
    path_set(&c, p.where);
    if ((rc = resolve_ref(&c, &p))) goto out;
    path_set(&c, p.uri);
    if ((rc = compile_node(&c, p.target, p.outer, &t))) goto out;
    p.node->ref = t;
  }
  if ((rc = check_cycles(&c))) goto out;
  if (!(c.s->mctx = pcre2_match_context_create(NULL))) abort();
  pcre2_set_match_limit(c.s->mctx, 1000000); /* bounds catastrophic backtracking */
  *out = c.s;
  c.s = NULL;
out:
  fofal_schema_free(c.s);
  for (i = 0; i < c.nstrs; i++) free(c.strs[i]);
  free(c.strs);
  free(c.ids);
  free(c.memo);
  free(c.pend);
  return rc;
}

int fofal_schema_compile(fofal_schema_t **out, const json_t *root, const char *base_uri, char *errbuf, size_t errlen) {
  return fofal_schema_compile_ex(out, root, base_uri, NULL, errbuf, errlen);
}

/* ---- registry --------------------------------------------------------- */

fofal_schema_registry_t *fofal_schema_registry_new(void) {
  return xcalloc(1, sizeof(fofal_schema_registry_t));
}

int fofal_schema_registry_add(fofal_schema_registry_t *reg, const char *uri, const json_t *doc) {
  char *u;
  size_t i;
  int rc;
  if (!reg || !uri || !*uri || !doc) return FOFAL_SCHEMA_EINVAL;
  u = uri_resolve(NULL, uri);
  rc = strchr(u, '#') ? FOFAL_SCHEMA_EINVAL : 0;
  for (i = 0; i < reg->n && !rc; i++)
    if (!strcmp(reg->v[i].uri, u)) rc = FOFAL_SCHEMA_EEXIST;
  if (rc) {
    free(u);
    return rc;
  }
  GROW(reg->v, reg->n, reg->cap);
  reg->v[reg->n].uri = u;
  reg->v[reg->n++].doc = jnew(json_deep_copy(doc));
  return 0;
}

void fofal_schema_registry_free(fofal_schema_registry_t *reg) {
  size_t i;
  if (!reg) return;
  for (i = 0; i < reg->n; i++) {
    free(reg->v[i].uri);
    json_decref(reg->v[i].doc);
  }
  free(reg->v);
  free(reg);
}

/* ---- JSON value semantics --------------------------------------------- */

static int cmp_int_real(json_int_t i, double d) /* exact */
{
  double t;
  json_int_t ti;
  if (d >= 0x1p63) return -1;
  if (d < -0x1p63) return 1;
  t = trunc(d);
  ti = (json_int_t)t;
  if (i != ti) return i < ti ? -1 : 1;
  return t < d ? -1 : t > d ? 1 : 0;
}

static int num_cmp(struct num a, struct num b) {
  if (a.is_int && b.is_int) return (a.i > b.i) - (a.i < b.i);
  if (!a.is_int && !b.is_int) return (a.d > b.d) - (a.d < b.d);
  return a.is_int ? cmp_int_real(a.i, b.d) : -cmp_int_real(b.i, a.d);
}

/* Integers exactly; otherwise x / m must be within rounding error of an
 * integer, and a quotient that overflows to infinity is not a multiple. */
static bool multiple_of(struct num x, struct num m) {
  double q;
  if (!x.is_int) x.is_int = real_as_int(x.d, &x.i);
  if (!m.is_int) m.is_int = real_as_int(m.d, &m.i);
  if (x.is_int && m.is_int) return m.i > 0 && x.i % m.i == 0;
  if (x.d == trunc(x.d) && m.d == trunc(m.d)) return fmod(x.d, m.d) == 0;
  q = x.d / m.d;
  return isfinite(q) && fabs(q - round(q)) <= 4 * DBL_EPSILON * fabs(q);
}

/* 1 equal, 0 not, or FOFAL_SCHEMA_ETOODEEP.  Numbers compare by value (1 == 1.0). */
static int jequal(const json_t *a, const json_t *b, int depth) {
  size_t i, klen;
  const char *key;
  const json_t *va;
  int r;
  if (depth > FOFAL_SCHEMA_MAX_DEPTH) return FOFAL_SCHEMA_ETOODEEP;
  if (json_is_number(a) && json_is_number(b)) return num_cmp(num_of(a), num_of(b)) == 0;
  if (json_typeof(a) != json_typeof(b)) return 0;
  switch (json_typeof(a)) {
  case JSON_STRING:
    return json_string_length(a) == json_string_length(b) &&
           !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
  case JSON_ARRAY:
    if (json_array_size(a) != json_array_size(b)) return 0;
    json_array_foreach(a, i, va) {
      if ((r = jequal(va, json_array_get(b, i), depth + 1)) != 1) return r;
    }
    return 1;
  case JSON_OBJECT:
    if (json_object_size(a) != json_object_size(b)) return 0;
    json_object_keylen_foreach((json_t *)a, key, klen, va) {
      const json_t *vb = json_object_getn(b, key, klen);
      if (!vb || (r = jequal(va, vb, depth + 1)) != 1) return vb ? r : 0;
    }
    return 1;
  default: return 1;
  }
}

static uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  while (n--) h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
  return mix64(h);
}

/* A hash consistent with jequal: equal values hash alike. */
static int jhash(const json_t *j, int depth, uint64_t *out) {
  uint64_t h = (uint64_t)json_typeof(j) * 0x9e3779b97f4a7c15ULL, e;
  json_int_t i;
  double d;
  size_t k, klen;
  const char *key;
  const json_t *v;
  int r;
  if (depth > FOFAL_SCHEMA_MAX_DEPTH) return FOFAL_SCHEMA_ETOODEEP;
  switch (json_typeof(j)) {
  case JSON_INTEGER: h = mix64((uint64_t)json_integer_value(j) ^ 0x1d8e4e27c47d124fULL); break;
  case JSON_REAL: /* integral reals hash like the integer */
    d = json_real_value(j);
    if (real_as_int(d, &i)) {
      h = mix64((uint64_t)i ^ 0x1d8e4e27c47d124fULL);
    } else {
      memcpy(&h, &d, sizeof h);
      h = mix64(h);
    }
    break;
  case JSON_STRING: h = fnv(json_string_value(j), json_string_length(j)); break;
  case JSON_ARRAY:
    json_array_foreach(j, k, v) {
      if ((r = jhash(v, depth + 1, &e))) return r;
      h = mix64(h + e);
    }
    break;
  case JSON_OBJECT: /* order-independent */
    json_object_keylen_foreach((json_t *)j, key, klen, v) {
      if ((r = jhash(v, depth + 1, &e))) return r;
      h += mix64(fnv(key, klen) ^ mix64(e));
    }
    break;
  default: break;
  }
  *out = h;
  return 0;
}

struct hidx {
  uint64_t h;
  size_t i;
};

static int hidx_cmp(const void *a, const void *b) {
  const struct hidx *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* 1 with *ia < *ib if two items are equal, 0 if all are unique, or an error.
 * Items are sorted by hash; only items with equal hashes are compared. */
static int find_dup(const json_t *arr, size_t *ia, size_t *ib) {
  struct hidx small[16], *v = small;
  size_t n = json_array_size(arr), a, b, x, y;
  int rc = 0;
  if (n > COUNT(small)) v = xmalloc(n * sizeof *v);
  for (x = 0; x < n && !rc; x++) {
    v[x].i = x;
    rc = jhash(json_array_get(arr, x), 0, &v[x].h);
  }
  if (!rc) qsort(v, n, sizeof *v, hidx_cmp);
  for (a = 0; a < n && !rc; a = b) {
    for (b = a + 1; b < n && v[b].h == v[a].h; b++)
      ;
    for (x = a; x < b && !rc; x++)
      for (y = x + 1; y < b && !rc; y++)
        if ((rc = jequal(json_array_get(arr, v[x].i), json_array_get(arr, v[y].i), 0)) == 1) {
          *ia = v[x].i;
          *ib = v[y].i;
        }
  }
  if (v != small) free(v);
  return rc;
}

/* ---- formats ---------------------------------------------------------- */

/* The n-digit decimal number at s, or -1 if a character is not a digit. */
static int dnum(const char *s, size_t n) {
  int v = 0;
  for (; n--; s++) v = *s >= '0' && *s <= '9' && v >= 0 ? v * 10 + (*s - '0') : -1;
  return v;
}

static bool fmt_date(const char *s, size_t len) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, m, d;
  if (len != 10 || s[4] != '-' || s[7] != '-') return false;
  y = dnum(s, 4);
  m = dnum(s + 5, 2);
  d = dnum(s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1) return false;
  return d <= dim[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* RFC 3339 full-time; a leap second only at 23:59:60 UTC. */
static bool fmt_time(const char *s, size_t len) {
  size_t i = 8, st;
  int h, mi, se, oh = 0, om = 0;
  if (len <= 8 || s[2] != ':' || s[5] != ':') return false;
  h = dnum(s, 2);
  mi = dnum(s + 3, 2);
  se = dnum(s + 6, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return false;
  if (s[i] == '.') {
    for (st = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
      ;
    if (i == st || i >= len) return false;
  }
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 != len) return false;
  if (s[i] == '+' || s[i] == '-') {
    if (len - i != 6 || s[i + 3] != ':') return false;
    oh = dnum(s + i + 1, 2);
    om = dnum(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
    if (s[i] == '-') oh = -oh, om = -om;
  } else if (s[i] != 'Z' && s[i] != 'z') {
    return false;
  }
  return se < 60 || ((h * 60 + mi - oh * 60 - om) % 1440 + 1440) % 1440 == 23 * 60 + 59;
}

static bool check_format(enum fmt f, const char *s, size_t len) {
  size_t i;
  switch (f) {
  case FMT_DATE: return fmt_date(s, len);
  case FMT_TIME: return fmt_time(s, len);
  case FMT_DATE_TIME:
    return len > 11 && fmt_date(s, 10) && (s[10] == 'T' || s[10] == 't') && fmt_time(s + 11, len - 11);
  case FMT_UUID:
    for (i = 0; i < len; i++)
      if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : hexval(s[i]) < 0) return false;
    return len == 36;
  default: return true;
  }
}

/* ---- validation ------------------------------------------------------- */

struct vctx {
  const fofal_schema_t *s;
  json_t *errors; /* NULL: no details wanted, stop at the first failure */
  size_t nerr;
  int quiet; /* > 0 inside anyOf/oneOf/not/if/contains/propertyNames */
  bool full, fatal;
  int depth, eval;
  struct seg { /* instance location; key NULL: array index in len */
    const char *key;
    size_t len;
  } path[FOFAL_SCHEMA_MAX_DEPTH];
  pcre2_match_data *md;
};

static bool stop(const struct vctx *c) {
  return c->quiet > 0 || c->full || !c->errors;
}

/* Appends {"pointer","keyword","message"}; pointer = path (+ key if non-NULL). */
static void append_err(struct vctx *c, const char *key, size_t klen, const char *kw, const char *msg) {
  size_t cap = 64, n = 0, k, sl;
  char *p = xmalloc(cap), num[32];
  json_t *e = jnew(json_object());
  const char *sk;
  int d, r;
  for (d = 0; d < c->depth || (d == c->depth && key); d++) {
    sk = d == c->depth ? key : c->path[d].key;
    sl = d == c->depth ? klen : c->path[d].len;
    if (!sk) {
      snprintf(num, sizeof num, "%zu", sl);
      sk = num;
      sl = strlen(num);
    }
    if (n + 2 * sl + 2 > cap) p = xrealloc(p, cap = 2 * (n + 2 * sl + 2));
    p[n++] = '/';
    for (k = 0; k < sl; k++) {
      if (sk[k] == '~' || sk[k] == '/') p[n++] = '~';
      p[n++] = sk[k] == '~' ? '0' : sk[k] == '/' ? '1' : sk[k];
    }
  }
  if (json_object_set_new(e, "pointer", jstr(p, n)) || json_object_set_new(e, "keyword", jstr(kw, strlen(kw))) ||
      json_object_set_new(e, "message", jstr(msg, strlen(msg))))
    abort();
  free(p);
  if (json_array_size(c->errors) >= FOFAL_SCHEMA_MAX_ERRORS) /* only the depth diagnostic */
    r = json_array_set_new(c->errors, FOFAL_SCHEMA_MAX_ERRORS - 1, e);
  else
    r = json_array_append_new(c->errors, e);
  if (r) abort();
  c->full = ++c->nerr >= FOFAL_SCHEMA_MAX_ERRORS;
}

/* Records a violation at the current location (+ key if non-NULL); returns 1. */
PRINTF_LIKE(5, 6)
static int report_at(struct vctx *c, const char *key, size_t klen, const char *kw, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  if (stop(c)) return 1;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  append_err(c, key, klen, kw, msg);
  return 1;
}

#define report(c, ...) report_at((c), NULL, 0, __VA_ARGS__)

static int too_deep(struct vctx *c, const char *what, int limit) {
  char msg[128];
  if (!c->fatal && c->errors) {
    snprintf(msg, sizeof msg, "%s nested deeper than %d levels", what, limit);
    append_err(c, NULL, 0, "$depth", msg);
  }
  c->fatal = true;
  return FOFAL_SCHEMA_ETOODEEP;
}

/* For a check returning 0 (ok), 1 (violation) or < 0 (error), in a function
 * with `int rc` and an `out:` label: keep going after a violation only while
 * every violation is being collected. */
#define CHECK(expr)          \
  do {                       \
    int r_ = (expr);         \
    if (r_ < 0) {            \
      rc = r_;               \
      goto out;              \
    }                        \
    if (r_ > 0) {            \
      rc = 1;                \
      if (stop(c)) goto out; \
    }                        \
  } while (0)

static int v_node(struct vctx *c, const struct node *n, const json_t *j);

static int v_child(struct vctx *c, const struct node *n, const json_t *j, const char *key, size_t len) {
  int rc;
  if (n->boolean == 1) return 0;
  if (c->depth >= FOFAL_SCHEMA_MAX_DEPTH) return too_deep(c, "instance", FOFAL_SCHEMA_MAX_DEPTH);
  c->path[c->depth].key = key;
  c->path[c->depth++].len = len;
  rc = v_node(c, n, j);
  c->depth--;
  return rc;
}

static int v_quiet(struct vctx *c, const struct node *n, const json_t *j) {
  int rc;
  c->quiet++;
  rc = v_node(c, n, j);
  c->quiet--;
  return rc;
}

static int re_match(struct vctx *c, const pcre2_code *re, const char *s, size_t len) {
  int r;
  if (!c->md && !(c->md = pcre2_match_data_create(1, NULL))) abort();
  r = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, c->md, c->s->mctx);
  return r >= 0 ? 1 : r == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static const char *fmt_num(char *b, size_t n, struct num x) {
  int p;
  if (x.is_int)
    snprintf(b, n, "%" JSON_INTEGER_FORMAT, x.i);
  else
    for (p = 1; p <= 17; p++) { /* shortest form that reads back exactly */
      snprintf(b, n, "%.*g", p, x.d);
      if (strtod(b, NULL) == x.d) break;
    }
  return b;
}

/* minX / maxX keywords (k = C_MIN*): have is the length / size. */
static int v_counts(struct vctx *c, const struct node *n, int k, size_t have, const char *unit) {
  int rc = 0;
  if ((n->has & HAS_CNT(k)) && have < n->cnt[k])
    CHECK(report(c, cnt_kws[k], "must have at least %zu %s", n->cnt[k], unit));
  if ((n->has & HAS_CNT(k + 1)) && have > n->cnt[k + 1])
    CHECK(report(c, cnt_kws[k + 1], "must have at most %zu %s", n->cnt[k + 1], unit));
out:
  return rc;
}

static int v_number(struct vctx *c, const struct node *n, const json_t *j) {
  static const char *const ops[N_MULT] = {">=", "<=", ">", "<"};
  struct num x = num_of(j);
  char b[48];
  int rc = 0, k, cmp;
  for (k = N_MIN; k < N_MULT; k++) {
    if (!(n->has & HAS_NUM(k))) continue;
    cmp = num_cmp(x, n->num[k]);
    if ((k == N_MIN || k == N_XMIN) ? cmp < 0 || (k == N_XMIN && cmp == 0) : cmp > 0 || (k == N_XMAX && !cmp))
      CHECK(report(c, num_kws[k], "must be %s %s", ops[k], fmt_num(b, sizeof b, n->num[k])));
  }
  if ((n->has & HAS_NUM(N_MULT)) && !multiple_of(x, n->num[N_MULT]))
    CHECK(report(c, "multipleOf", "must be a multiple of %s", fmt_num(b, sizeof b, n->num[N_MULT])));
out:
  return rc;
}

static int v_string(struct vctx *c, const struct node *n, const json_t *j) {
  const char *s = json_string_value(j);
  size_t len = json_string_length(j), cp = 0, i;
  int rc = 0, m;
  if (n->has & (HAS_CNT(C_MINLEN) | HAS_CNT(C_MAXLEN))) {
    for (i = 0; i < len; i++) /* code points, not bytes */
      cp += ((unsigned char)s[i] & 0xC0) != 0x80;
    CHECK(v_counts(c, n, C_MINLEN, cp, "characters"));
  }
  if (n->pattern && (m = re_match(c, n->pattern, s, len)) != 1)
    CHECK(report(c, "pattern", m == 0 ? "must match the pattern \"%s\"" : "could not be matched against \"%s\"",
                 n->pattern_src));
  if (n->format && !check_format(n->format, s, len))
    CHECK(report(c, "format", "must be a valid %s", fmt_names[n->format]));
out:
  return rc;
}

static int v_array(struct vctx *c, const struct node *n, const json_t *j) {
  const struct nodelist *tuple = &n->list[L_ITEMS];
  const struct node *sub;
  size_t sz = json_array_size(j), i, a = 0, b = 0;
  int rc = 0, r = 1;
  CHECK(v_counts(c, n, C_MINITEMS, sz, "items"));
  for (i = 0; i < sz; i++) {
    if (!(sub = tuple->v ? (i < tuple->n ? tuple->v[i] : n->one[S_ADD_ITEMS]) : n->one[S_ITEMS])) break;
    if (sub->boolean == 0 && tuple->v && i >= tuple->n) {
      CHECK(report(c, "additionalItems", "must have at most %zu items", tuple->n));
      break;
    }
    CHECK(v_child(c, sub, json_array_get(j, i), NULL, i));
  }
  if (n->one[S_CONTAINS]) {
    c->quiet++;
    for (i = 0; i < sz && r > 0; i++) r = v_child(c, n->one[S_CONTAINS], json_array_get(j, i), NULL, i);
    c->quiet--;
    CHECK(r < 0 ? r : 0);
    if (r) CHECK(report(c, "contains", "must contain at least one matching item"));
  }
  if ((n->has & HAS_UNIQUE) && sz > 1 && (r = find_dup(j, &a, &b)))
    CHECK(r < 0 ? too_deep(c, "instance", FOFAL_SCHEMA_MAX_DEPTH)
                : report(c, "uniqueItems", "items %zu and %zu are equal", a, b));
out:
  return rc;
}

static int v_object(struct vctx *c, const struct node *n, const json_t *j) {
  const struct node *ap = n->one[S_ADD_PROPS];
  size_t i, k, klen;
  const json_t *e, *v;
  const char *key;
  struct prop probe;
  void *it;
  int rc = 0, r;
  CHECK(v_counts(c, n, C_MINPROPS, json_object_size(j), "properties"));
  json_array_foreach(n->required, i, e) {
    if (!json_object_getn(j, json_string_value(e), json_string_length(e)))
      CHECK(report_at(c, json_string_value(e), json_string_length(e), "required", "is required"));
  }
  for (i = 0; i < n->nprops; i++)
    if ((v = json_object_getn(j, n->props[i].key, n->props[i].klen)))
      CHECK(v_child(c, n->props[i].schema, v, n->props[i].key, n->props[i].klen));
  for (i = 0; i < n->ndeps; i++) {
    const struct dep *d = &n->deps[i];
    if (!json_object_getn(j, d->key, d->klen)) continue;
    if (d->schema) CHECK(v_node(c, d->schema, j));
    json_array_foreach(d->names, k, e) {
      if (!json_object_getn(j, json_string_value(e), json_string_length(e)))
        CHECK(report_at(c, json_string_value(e), json_string_length(e), "dependencies",
                        "is required when \"%.*s\" is present", (int)(d->klen > 64 ? 64 : d->klen), d->key));
    }
  }
  if (!n->npprops && !ap && !n->one[S_PROP_NAMES]) goto out;
  for (it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
    bool matched;
    key = json_object_iter_key(it);
    klen = json_object_iter_key_len(it);
    v = json_object_iter_value(it);
    if (n->one[S_PROP_NAMES]) {
      json_t *ks = jnew(json_stringn_nocheck(key, klen));
      r = v_quiet(c, n->one[S_PROP_NAMES], ks);
      json_decref(ks);
      if (r) CHECK(r < 0 ? r : report_at(c, key, klen, "propertyNames", "is not an allowed property name"));
    }
    probe.key = key;
    probe.klen = klen;
    matched = n->nprops && bsearch(&probe, n->props, n->nprops, sizeof *n->props, prop_cmp);
    for (i = 0; i < n->npprops; i++)
      if (re_match(c, n->pprops[i].re, key, klen) == 1) {
        matched = true;
        CHECK(v_child(c, n->pprops[i].schema, v, key, klen));
      }
    if (!matched && ap && ap->boolean == 0)
      CHECK(report_at(c, key, klen, "additionalProperties", "is not an allowed property"));
    else if (!matched && ap)
      CHECK(v_child(c, ap, v, key, klen));
  }
out:
  return rc;
}

static int v_logic(struct vctx *c, const struct node *n, const json_t *j) {
  const struct nodelist *any = &n->list[L_ANY], *one = &n->list[L_ONE];
  size_t i, hits = 0, first = 0, second = 0;
  int rc = 0, r = 1;
  for (i = 0; i < n->list[L_ALL].n; i++) CHECK(v_node(c, n->list[L_ALL].v[i], j));
  for (i = 0; i < any->n && r == 1; i++) CHECK((r = v_quiet(c, any->v[i], j)) < 0 ? r : 0);
  if (any->n && r) CHECK(report(c, "anyOf", "must match at least one of the anyOf schemas"));
  for (i = 0; i < one->n && hits < 2; i++) {
    CHECK((r = v_quiet(c, one->v[i], j)) < 0 ? r : 0);
    if (r == 0) *(hits++ ? &second : &first) = i;
  }
  if (one->n && hits == 0)
    CHECK(report(c, "oneOf", "must match exactly one of the oneOf schemas (matched none)"));
  else if (hits > 1)
    CHECK(report(c, "oneOf", "must match exactly one of the oneOf schemas (matched %zu and %zu)", first, second));
  if (n->one[S_NOT] && (r = v_quiet(c, n->one[S_NOT], j)) <= 0)
    CHECK(r < 0 ? r : report(c, "not", "must not match the \"not\" schema"));
  if (n->one[S_IF] && (n->one[S_THEN] || n->one[S_ELSE])) {
    const struct node *branch;
    CHECK((r = v_quiet(c, n->one[S_IF], j)) < 0 ? r : 0);
    if ((branch = n->one[r == 0 ? S_THEN : S_ELSE])) CHECK(v_node(c, branch, j));
  }
out:
  return rc;
}

static int v_type(struct vctx *c, const struct node *n, const json_t *j) {
  unsigned have = 0;
  char b[96] = "";
  size_t i, len = 0;
  switch (json_typeof(j)) {
  case JSON_NULL: have = T_NULL; break;
  case JSON_TRUE:
  case JSON_FALSE: have = T_BOOL; break;
  case JSON_OBJECT: have = T_OBJECT; break;
  case JSON_ARRAY: have = T_ARRAY; break;
  case JSON_STRING: have = T_STRING; break;
  case JSON_INTEGER: have = T_NUMBER | T_INTEGER; break;
  case JSON_REAL: have = T_NUMBER | (json_real_value(j) == trunc(json_real_value(j)) ? T_INTEGER : 0); break;
  }
  if (n->types & have) return 0;
  for (i = 0; i < COUNT(type_names) && !stop(c); i++)
    if ((n->types & (1u << i)) && !((1u << i) == T_INTEGER && (n->types & T_NUMBER)))
      len += (size_t)snprintf(b + len, sizeof b - len, "%s%s", len ? " or " : "", type_names[i]);
  return report(c, "type", "must be %s", len ? b : "nothing (empty type list)");
}

/* enum (list is an array of allowed values) or const (list is the value). */
static int v_enum(struct vctx *c, const json_t *j, const json_t *list, bool is_const) {
  size_t i, n = is_const ? 1 : json_array_size(list);
  char *txt;
  int r;
  for (i = 0; i < n; i++)
    if ((r = jequal(is_const ? list : json_array_get(list, i), j, 0)) != 0)
      return r < 0 ? too_deep(c, "instance", FOFAL_SCHEMA_MAX_DEPTH) : 0;
  if (stop(c)) return 1;
  txt = json_dumps(list, JSON_COMPACT | JSON_ENCODE_ANY);
  if (txt && strlen(txt) <= 120)
    report(c, is_const ? "const" : "enum", "must be %s %s", is_const ? "equal to" : "one of", txt);
  else
    report(c, is_const ? "const" : "enum", "must be %s", is_const ? "the constant" : "an allowed value");
  free(txt);
  return 1;
}

static int v_node(struct vctx *c, const struct node *n, const json_t *j) {
  int rc = 0;
  if (c->eval >= FOFAL_SCHEMA_MAX_EVAL_DEPTH) return too_deep(c, "schema evaluation", FOFAL_SCHEMA_MAX_EVAL_DEPTH);
  c->eval++;
  if (n->boolean >= 0) {
    rc = n->boolean ? 0 : report(c, "false", "no value is allowed here");
    goto out;
  }
  if (n->ref) {
    rc = v_node(c, n->ref, j);
    goto out;
  }
  if (n->types) CHECK(v_type(c, n, j));
  if (n->has & HAS_ENUM) CHECK(v_enum(c, j, n->enum_v, false));
  if (n->has & HAS_CONST) CHECK(v_enum(c, j, n->const_v, true));
  if (json_is_number(j))
    CHECK(v_number(c, n, j));
  else if (json_is_string(j))
    CHECK(v_string(c, n, j));
  else if (json_is_array(j))
    CHECK(v_array(c, n, j));
  else if (json_is_object(j))
    CHECK(v_object(c, n, j));
  CHECK(v_logic(c, n, j));
out:
  c->eval--;
  return rc;
}

int fofal_schema_validate(const fofal_schema_t *s, const json_t *instance, json_t **errors_out) {
  struct vctx c;
  int rc;
  if (errors_out) *errors_out = NULL;
  if (!s || !instance) return FOFAL_SCHEMA_EINVAL;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.errors = errors_out ? jnew(json_array()) : NULL;
  rc = v_node(&c, s->root, instance);
  pcre2_match_data_free(c.md);
  if (errors_out) *errors_out = c.errors;
  return rc;
}
