/*
 * fuzz.h — what the fuzz targets of tests/fuzz share.
 *
 * Each fuzz_<name>.c is one libFuzzer target: LLVMFuzzerTestOneInput runs the code under
 * test on one input and aborts (FUZZ_CHECK) when a property the code promises does not
 * hold, so that libFuzzer reports it like a crash. The same file builds two ways
 * (tests/fuzz/CMakeLists.txt): with clang's libFuzzer in build/fuzz (ops/build fuzz), and
 * with replay_main.c in the sanitizer tree, where it runs every committed input once.
 * A target must not leak, must not keep state between inputs that changes what an input
 * does, and must not print on the way of a normal input (printing slows fuzzing down).
 */
#ifndef FOFAL_FUZZ_H
#define FOFAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the failed property (libFuzzer then saves the input as a crash). */
#define FUZZ_CHECK(cond, ...)                                                                                \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);                           \
      fprintf(stderr, __VA_ARGS__);                                                                           \
      fputc('\n', stderr);                                                                                    \
      abort();                                                                                                \
    }                                                                                                         \
  } while (0)

/* A NUL-terminated copy of n bytes (new; free() it). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) abort();
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

/* Cuts the next field off *p (up to a '\n' or the end): a new NUL-terminated string. */
static inline char *fuzz_field(const uint8_t **p, size_t *n) {
  const uint8_t *nl = memchr(*p, '\n', *n);
  size_t len = nl ? (size_t)(nl - *p) : *n;
  char *s = fuzz_strndup(*p, len);
  *p += nl ? len + 1 : len;
  *n -= nl ? len + 1 : len;
  return s;
}

#endif
