/* Private to commands/: a JSON Schema (draft-07) validator on top of jansson.
 *
 * A schema is compiled once into an immutable tree (regexes compiled, $refs
 * resolved, keyword arguments checked) and can then validate any number of
 * instances, from any number of threads at once.  Validation reports every
 * violation (capped at FOFAL_SCHEMA_MAX_ERRORS) as JSON objects of the form
 *   {"pointer": "/items/3/qty", "keyword": "minimum", "message": "must be >= 1"}
 * where "pointer" is an RFC 6901 JSON pointer into the instance.
 *
 * Ownership follows jansson's vocabulary: a "borrowed" argument stays owned by
 * the caller and is not kept after the call returns; a "new" result belongs to
 * the caller, who must release it (json_decref / the matching _free).
 *
 * Out of memory aborts the process (as everywhere in FOFAL); no function logs.
 */
#ifndef FOFAL_COMMANDS_JSONSCHEMA_H
#define FOFAL_COMMANDS_JSONSCHEMA_H

#include <stddef.h>

#include <jansson.h>

/* Error codes (negative).  The lead maps them onto the project-wide list. */
#define FOFAL_SCHEMA_ENOREF (-2)   /* a $ref names a document or location that cannot be found */
#define FOFAL_SCHEMA_ETOODEEP (-7) /* nesting over FOFAL_SCHEMA_MAX_DEPTH / FOFAL_SCHEMA_MAX_EVAL_DEPTH */
#define FOFAL_SCHEMA_EEXIST (-17)  /* registry already holds a document under that URI */
#define FOFAL_SCHEMA_EINVAL (-22)  /* invalid schema or invalid argument */
#define FOFAL_SCHEMA_ELOOP (-40)   /* $ref / allOf / anyOf / ... cycle that never descends into the instance */

/* Limits. */
#define FOFAL_SCHEMA_MAX_DEPTH 64       /* schema nesting and instance nesting */
#define FOFAL_SCHEMA_MAX_EVAL_DEPTH 512 /* nested subschema evaluations for one validation */
#define FOFAL_SCHEMA_MAX_ERRORS 64      /* entries in an errors array, the depth diagnostic included */

/* A compiled schema.  Immutable once compiled; fofal_schema_validate may be
 * called on the same schema from many threads concurrently. */
typedef struct fofal_schema fofal_schema_t;

/* A set of documents that $ref may name by absolute URI ("other.json#/definitions/x"
 * resolved against the referring schema's base URI).  Not thread-safe while being
 * filled; read-only (and so shareable) during fofal_schema_compile_ex. */
typedef struct fofal_schema_registry fofal_schema_registry_t;

/* Returns a NEW, empty registry.  Never returns NULL (aborts on out of memory). */
fofal_schema_registry_t *fofal_schema_registry_new(void);

/* Registers `doc` (borrowed; the registry keeps its own deep copy, so the caller
 * may change or free `doc` afterwards) under the absolute URI `uri` (borrowed;
 * a trailing empty fragment "#" is ignored).  The document itself is checked only
 * when a compiled schema refers to it.
 * Returns 0, FOFAL_SCHEMA_EINVAL for a NULL/empty argument or a URI with a
 * non-empty fragment, FOFAL_SCHEMA_EEXIST if `uri` is already registered. */
int fofal_schema_registry_add(fofal_schema_registry_t *reg, const char *uri, const json_t *doc);

/* Frees the registry and its copies.  Compiled schemas keep what they use, so
 * this may be called while schemas compiled with it are still alive.
 * NULL is a no-op. */
void fofal_schema_registry_free(fofal_schema_registry_t *reg);

/* Compiles `root` (borrowed; the compiled schema keeps its own deep copy, so the
 * caller may change or free `root` afterwards).  `base_uri` (borrowed, may be
 * NULL) is the document's retrieval URI, used to resolve a relative root "$id"
 * and relative $refs.  `reg` (borrowed, may be NULL) supplies other documents for
 * $ref; only the documents actually referenced are kept (by reference) in the
 * compiled schema.
 * On success returns 0 and stores a NEW schema in *out (free it with
 * fofal_schema_free).  On failure returns FOFAL_SCHEMA_EINVAL (malformed
 * schema), FOFAL_SCHEMA_ENOREF, FOFAL_SCHEMA_ETOODEEP or FOFAL_SCHEMA_ELOOP,
 * sets *out to NULL and, if errbuf is non-NULL and errlen > 0, writes a
 * NUL-terminated message naming the offending schema location into errbuf. */
int fofal_schema_compile_ex(fofal_schema_t **out, const json_t *root, const char *base_uri,
                            const fofal_schema_registry_t *reg, char *errbuf, size_t errlen);

/* fofal_schema_compile_ex without a registry. */
int fofal_schema_compile(fofal_schema_t **out, const json_t *root, const char *base_uri, char *errbuf, size_t errlen);

/* Frees a compiled schema.  NULL is a no-op. */
void fofal_schema_free(fofal_schema_t *s);

/* Validates `instance` (borrowed, not modified) against `s`.
 * Returns 0 if valid, 1 if invalid, FOFAL_SCHEMA_ETOODEEP if the instance is
 * nested deeper than FOFAL_SCHEMA_MAX_DEPTH where the schema descends into it
 * (or evaluation recursion exceeds FOFAL_SCHEMA_MAX_EVAL_DEPTH), and
 * FOFAL_SCHEMA_EINVAL for a NULL `s` or `instance`.
 * If `errors_out` is non-NULL, *errors_out is ALWAYS set (for every return
 * value except FOFAL_SCHEMA_EINVAL, where it is set to NULL) to a NEW array:
 * empty when valid, otherwise one {"pointer","keyword","message"} object per
 * violation, at most FOFAL_SCHEMA_MAX_ERRORS of them; on FOFAL_SCHEMA_ETOODEEP
 * its last entry has keyword "$depth".  For "required" and "dependencies" the
 * pointer names the missing member; for anyOf/oneOf/not/contains/propertyNames
 * only the combined failure is reported, not each branch's violations.
 * The caller json_decref()s the array. */
int fofal_schema_validate(const fofal_schema_t *s, const json_t *instance, json_t **errors_out);

#endif /* FOFAL_COMMANDS_JSONSCHEMA_H */
