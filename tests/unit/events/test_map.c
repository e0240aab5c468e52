/*
 * test_map.c — events/map.c: the open-addressing string map.
 *
 * put/get/replace/take with and without a free function, a large insert/delete/lookup
 * run that checks backward-shift deletion, a randomised run against a reference model on
 * a small table (long clusters that wrap around the end), iteration, size and bytes.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

/* A free function that counts, and remembers the last value it freed. */
static int n_freed;
static void *last_freed;
static void counting_free(void *v) {
  n_freed++;
  last_freed = v;
  free(v);
}

static void reset_counts(void) {
  n_freed = 0;
  last_freed = NULL;
}

TestSuite(map, .init = reset_counts);

#define V(i) ((void *)(uintptr_t)(i))

Test(map, put_get_and_missing) {
  fofal_map_t *m = fofal_map_new(NULL);
  cr_assert_eq(fofal_map_size(m), 0);
  cr_assert_null(fofal_map_get(m, "a"));
  fofal_map_put(m, "a", V(1));
  fofal_map_put(m, "b", V(2));
  fofal_map_put(m, "", V(3)); /* the empty key is a key */
  cr_assert_eq(fofal_map_get(m, "a"), V(1));
  cr_assert_eq(fofal_map_get(m, "b"), V(2));
  cr_assert_eq(fofal_map_get(m, ""), V(3));
  cr_assert_null(fofal_map_get(m, "c"));
  cr_assert_null(fofal_map_get(m, "ab"));
  cr_assert_eq(fofal_map_size(m), 3);
  fofal_map_free(m);
}

Test(map, keys_are_copied) {
  fofal_map_t *m = fofal_map_new(NULL);
  char key[16] = "order-1";
  fofal_map_put(m, key, V(7));
  strcpy(key, "order-2");
  cr_assert_eq(fofal_map_get(m, "order-1"), V(7), "the map must keep its own copy of the key");
  cr_assert_null(fofal_map_get(m, "order-2"));
  fofal_map_free(m);
}

Test(map, replace_frees_the_old_value) {
  fofal_map_t *m = fofal_map_new(counting_free);
  char *v1 = fofal_strdup("one"), *v2 = fofal_strdup("two");
  fofal_map_put(m, "k", v1);
  cr_assert_eq(n_freed, 0);
  fofal_map_put(m, "k", v2);
  cr_assert_eq(n_freed, 1, "replacing must free the old value once");
  cr_assert_eq(last_freed, v1);
  cr_assert_eq(fofal_map_get(m, "k"), v2);
  cr_assert_eq(fofal_map_size(m), 1, "a replace is not an insert");
  /* Putting the same pointer again must not free it (it is still the value). */
  fofal_map_put(m, "k", v2);
  cr_assert_eq(n_freed, 1);
  cr_assert_str_eq(fofal_map_get(m, "k"), "two");
  fofal_map_free(m);
  cr_assert_eq(n_freed, 2, "free must free the remaining value");
  cr_assert_eq(last_freed, v2);
}

Test(map, take_returns_without_freeing) {
  fofal_map_t *m = fofal_map_new(counting_free);
  char *v = fofal_strdup("value");
  fofal_map_put(m, "k", v);
  fofal_map_put(m, "other", fofal_strdup("x"));
  void *got = fofal_map_take(m, "k");
  cr_assert_eq(got, v);
  cr_assert_eq(n_freed, 0, "take must not free the value");
  cr_assert_str_eq(got, "value", "the value is intact and the caller's again");
  cr_assert_null(fofal_map_get(m, "k"));
  cr_assert_eq(fofal_map_size(m), 1);
  cr_assert_null(fofal_map_take(m, "k"), "a second take finds nothing");
  cr_assert_null(fofal_map_take(m, "never"));
  free(got);
  cr_assert_str_eq(fofal_map_get(m, "other"), "x");
  fofal_map_free(m);
  cr_assert_eq(n_freed, 1);
}

