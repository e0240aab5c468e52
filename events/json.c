/*
 * json.c — JSON text as FOFAL writes it: numbers printed the shortest way that reads back
 * to the same double, and UTF-8 checks for text that comes from the network.
 *
 * jansson prints every real with one fixed precision (17 significant digits by default:
 * 0.85 comes out as 0.84999999999999998). No fixed precision is right for every value: 15
 * digits would print 0.1 + 0.2 as 0.3, which reads back as another double. So
 * fofal_json_dumps lets jansson write the text, then rewrites each real it wrote with the
 * fewest digits (1 to 17) that strtod turns back into the same double, laid out as
 * Python's repr does (positional from 1e-4 to 1e16, else with an exponent). Integers are
 * left as they are.
 *
 * Pure functions, any thread. The C locale is assumed (a '.' decimal point), as jansson
 * itself writes it.
 */
#include "events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fofal_json_real_format(double v, char out[32]) {
  char e[40];
  int digits = 17;
  /* The fewest significant digits that read back as v. */
  for (int d = 1; d <= 17; d++) {
    snprintf(e, sizeof e, "%.*e", d - 1, v);
    if (strtod(e, NULL) == v) {
      digits = d;
      break;
    }
  }
  snprintf(e, sizeof e, "%.*e", digits - 1, v);
  const char *x = strchr(e, 'e');
  int exp10 = x ? atoi(x + 1) : 0, n;
  if (!isfinite(v)) {
    n = snprintf(out, 32, "%s", e); /* not JSON; jansson never holds one */
  } else if (exp10 >= -4 && exp10 < 16) {
    /* Positional, as Python's repr: 100.0, 0.85, 0.0001. */
    int decimals = digits - 1 - exp10;
    n = snprintf(out, 32, "%.*f", decimals > 0 ? decimals : 0, v);
    if (!strchr(out, '.') && n + 2 < 32) n += snprintf(out + n, 32 - (size_t)n, ".0");
  } else {
    /* 1e20, 1.5e-7: no '+', no leading zeros in the exponent (as jansson writes). */
    int mant = (int)(x - e);
    n = snprintf(out, 32, "%.*se%d", mant, e, exp10);
  }
  return n;
}

/* Rewrites the reals of JSON text `s` (as jansson wrote it). New string. */
static char *shorten_reals(const char *s) {
  size_t len = strlen(s), o = 0;
  char *out = fofal_malloc(len + 1); /* a shortest form is never longer than jansson's */
  int in_string = 0;
  for (size_t i = 0; i < len;) {
    char c = s[i];
    if (in_string) {
      out[o++] = c;
      i++;
      if (c == '\\' && i < len) out[o++] = s[i++];
      else if (c == '"') in_string = 0;
      continue;
    }
    if (c == '"') in_string = 1;
    if (c != '-' && (c < '0' || c > '9')) {
      out[o++] = c;
      i++;
      continue;
    }
    size_t j = i;
    int real = 0;
    while (j < len && strchr("+-0123456789.eE", s[j])) real |= strchr(".eE", s[j++]) != NULL;
    char tok[64], fmt[32];
    if (real && j - i < sizeof tok) {
      memcpy(tok, s + i, j - i);
      tok[j - i] = '\0';
      int n = fofal_json_real_format(strtod(tok, NULL), fmt);
      if ((size_t)n <= j - i) {
        memcpy(out + o, fmt, (size_t)n);
        o += (size_t)n;
        i = j;
        continue;
      }
    }
    memcpy(out + o, s + i, j - i);
    o += j - i;
    i = j;
  }
  out[o] = '\0';
  return out;
}

char *fofal_json_dumps(const json_t *j, size_t flags) {
  char *s = j ? json_dumps(j, flags) : NULL;
  if (!s) return NULL;
  char *out = shorten_reals(s);
  free(s);
  return out;
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n || s[1] < lo || s[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (s[k] < 0x80 || s[k] > 0xBF) return 0;
  return n;
}

size_t fofal_utf8_chars(const char *s, size_t len) {
  size_t chars = 0;
  for (size_t i = 0; i < len; chars++) {
    size_t n = utf8_seq((const unsigned char *)s + i, len - i);
    i += n ? n : 1;
  }
  return chars;
}

char *fofal_utf8_scrub(const char *s) {
  if (!s) return NULL;
  size_t len = strlen(s), o = 0;
  char *out = fofal_malloc(len * 3 + 1); /* each bad byte becomes 3 */
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq((const unsigned char *)s + i, len - i);
    if (n) {
      memcpy(out + o, s + i, n);
      o += n;
      i += n;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER */
      o += 3;
      i++;
    }
  }
  out[o] = '\0';
  return out;
}

static void grow(char **buf, size_t *len, size_t *cap, size_t more) {
  if (*len + more + 1 <= *cap) return;
  size_t c = *cap ? *cap : 256;
  while (c < *len + more + 1) c *= 2;
  *buf = fofal_realloc(*buf, c);
  *cap = c;
}

void fofal_text_append(char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s);
  grow(buf, len, cap, n);
  memcpy(*buf + *len, s, n + 1);
  *len += n;
}

int fofal_json_quote(char **buf, size_t *len, size_t *cap, const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen(s), extra = 2;
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq(u + i, n - i);
    if (!k) return FOFAL_EINVAL;
    if (k == 1 && (u[i] < 0x20 || u[i] == '"' || u[i] == '\\')) extra += 5; /* \u00XX at most */
    i += k;
  }
  grow(buf, len, cap, n + extra);
  char *o = *buf + *len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = u[i];
    switch (c) {
    case '"': *o++ = '\\'; *o++ = '"'; break;
    case '\\': *o++ = '\\'; *o++ = '\\'; break;
    case '\b': *o++ = '\\'; *o++ = 'b'; break;
    case '\f': *o++ = '\\'; *o++ = 'f'; break;
    case '\n': *o++ = '\\'; *o++ = 'n'; break;
    case '\r': *o++ = '\\'; *o++ = 'r'; break;
    case '\t': *o++ = '\\'; *o++ = 't'; break;
    default:
      if (c < 0x20) o += sprintf(o, "\\u%04X", c);
      else *o++ = (char)c;
    }
  }
  *o++ = '"';
  *o = '\0';
  *len = (size_t)(o - *buf);
  return 0;
}
