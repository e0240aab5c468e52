/*
 * map.c — a string-keyed hash map with open addressing and tombstone-free deletion
 * (backward shift), sized at powers of two and kept under 70 % full. Keys are copied
 * into one allocation with their slot metadata; values are the caller's pointers.
 */
#include "events.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  char *key;
  uint64_t hash;
  void *value;
} slot_t;

struct fofal_map {
  slot_t *slots;
  size_t cap, n, key_bytes;
  void (*free_value)(void *);
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h ^ (h >> 32);
}

fofal_map_t *fofal_map_new(void (*free_value)(void *)) {
  fofal_map_t *m = fofal_calloc(1, sizeof *m);
  m->cap = 16;
  m->slots = fofal_calloc(m->cap, sizeof *m->slots);
  m->free_value = free_value;
  return m;
}

void fofal_map_free(fofal_map_t *m) {
  if (!m) return;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) {
      free(m->slots[i].key);
      if (m->free_value) m->free_value(m->slots[i].value);
    }
  free(m->slots);
  free(m);
}

static size_t find(const fofal_map_t *m, const char *key, uint64_t h) {
  size_t mask = m->cap - 1, i = h & mask;
  while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key))) i = (i + 1) & mask;
  return i;
}

void *fofal_map_get(const fofal_map_t *m, const char *key) {
  slot_t *s = &m->slots[find(m, key, hash_str(key))];
  return s->key ? s->value : NULL;
}

static void grow(fofal_map_t *m) {
  slot_t *old = m->slots;
  size_t oldcap = m->cap;
  m->cap *= 2;
  m->slots = fofal_calloc(m->cap, sizeof *m->slots);
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key) m->slots[find(m, old[i].key, old[i].hash)] = old[i];
  free(old);
}

void fofal_map_put(fofal_map_t *m, const char *key, void *value) {
  uint64_t h = hash_str(key);
  slot_t *s = &m->slots[find(m, key, h)];
  if (s->key) {
    if (m->free_value && s->value != value) m->free_value(s->value);
    s->value = value;
    return;
  }
  if ((m->n + 1) * 10 > m->cap * 7) {
    grow(m);
    s = &m->slots[find(m, key, h)];
  }
  size_t klen = strlen(key);
  s->key = fofal_strndup(key, klen);
  s->hash = h;
  s->value = value;
  m->n++;
  m->key_bytes += klen + 1;
}

void *fofal_map_take(fofal_map_t *m, const char *key) {
  size_t mask = m->cap - 1, i = find(m, key, hash_str(key));
  if (!m->slots[i].key) return NULL;
  void *v = m->slots[i].value;
  m->key_bytes -= strlen(m->slots[i].key) + 1;
  free(m->slots[i].key);
  m->slots[i].key = NULL;
  m->n--;
  /* Backward-shift the cluster after i so that lookups never cross a hole. */
  for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
    size_t home = m->slots[j].hash & mask;
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      m->slots[i] = m->slots[j];
      m->slots[j].key = NULL;
      i = j;
    }
  }
  return v;
}

size_t fofal_map_size(const fofal_map_t *m) { return m->n; }

size_t fofal_map_bytes(const fofal_map_t *m) { return sizeof *m + m->cap * sizeof(slot_t) + m->key_bytes; }

void fofal_map_each(const fofal_map_t *m, void (*fn)(void *opaque, const char *key, void *value), void *opaque) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) fn(opaque, m->slots[i].key, m->slots[i].value);
}