Test(map, free_null_is_a_noop) { fofal_map_free(NULL); }

#define BIG 100000

Test(map, hundred_thousand_keys_half_removed) {
  fofal_map_t *m = fofal_map_new(NULL);
  char key[32];
  for (int i = 0; i < BIG; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    fofal_map_put(m, key, V(i + 1));
  }
  cr_assert_eq(fofal_map_size(m), BIG);
  for (int i = 0; i < BIG; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    cr_assert_eq(fofal_map_get(m, key), V(i + 1), "%s lost after inserts", key);
  }
  /* Remove every other key, then every key that is a multiple of 3 not yet removed:
   * holes in every cluster, in different patterns. */
  size_t removed = 0;
  for (int i = 0; i < BIG; i += 2) {
    snprintf(key, sizeof key, "key-%d", i);
    cr_assert_eq(fofal_map_take(m, key), V(i + 1), "take %s", key);
    removed++;
  }
  cr_assert_eq(fofal_map_size(m), BIG - removed);
  for (int i = 0; i < BIG; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    if (i % 2)
      cr_assert_eq(fofal_map_get(m, key), V(i + 1), "%s unreachable after deletions", key);
    else
      cr_assert_null(fofal_map_get(m, key), "%s still there after take", key);
  }
  for (int i = 3; i < BIG; i += 6) {
    snprintf(key, sizeof key, "key-%d", i);
    cr_assert_eq(fofal_map_take(m, key), V(i + 1), "take %s", key);
    removed++;
  }
  cr_assert_eq(fofal_map_size(m), BIG - removed);
  for (int i = 0; i < BIG; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    int present = i % 2 && i % 6 != 3;
    if (present)
      cr_assert_eq(fofal_map_get(m, key), V(i + 1), "%s unreachable after deletions", key);
    else
      cr_assert_null(fofal_map_get(m, key), "%s still there after take", key);
  }
  /* Put the removed ones back with new values: all reachable again. */
  for (int i = 0; i < BIG; i++) {
    if (i % 2 && i % 6 != 3) continue;
    snprintf(key, sizeof key, "key-%d", i);
    fofal_map_put(m, key, V(i + 2));
  }
  cr_assert_eq(fofal_map_size(m), BIG);
  for (int i = 0; i < BIG; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    int kept = i % 2 && i % 6 != 3;
    cr_assert_eq(fofal_map_get(m, key), V(kept ? i + 1 : i + 2), "%s", key);
  }
  fofal_map_free(m);
}

/* xorshift64*: deterministic so that a failure is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random puts and takes over a pool of `pool` keys, checked against a reference model.
 * The table never shrinks and grows past 70 % load, so a pool of 11 keeps it at 16
 * slots and 22 at 32, nearly full: long clusters that wrap past the end of the table,
 * the cases backward shift must get right. The salt changes the key names, and so
 * where in the table they hash to. */
static void random_run(int pool, int ops, int salt) {
  fofal_map_t *m = fofal_map_new(NULL);
  uintptr_t *model = fofal_calloc((size_t)pool, sizeof *model); /* 0 = absent */
  size_t live = 0;
  char key[32];
  for (int op = 0; op < ops; op++) {
    int k = (int)(rng() % (uint64_t)pool);
    snprintf(key, sizeof key, "k%d-%d", salt, k);
    if (rng() % 3 < 2) {
      uintptr_t v = (uintptr_t)op + 1;
      if (!model[k]) live++;
      model[k] = v;
      fofal_map_put(m, key, V(v));
    } else {
      void *got = fofal_map_take(m, key);
      cr_assert_eq(got, V(model[k]), "pool %d, op %d: take %s", pool, op, key);
      if (model[k]) live--;
      model[k] = 0;
    }
    if (pool < 100 || op % 1000 == 999) {
      cr_assert_eq(fofal_map_size(m), live, "pool %d, op %d: size", pool, op);
      for (int j = 0; j < pool; j++) {
        snprintf(key, sizeof key, "k%d-%d", salt, j);
        cr_assert_eq(fofal_map_get(m, key), V(model[j]), "pool %d, op %d: get %s", pool, op, key);
      }
    }
  }
  free(model);
  fofal_map_free(m);
}

