/*
 * replay_main.c — the main() of a fuzz target built without libFuzzer (the sanitizer tree):
 * runs LLVMFuzzerTestOneInput once on every file named on the command line, or on every
 * file of a directory named there, in name order. A ctest test (tests/fuzz/CMakeLists.txt)
 * replays the committed corpus this way under the tree's ASan+UBSan, so that every input
 * that ever found a bug stays a regression test, with or without clang.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, n = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) abort();
  /* An exact-size copy, so that ASan sees a read past the input's end. */
  uint8_t *in = malloc(n ? n : 1);
  if (!in) abort();
  memcpy(in, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(in, n);
  free(in);
  return 0;
}

int main(int argc, char **argv) {
  int files = 0;
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st)) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i])) return 2;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) return 2;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      names = realloc(names, (n + 1) * sizeof *names);
      if (!names) abort();
      names[n] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2);
      if (!names[n]) abort();
      sprintf(names[n++], "%s/%s", argv[i], e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (size_t k = 0; k < n; k++) {
      if (run_file(names[k])) return 2;
      free(names[k]);
      files++;
    }
    free(names);
  }
  printf("replay: %d inputs, no failure\n", files);
  return files ? 0 : 2; /* an empty corpus would test nothing */
}