Test(map, random_operations_match_a_reference_model) {
  for (int salt = 0; salt < 200; salt++) {
    random_run(11, 1000, salt);
    random_run(22, 1000, salt);
  }
  random_run(300, 200000, 0);
}

typedef struct {
  int *visits;
  int n;
  size_t calls;
} each_ctx_t;

static void visit(void *opaque, const char *key, void *value) {
  each_ctx_t *c = opaque;
  int i = -1;
  cr_assert_eq(sscanf(key, "e%d", &i), 1, "unexpected key %s", key);
  cr_assert(i >= 0 && i < c->n, "key %s out of range", key);
  cr_assert_eq(value, V(i * 10 + 1), "value of %s", key);
  c->visits[i]++;
  c->calls++;
}

Test(map, each_visits_every_entry_once) {
  enum { N = 5000 };
  fofal_map_t *m = fofal_map_new(NULL);
  char key[32];
  for (int i = 0; i < N; i++) {
    snprintf(key, sizeof key, "e%d", i);
    fofal_map_put(m, key, V(i * 10 + 1));
  }
  for (int i = 0; i < N; i += 5) { /* some holes */
    snprintf(key, sizeof key, "e%d", i);
    fofal_map_take(m, key);
  }
  each_ctx_t c = {fofal_calloc(N, sizeof(int)), N, 0};
  fofal_map_each(m, visit, &c);
  cr_assert_eq(c.calls, fofal_map_size(m));
  for (int i = 0; i < N; i++) cr_assert_eq(c.visits[i], i % 5 ? 1 : 0, "e%d visited %d times", i, c.visits[i]);
  free(c.visits);

  fofal_map_t *empty = fofal_map_new(NULL);
  each_ctx_t c2 = {NULL, 0, 0};
  fofal_map_each(empty, visit, &c2);
  cr_assert_eq(c2.calls, 0);
  fofal_map_free(empty);
  fofal_map_free(m);
}

Test(map, size_and_bytes) {
  fofal_map_t *m = fofal_map_new(NULL);
  size_t b0 = fofal_map_bytes(m);
  cr_assert_gt(b0, 0);
  fofal_map_put(m, "abc", V(1));
  cr_assert_eq(fofal_map_bytes(m), b0 + 4, "a 3-byte key costs 4 bytes (with its NUL) until the table grows");
  fofal_map_put(m, "abc", V(2));
  cr_assert_eq(fofal_map_bytes(m), b0 + 4, "a replace costs nothing");
  fofal_map_take(m, "abc");
  cr_assert_eq(fofal_map_bytes(m), b0, "take gives the key bytes back");
  cr_assert_eq(fofal_map_size(m), 0);

  /* Growing: the bytes cover at least the keys and one pointer per entry. */
  size_t keys = 0, prev = fofal_map_bytes(m);
  char key[32];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "key-number-%d", i);
    keys += (size_t)n + 1;
    fofal_map_put(m, key, V(i + 1));
    size_t b = fofal_map_bytes(m);
    cr_assert_gt(b, prev, "bytes must grow with every new key");
    prev = b;
  }
  cr_assert_eq(fofal_map_size(m), 1000);
  cr_assert_geq(prev, keys + 1000 * sizeof(void *));
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "key-number-%d", i);
    fofal_map_take(m, key);
    keys -= (size_t)n + 1;
  }
  cr_assert_eq(keys, 0);
  cr_assert_eq(fofal_map_size(m), 0);
  cr_assert_lt(fofal_map_bytes(m), prev, "removing every key returns its bytes");
  fofal_map_free(m);
}
