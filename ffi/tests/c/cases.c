/* Runs the shared data cases (cases/policy, cases/expr, cases/exchange; format in
 * cases/README.md) through the C ABI, with the same strictness and matching rules as the Rust
 * runners (core/tests/case_runner): a binding is done when it gives the same answers.
 *
 * Usage: cases <repository root>. Exit status 0 when every case passes; every failure is
 * printed with its file, case, step and the JSON path of the first difference. */

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp_policy.h"

/* Chunks longer than this are not replayed at every split position (quadratic cost). */
#define MAX_SPLIT_REPLAY (16 * 1024)

static const char *root;
static int failures;
static int cases_run;

static void fail(const char *file, const char *name, const char *fmt, ...) {
  va_list ap;
  failures++;
  fprintf(stderr, "- %s", file);
  if (name) fprintf(stderr, ": case `%s`", name);
  fprintf(stderr, ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
}

/* ---- bytes ---------------------------------------------------------------------------- */

typedef struct {
  unsigned char *data;
  size_t len;
} bytes;

static void bytes_free(bytes *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
}

static bytes bytes_copy(const void *data, size_t len) {
  bytes b;
  b.data = malloc(len + 1);
  if (!b.data) abort();
  if (len) memcpy(b.data, data, len);
  b.data[len] = 0;
  b.len = len;
  return b;
}

static int read_file(const char *path, bytes *out) {
  FILE *f = fopen(path, "rb");
  long n;
  if (!f) return -1;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return -1;
  }
  out->data = malloc((size_t)n + 1);
  if (!out->data) abort();
  out->len = fread(out->data, 1, (size_t)n, f);
  out->data[out->len] = 0;
  fclose(f);
  return out->len == (size_t)n ? 0 : -1;
}

/* The compact serialization of a JSON value (the Rust runner's `serde_json::to_string`). */
static bytes dump(const json_t *v) {
  size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
  bytes b;
  b.data = malloc(n + 1);
  if (!b.data) abort();
  b.len = json_dumpb(v, (char *)b.data, n, JSON_COMPACT | JSON_ENCODE_ANY);
  b.data[b.len] = 0;
  return b;
}

/* A short rendering of a value for messages; the caller frees it. */
static char *show(const json_t *v) {
  if (!v) return strdup("(absent)");
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Parses the JSON text of an answer the library gave. */
static json_t *parse(mcp_policy_slice s, char *err, size_t cap) {
  json_error_t e;
  json_t *v = json_loadb((const char *)s.data, s.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
  if (!v) snprintf(err, cap, "the library answered text that is not JSON: %s", e.text);
  return v;
}

static json_t *parse_buffer(mcp_policy_buffer *b, char *err, size_t cap) {
  json_t *v = parse(mcp_policy_buffer_data(b), err, cap);
  mcp_policy_buffer_free(b);
  return v;
}

static json_t *last_error(void) {
  size_t n = 0;
  char *buf;
  json_error_t e;
  json_t *v;
  mcp_policy_last_error_json(NULL, 0, &n);
  buf = malloc(n + 1);
  if (!buf) abort();
  if (mcp_policy_last_error_json(buf, n + 1, &n) != MCP_POLICY_RESULT_OK) abort();
  v = json_loadb(buf, n, 0, &e);
  free(buf);
  return v ? v : json_string("(the last error is not JSON)");
}

/* ---- inputs: X (a JSON value, sent compact), XText (exact text), XFile (exact bytes) -- */

/* 1 = found (out set), 0 = absent, -1 = error (err set). */
static int resolve(const json_t *obj, const char *key, bytes *out, char *err, size_t cap) {
  char text_key[64], file_key[64];
  const json_t *plain, *text, *file;
  snprintf(text_key, sizeof text_key, "%sText", key);
  snprintf(file_key, sizeof file_key, "%sFile", key);
  plain = json_object_get(obj, key);
  text = json_object_get(obj, text_key);
  file = json_object_get(obj, file_key);
  if ((plain != NULL) + (text != NULL) + (file != NULL) > 1) {
    snprintf(err, cap, "give only one of `%s`, `%s`, `%s`", key, text_key, file_key);
    return -1;
  }
  if (plain) {
    *out = dump(plain);
    return 1;
  }
  if (text) {
    if (!json_is_string(text)) {
      snprintf(err, cap, "`%s` must be a string", text_key);
      return -1;
    }
    *out = bytes_copy(json_string_value(text), json_string_length(text));
    return 1;
  }
  if (file) {
    char path[4096];
    if (!json_is_string(file)) {
      snprintf(err, cap, "`%s` must be a path string", file_key);
      return -1;
    }
    snprintf(path, sizeof path, "%s/%s", root, json_string_value(file));
    if (read_file(path, out) != 0) {
      snprintf(err, cap, "`%s`: cannot read %s", file_key, path);
      return -1;
    }
    return 1;
  }
  return 0;
}

/* The case's own input, else its file's. */
static int input(const json_t *file, const json_t *c, const char *key, bytes *out, char *err,
                 size_t cap) {
  int r = resolve(c, key, out, err, cap);
  return r != 0 ? r : resolve(file, key, out, err, cap);
}

static int gives(const json_t *c, const char *key) {
  char k[64];
  if (json_object_get(c, key)) return 1;
  snprintf(k, sizeof k, "%sText", key);
  if (json_object_get(c, k)) return 1;
  snprintf(k, sizeof k, "%sFile", key);
  return json_object_get(c, k) != NULL;
}

/* ---- the matcher (cases/README.md, "Matching an expectation") ------------------------- */

static int match_at(const json_t *exp, const json_t *act, char *path, size_t cap, char *why,
                    size_t whycap);

static int match_json_text(const json_t *exp, const json_t *act, char *path, size_t cap,
                           char *why, size_t whycap) {
  json_error_t e;
  json_t *parsed;
  int r;
  if (!act || json_is_null(act)) return match_at(exp, act, path, cap, why, whycap);
  if (!json_is_string(act)) {
    char *a = show(act);
    snprintf(why, whycap, "at %s: expected JSON text, got %s", path, a);
    free(a);
    return -1;
  }
  parsed = json_loadb(json_string_value(act), json_string_length(act),
                      JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
  if (!parsed) {
    snprintf(why, whycap, "at %s: expected JSON text, got text that is not JSON (%s): %.300s",
             path, e.text, json_string_value(act));
    return -1;
  }
  r = match_at(exp, parsed, path, cap, why, whycap);
  json_decref(parsed);
  return r;
}

static int match_at(const json_t *exp, const json_t *act, char *path, size_t cap, char *why,
                    size_t whycap) {
  size_t len = strlen(path);
  if (!act) {
    if (json_is_null(exp)) return 0;
    {
      char *e = show(exp);
      snprintf(why, whycap, "at %s: expected %.400s, got (absent)", path, e);
      free(e);
    }
    return -1;
  }
  if (json_is_object(exp) && json_is_object(act)) {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)exp, k, v) {
      size_t kl = strlen(k);
      int r;
      snprintf(path + len, cap - len, ".%s", k);
      if (kl > 4 && strcmp(k + kl - 4, "Json") == 0) {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(kl - 4), k);
        r = match_json_text(v, json_object_get(act, base), path, cap, why, whycap);
      } else {
        r = match_at(v, json_object_get(act, k), path, cap, why, whycap);
      }
      path[len] = 0;
      if (r) return r;
    }
    return 0;
  }
  if (json_is_array(exp) && json_is_array(act)) {
    size_t i;
    if (json_array_size(exp) != json_array_size(act)) {
      char *e = show(exp), *a = show(act);
      snprintf(why, whycap, "at %s: expected %zu elements: %.400s, got %zu elements: %.400s",
               path, json_array_size(exp), e, json_array_size(act), a);
      free(e);
      free(a);
      return -1;
    }
    for (i = 0; i < json_array_size(exp); i++) {
      int r;
      snprintf(path + len, cap - len, "[%zu]", i);
      r = match_at(json_array_get(exp, i), json_array_get(act, i), path, cap, why, whycap);
      path[len] = 0;
      if (r) return r;
    }
    return 0;
  }
  if (json_is_number(exp) && json_is_number(act)) {
    if (json_is_integer(exp) && json_is_integer(act)
            ? json_integer_value(exp) == json_integer_value(act)
            : json_number_value(exp) == json_number_value(act))
      return 0;
  } else if (!json_is_number(exp) && !json_is_object(exp) && !json_is_array(exp) &&
             json_equal((json_t *)exp, (json_t *)act)) {
    return 0;
  }
  {
    char *e = show(exp), *a = show(act);
    snprintf(why, whycap, "at %s: expected %.400s, got %.400s", path, e, a);
    free(e);
    free(a);
  }
  return -1;
}

static void expect(const char *file, const char *name, const char *what, const json_t *exp,
                   const json_t *actual) {
  char path[1024] = "$", why[2048];
  if (match_at(exp, actual, path, sizeof path, why, sizeof why) != 0) {
    char *a = show(actual);
    fail(file, name, "%s `expect` %s\n  answer: %.1200s", what, why, a);
    free(a);
  }
}

/* ---- loading and strictness ------------------------------------------------------------ */

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json names of cases/<folder>; the caller frees them. */
static char **list(const char *folder, size_t *count) {
  char dir[4096];
  DIR *d;
  struct dirent *e;
  char **names = NULL;
  size_t n = 0;
  snprintf(dir, sizeof dir, "%s/cases/%s", root, folder);
  d = opendir(dir);
  if (!d) {
    fail(dir, NULL, "cannot list the folder");
    *count = 0;
    return NULL;
  }
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) {
      names = realloc(names, (n + 1) * sizeof *names);
      if (!names) abort();
      names[n++] = strdup(e->d_name);
    }
  }
  closedir(d);
  if (n == 0) fail(dir, NULL, "no case files (*.json) in the folder");
  if (n) qsort(names, n, sizeof *names, by_name);
  *count = n;
  return names;
}

static json_t *load(const char *folder, const char *name, char *shown, size_t cap) {
  char path[4096];
  json_error_t e;
  json_t *doc;
  snprintf(shown, cap, "cases/%s/%s", folder, name);
  snprintf(path, sizeof path, "%s/%s", root, shown);
  doc = json_load_file(path, JSON_ALLOW_NUL, &e);
  if (!doc) fail(shown, NULL, "not JSON: %s (line %d)", e.text, e.line);
  else if (!json_is_object(doc)) {
    fail(shown, NULL, "not a JSON object");
    json_decref(doc);
    doc = NULL;
  }
  return doc;
}

static int in_list(const char *k, const char *const *allowed) {
  for (; *allowed; allowed++)
    if (strcmp(k, *allowed) == 0) return 1;
  return 0;
}

/* Keys not in `allowed` (X, XText and XFile are listed separately): a typo to report. */
static int unknown_keys(const char *file, const char *name, const json_t *obj,
                        const char *const *allowed) {
  const char *k;
  const json_t *v;
  int bad = 0;
  json_object_foreach((json_t *)obj, k, v) {
    (void)v;
    if (!in_list(k, allowed)) {
      fail(file, name, "unknown key `%s`", k);
      bad = 1;
    }
  }
  return bad;
}

/* ---- policy ---------------------------------------------------------------------------- */

static json_t *judge_policy(const json_t *file, const json_t *c, const char *expect_key,
                            char *err, size_t cap) {
  bytes policy = {0}, ctxb = {0}, message = {0}, request = {0}, response = {0};
  mcp_policy_engine *engine = NULL;
  mcp_policy_context *ctx = NULL;
  json_t *actual = NULL;
  mcp_policy_result r;
  int has_ctx, has_msg, has_req, has_resp;

  if (input(file, c, "policy", &policy, err, cap) != 1) {
    if (!*err) snprintf(err, cap, "no policy (neither the case nor its file gives one)");
    return NULL;
  }
  r = mcp_policy_engine_new(policy.data, policy.len, NULL, &engine);
  bytes_free(&policy);
  if (strcmp(expect_key, "expectPolicy") == 0) {
    if (gives(c, "message") || gives(c, "request") || gives(c, "response") || gives(c, "context")) {
      snprintf(err, cap, "an `expectPolicy` case judges only its policy");
      mcp_policy_engine_free(engine);
      return NULL;
    }
    if (r == MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "the policy compiled; `expectPolicy` expects it refused");
      mcp_policy_engine_free(engine);
      return NULL;
    }
    return last_error();
  }
  if (r != MCP_POLICY_RESULT_OK) {
    json_t *e = last_error();
    char *s = show(e);
    snprintf(err, cap, "the policy does not compile: %.500s", s);
    free(s);
    json_decref(e);
    return NULL;
  }
  has_ctx = input(file, c, "context", &ctxb, err, cap);
  has_msg = input(file, c, "message", &message, err, cap);
  has_req = input(file, c, "request", &request, err, cap);
  has_resp = input(file, c, "response", &response, err, cap);
  if (has_ctx < 0 || has_msg < 0 || has_req < 0 || has_resp < 0) goto done;
  if (has_ctx == 1 && mcp_policy_context_from_json(ctxb.data, ctxb.len, &ctx) != MCP_POLICY_RESULT_OK) {
    snprintf(err, cap, "bad context");
    goto done;
  }
  if (has_msg == 1 && !has_req && !has_resp) {
    mcp_policy_buffer *out = NULL;
    if (mcp_policy_engine_check_json(engine, message.data, message.len, ctx, &out) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "check_json failed");
      goto done;
    }
    actual = parse_buffer(out, err, cap);
  } else if (has_msg != 1 && has_req == 1 && has_resp == 1) {
    mcp_policy_output *out = NULL;
    if (mcp_policy_engine_filter(engine, request.data, request.len, response.data, response.len,
                                 ctx, &out) == MCP_POLICY_RESULT_OK) {
      actual = parse(mcp_policy_output_json(out), err, cap);
      mcp_policy_output_free(out);
    } else {
      actual = last_error();
    }
  } else {
    snprintf(err, cap, "give either `message`, or `request` and `response`");
  }
done:
  bytes_free(&ctxb);
  bytes_free(&message);
  bytes_free(&request);
  bytes_free(&response);
  mcp_policy_context_free(ctx);
  mcp_policy_engine_free(engine);
  return actual;
}

/* ---- expr ------------------------------------------------------------------------------ */

static json_t *judge_expr(const json_t *file, const json_t *c, const char *expect_key, char *err,
                          size_t cap) {
  const json_t *expression = json_object_get(c, "expression"), *type = json_object_get(c, "type");
  bytes ctxb = {0}, message = {0};
  mcp_policy_context *ctx = NULL;
  mcp_policy_buffer *out = NULL;
  json_t *actual = NULL;
  uint32_t ty = MCP_POLICY_EXPR_TYPE_AUTO;
  int has_ctx, has_msg;
  (void)expect_key;
  if (!json_is_string(expression)) {
    snprintf(err, cap, "no `expression` string");
    return NULL;
  }
  if (type) {
    const char *t = json_string_value(type);
    if (!t) {
      snprintf(err, cap, "`type` must be a string");
      return NULL;
    }
    if (strcmp(t, "auto") == 0) ty = MCP_POLICY_EXPR_TYPE_AUTO;
    else if (strcmp(t, "string") == 0) ty = MCP_POLICY_EXPR_TYPE_STRING;
    else if (strcmp(t, "boolean") == 0) ty = MCP_POLICY_EXPR_TYPE_BOOLEAN;
    else {
      snprintf(err, cap, "unknown `type` %s", t);
      return NULL;
    }
  }
  has_ctx = input(file, c, "context", &ctxb, err, cap);
  has_msg = input(file, c, "message", &message, err, cap);
  if (has_ctx < 0 || has_msg < 0) goto done;
  if (has_ctx == 1 && mcp_policy_context_from_json(ctxb.data, ctxb.len, &ctx) != MCP_POLICY_RESULT_OK) {
    snprintf(err, cap, "bad context");
    goto done;
  }
  if (mcp_policy_evaluate_json((const uint8_t *)json_string_value(expression),
                               json_string_length(expression), ctx,
                               has_msg == 1 ? message.data : NULL, message.len, ty,
                               &out) != MCP_POLICY_RESULT_OK) {
    json_t *e = last_error();
    char *s = show(e);
    snprintf(err, cap, "the message does not parse: %.500s", s);
    free(s);
    json_decref(e);
    goto done;
  }
  actual = parse_buffer(out, err, cap);
done:
  bytes_free(&ctxb);
  bytes_free(&message);
  mcp_policy_context_free(ctx);
  return actual;
}

typedef json_t *(*judge_fn)(const json_t *, const json_t *, const char *, char *, size_t);

static void run_folder(const char *folder, const char *const *file_keys,
                       const char *const *case_keys, const char *const *expects, judge_fn judge) {
  size_t n, i, count = 0;
  char **names = list(folder, &n);
  for (i = 0; i < n; i++) {
    char shown[512];
    json_t *doc = load(folder, names[i], shown, sizeof shown);
    const json_t *cases;
    size_t j;
    free(names[i]);
    if (!doc) continue;
    if (unknown_keys(shown, NULL, doc, file_keys)) goto next;
    if (!json_is_string(json_object_get(doc, "description")))
      fail(shown, NULL, "no `description` string");
    cases = json_object_get(doc, "cases");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
      fail(shown, NULL, "`cases` must be a non-empty array");
      goto next;
    }
    for (j = 0; j < json_array_size(cases); j++) {
      const json_t *c = json_array_get(cases, j);
      const char *name, *expect_key = NULL;
      const char *const *e;
      size_t k, given = 0;
      char err[1024] = "";
      json_t *actual;
      if (!json_is_object(c) || !json_is_string(json_object_get(c, "name"))) {
        fail(shown, NULL, "cases[%zu] is not an object with a `name` string", j);
        continue;
      }
      name = json_string_value(json_object_get(c, "name"));
      for (k = 0; k < j; k++) {
        const char *other = json_string_value(json_object_get(json_array_get(cases, k), "name"));
        if (other && strcmp(other, name) == 0) fail(shown, name, "the name is used twice in the file");
      }
      if (unknown_keys(shown, name, c, case_keys)) continue;
      for (e = expects; *e; e++)
        if (json_object_get(c, *e)) {
          expect_key = *e;
          given++;
        }
      if (given != 1) {
        fail(shown, name, "needs exactly one expectation key, has %zu", given);
        continue;
      }
      count++;
      actual = judge(doc, c, expect_key, err, sizeof err);
      if (!actual) {
        fail(shown, name, "cannot run: %s", err);
        continue;
      }
      expect(shown, name, "", json_object_get(c, expect_key), actual);
      json_decref(actual);
    }
  next:
    json_decref(doc);
  }
  free(names);
  cases_run += (int)count;
  printf("cases/%s: %zu cases in %zu files\n", folder, count, n);
}

/* ---- exchange -------------------------------------------------------------------------- */

#define MAX_EXCHANGES 64

typedef struct {
  mcp_policy_engine *engine;
  mcp_policy_session *session;
  char *names[MAX_EXCHANGES];
  mcp_policy_exchange *exchanges[MAX_EXCHANGES];
  uint64_t ids[MAX_EXCHANGES];
  size_t count;
} run_t;

static void run_free(run_t *run) {
  size_t i;
  for (i = 0; i < run->count; i++) {
    free(run->names[i]);
    mcp_policy_exchange_free(run->exchanges[i]);
  }
  mcp_policy_session_free(run->session);
  run->count = 0;
}

static int add_exchange(run_t *run, const char *name, mcp_policy_exchange *x, char *err, size_t cap) {
  size_t i;
  for (i = 0; i < run->count; i++)
    if (strcmp(run->names[i], name) == 0) {
      /* A name opened again replaces the old exchange (the Rust runner's map insert). */
      mcp_policy_exchange_free(run->exchanges[i]);
      run->exchanges[i] = x;
      run->ids[i] = mcp_policy_exchange_id(x);
      return 0;
    }
  if (run->count == MAX_EXCHANGES) {
    snprintf(err, cap, "more than %d exchanges in one case", MAX_EXCHANGES);
    mcp_policy_exchange_free(x);
    return -1;
  }
  run->names[run->count] = strdup(name);
  run->exchanges[run->count] = x;
  run->ids[run->count] = mcp_policy_exchange_id(x);
  run->count++;
  return 0;
}

static mcp_policy_exchange *find(run_t *run, const char *name, char *err, size_t cap) {
  size_t i;
  for (i = 0; i < run->count; i++)
    if (strcmp(run->names[i], name) == 0) return run->exchanges[i];
  snprintf(err, cap, "no exchange named `%s` (open it with a `client` or `stream` step first)", name);
  return NULL;
}

static const char *label_of(run_t *run, uint64_t id) {
  size_t i;
  for (i = 0; i < run->count; i++)
    if (run->ids[i] == id) return run->names[i];
  return "";
}

static const char *const STEP_KINDS[] = {"client", "head", "chunks", "finish", "body", "message",
                                         "stream", "route", "fail", "failAll", NULL};
static const char *const STEP_KEYS[] = {
    "client", "head", "chunks", "finish", "body", "message", "stream", "route", "fail", "failAll",
    "expect", "bodyText", "bodyFile", "headers", "context", "data", "dataText", "dataFile",
    "status", "contentType", "contentEncoding", "lastEventId", "failure", "detail", "streaming",
    NULL};

/* A step's header value: a string, or absent / null. */
static int header_value(const json_t *v, const uint8_t **data, size_t *len, char *err, size_t cap) {
  if (!v || json_is_null(v)) {
    *data = NULL;
    *len = 0;
    return 0;
  }
  if (!json_is_string(v)) {
    snprintf(err, cap, "a header value must be a string");
    return -1;
  }
  *data = (const uint8_t *)json_string_value(v);
  *len = json_string_length(v);
  return 0;
}

static json_t *output_json(mcp_policy_output *o, char *err, size_t cap) {
  json_t *v = parse(mcp_policy_output_json(o), err, cap);
  mcp_policy_output_free(o);
  return v;
}

/* The chunks of a `chunks` step (strings of `data`). */
static int chunk_list(const json_t *step, bytes **out, size_t *n, char *err, size_t cap) {
  const json_t *data = json_object_get(step, "data");
  size_t i;
  if (!json_is_array(data)) {
    snprintf(err, cap, "`chunks` steps give their bytes as `data`: [\"...\", ...]");
    return -1;
  }
  *n = json_array_size(data);
  *out = calloc(*n ? *n : 1, sizeof **out);
  if (!*out) abort();
  for (i = 0; i < *n; i++) {
    const json_t *c = json_array_get(data, i);
    if (!json_is_string(c)) {
      snprintf(err, cap, "each chunk is a string");
      while (i--) bytes_free(&(*out)[i]);
      free(*out);
      return -1;
    }
    (*out)[i] = bytes_copy(json_string_value(c), json_string_length(c));
  }
  return 0;
}

static void chunks_free(bytes *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) bytes_free(&c[i]);
  free(c);
}

/* One step; `split` (with `nsplit` chunks) replaces a `chunks` step's chunks. */
static json_t *step(run_t *run, const json_t *s, const bytes *split, size_t nsplit, char *err,
                    size_t cap) {
  const char *const *kind;
  const json_t *ctxv = json_object_get(s, "context");
  mcp_policy_context *ctx = NULL;
  json_t *actual = NULL;
  const char *name;
  for (kind = STEP_KINDS; *kind; kind++)
    if (json_object_get(s, *kind)) break;
  if (!*kind) {
    snprintf(err, cap, "a step needs one of client, head, chunks, finish, body, message, stream, route, fail, failAll");
    return NULL;
  }
  name = json_string_value(json_object_get(s, *kind));
  if (!name) {
    snprintf(err, cap, "`%s` must name the exchange (a string)", *kind);
    return NULL;
  }
  if (ctxv) {
    bytes t = dump(ctxv);
    mcp_policy_result r = mcp_policy_context_from_json(t.data, t.len, &ctx);
    bytes_free(&t);
    if (r != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "context: not a context document");
      return NULL;
    }
  }

  if (strcmp(*kind, "client") == 0) {
    bytes body = {0};
    const json_t *h = json_object_get(s, "headers");
    mcp_policy_header headers[64];
    size_t count = 0;
    mcp_policy_output *verdict = NULL;
    mcp_policy_exchange *x = NULL;
    int got = resolve(s, "body", &body, err, cap);
    if (got != 1) {
      if (got == 0) snprintf(err, cap, "`client` needs `body` or `bodyText`");
      goto done;
    }
    if (!h) {
      headers[0].name = (const uint8_t *)"content-type";
      headers[0].name_len = 12;
      headers[0].value = (const uint8_t *)"application/json";
      headers[0].value_len = 16;
      count = 1;
    } else if (json_is_object(h)) {
      const char *k;
      const json_t *v;
      json_object_foreach((json_t *)h, k, v) {
        if (count == 64 || header_value(v, &headers[count].value, &headers[count].value_len, err, cap)) {
          if (count == 64) snprintf(err, cap, "too many headers");
          bytes_free(&body);
          goto done;
        }
        headers[count].name = (const uint8_t *)k;
        headers[count].name_len = strlen(k);
        count++;
      }
    } else if (json_is_array(h)) {
      size_t i;
      for (i = 0; i < json_array_size(h); i++) {
        const json_t *p = json_array_get(h, i);
        if (count == 64 || !json_is_array(p) || json_array_size(p) != 2 ||
            !json_is_string(json_array_get(p, 0)) || !json_is_string(json_array_get(p, 1))) {
          snprintf(err, cap, "a header pair is [name, value]");
          bytes_free(&body);
          goto done;
        }
        headers[count].name = (const uint8_t *)json_string_value(json_array_get(p, 0));
        headers[count].name_len = json_string_length(json_array_get(p, 0));
        headers[count].value = (const uint8_t *)json_string_value(json_array_get(p, 1));
        headers[count].value_len = json_string_length(json_array_get(p, 1));
        count++;
      }
    } else {
      snprintf(err, cap, "`headers` is an object or a list of [name, value]");
      bytes_free(&body);
      goto done;
    }
    if (mcp_policy_exchange_new(run->engine, run->session, body.data, body.len, headers, count,
                                ctx, &verdict, &x) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_exchange_new failed");
      bytes_free(&body);
      goto done;
    }
    bytes_free(&body);
    if ((mcp_policy_output_kind(verdict) == MCP_POLICY_KIND_FORWARD) != (x != NULL)) {
      snprintf(err, cap, "a FORWARD verdict must come with an exchange, a REPLY without");
      mcp_policy_output_free(verdict);
      mcp_policy_exchange_free(x);
      goto done;
    }
    actual = output_json(verdict, err, cap);
    if (x && add_exchange(run, name, x, err, cap)) {
      json_decref(actual);
      actual = NULL;
    }
  } else if (strcmp(*kind, "stream") == 0) {
    const uint8_t *last;
    size_t len;
    mcp_policy_exchange *x = NULL;
    if (header_value(json_object_get(s, "lastEventId"), &last, &len, err, cap)) goto done;
    if (mcp_policy_exchange_new_stream(run->engine, run->session, last, len, &x) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_exchange_new_stream failed");
      goto done;
    }
    if (add_exchange(run, name, x, err, cap) == 0) actual = json_object();
  } else if (strcmp(*kind, "head") == 0) {
    const json_t *st = json_object_get(s, "status");
    const uint8_t *ct, *ce;
    size_t ctl, cel;
    mcp_policy_head head;
    mcp_policy_exchange *x = find(run, name, err, cap);
    if (!x || header_value(json_object_get(s, "contentType"), &ct, &ctl, err, cap) ||
        header_value(json_object_get(s, "contentEncoding"), &ce, &cel, err, cap))
      goto done;
    if (mcp_policy_exchange_head(x, st ? (uint16_t)json_integer_value(st) : 200, ct, ctl, ce, cel,
                                 &head) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_exchange_head failed");
      goto done;
    }
    actual = json_pack("{s:s}", "head", head == MCP_POLICY_HEAD_STREAM ? "stream" : "whole");
  } else if (strcmp(*kind, "chunks") == 0) {
    bytes *own = NULL;
    size_t n = 0, i;
    const bytes *chunks;
    mcp_policy_output *all = NULL;
    mcp_policy_exchange *x = find(run, name, err, cap);
    if (!x) goto done;
    if (split) {
      chunks = split;
      n = nsplit;
    } else {
      if (chunk_list(s, &own, &n, err, cap)) goto done;
      chunks = own;
    }
    if (n == 0) {
      /* Nothing sent: the empty step, as the Rust runner's `Step::default()`, is what a
       * chunk of no bytes gives. */
      mcp_policy_exchange_chunk(x, NULL, 0, ctx, &all);
    }
    for (i = 0; i < n; i++) {
      mcp_policy_output *o = NULL;
      if (mcp_policy_exchange_chunk(x, chunks[i].data, chunks[i].len, ctx, &o) != MCP_POLICY_RESULT_OK) {
        snprintf(err, cap, "mcp_policy_exchange_chunk failed");
        break;
      }
      if (!all) {
        all = o;
      } else {
        if (mcp_policy_output_merge(all, o) != MCP_POLICY_RESULT_OK) snprintf(err, cap, "merge failed");
        mcp_policy_output_free(o);
      }
    }
    if (own) chunks_free(own, n);
    if (!*err && all) actual = output_json(all, err, cap);
    else mcp_policy_output_free(all);
  } else if (strcmp(*kind, "finish") == 0) {
    mcp_policy_output *o = NULL;
    mcp_policy_exchange *x = find(run, name, err, cap);
    if (!x) goto done;
    if (mcp_policy_exchange_finish(x, &o) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_exchange_finish failed");
      goto done;
    }
    actual = output_json(o, err, cap);
  } else if (strcmp(*kind, "body") == 0 || strcmp(*kind, "message") == 0 ||
             strcmp(*kind, "route") == 0) {
    bytes data = {0};
    int got = resolve(s, "data", &data, err, cap);
    if (got != 1) {
      if (got == 0) snprintf(err, cap, "`%s` steps give `data` or `dataText`", *kind);
      goto done;
    }
    if (strcmp(*kind, "route") == 0) {
      mcp_policy_route route;
      uint64_t id;
      if (mcp_policy_session_route(run->session, run->engine, data.data, data.len, &route, &id) !=
          MCP_POLICY_RESULT_OK) {
        snprintf(err, cap, "mcp_policy_session_route failed");
      } else if (route == MCP_POLICY_ROUTE_EXCHANGE) {
        const char *l = label_of(run, id);
        char fallback[32];
        if (!*l) {
          snprintf(fallback, sizeof fallback, "#%llu", (unsigned long long)id);
          l = fallback;
        }
        actual = json_pack("{s:s}", "route", l);
      } else {
        actual = json_pack("{s:s}", "route", route == MCP_POLICY_ROUTE_UNSOLICITED ? "unsolicited" : "unreadable");
      }
    } else {
      mcp_policy_output *o = NULL;
      mcp_policy_exchange *x = find(run, name, err, cap);
      if (x) {
        if (strcmp(*kind, "body") == 0) {
          if (mcp_policy_exchange_body(x, data.data, data.len, ctx, &o) == MCP_POLICY_RESULT_OK)
            actual = output_json(o, err, cap);
          else
            snprintf(err, cap, "mcp_policy_exchange_body failed");
        } else if (mcp_policy_exchange_message(x, data.data, data.len, ctx, &o) == MCP_POLICY_RESULT_OK) {
          actual = output_json(o, err, cap);
        } else {
          actual = last_error();
        }
      }
    }
    bytes_free(&data);
  } else if (strcmp(*kind, "fail") == 0) {
    const char *f = json_string_value(json_object_get(s, "failure"));
    const char *detail = json_string_value(json_object_get(s, "detail"));
    const json_t *streaming = json_object_get(s, "streaming");
    uint32_t failure;
    mcp_policy_output *o = NULL;
    mcp_policy_exchange *x = find(run, name, err, cap);
    if (!x) goto done;
    if (!f) f = "";
    if (strcmp(f, "unreachable") == 0) failure = MCP_POLICY_FAILURE_UNREACHABLE;
    else if (strcmp(f, "timeout") == 0) failure = MCP_POLICY_FAILURE_TIMEOUT;
    else if (strcmp(f, "broken") == 0) failure = MCP_POLICY_FAILURE_BROKEN;
    else if (strcmp(f, "shutting_down") == 0) failure = MCP_POLICY_FAILURE_SHUTTING_DOWN;
    else if (strcmp(f, "unjudgeable") == 0) failure = MCP_POLICY_FAILURE_UNJUDGEABLE;
    else {
      snprintf(err, cap, "unknown failure \"%s\"", f);
      goto done;
    }
    if (!detail) detail = "failed";
    if (mcp_policy_exchange_fail(x, failure, (const uint8_t *)detail, strlen(detail),
                                 json_is_true(streaming), &o) != MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_exchange_fail failed");
      goto done;
    }
    actual = output_json(o, err, cap);
  } else { /* failAll */
    mcp_policy_output *o = NULL;
    size_t i, n;
    if (mcp_policy_session_fail_all(run->session, -32603, (const uint8_t *)name, strlen(name), &o) !=
        MCP_POLICY_RESULT_OK) {
      snprintf(err, cap, "mcp_policy_session_fail_all failed");
      goto done;
    }
    actual = json_array();
    n = mcp_policy_output_failed_count(o);
    for (i = 0; i < n; i++) {
      uint64_t id;
      mcp_policy_slice body;
      if (!mcp_policy_output_failed(o, i, &id, &body)) abort();
      json_array_append_new(actual, json_pack("[s, s#]", label_of(run, id), (const char *)body.data, body.len));
    }
    mcp_policy_output_free(o);
  }
done:
  mcp_policy_context_free(ctx);
  return actual;
}

static int step_keys_ok(const json_t *s, char *err, size_t cap) {
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)s, k, v) {
    (void)v;
    if (!in_list(k, STEP_KEYS)) {
      snprintf(err, cap, "unknown step key `%s`", k);
      return -1;
    }
  }
  return 0;
}

static void run_case(mcp_policy_engine *engine, const json_t *c, size_t split_at,
                     const bytes *split, size_t nsplit, const char *file, const char *name,
                     const char *variant) {
  run_t run;
  const json_t *steps = json_object_get(c, "steps");
  size_t i;
  memset(&run, 0, sizeof run);
  run.engine = engine;
  if (mcp_policy_session_new(engine, &run.session) != MCP_POLICY_RESULT_OK) abort();
  if (json_is_true(json_object_get(c, "resumable")))
    mcp_policy_session_set_resumable(run.session, true);
  if (!json_is_array(steps)) {
    fail(file, name, "a case needs `steps` (an array)");
    run_free(&run);
    return;
  }
  for (i = 0; i < json_array_size(steps); i++) {
    const json_t *s = json_array_get(steps, i);
    const json_t *exp;
    char err[1024] = "";
    json_t *actual;
    if (!json_is_object(s)) {
      fail(file, name, "step %zu is not an object", i);
      break;
    }
    if (step_keys_ok(s, err, sizeof err)) {
      fail(file, name, "step %zu: %s", i, err);
      break;
    }
    actual = step(&run, s, split && split_at == i ? split : NULL, nsplit, err, sizeof err);
    if (!actual) {
      fail(file, name, "step %zu%s: cannot run: %s", i, variant, err);
      break;
    }
    exp = json_object_get(s, "expect");
    if (exp) {
      char path[1024] = "$", why[2048];
      if (match_at(exp, actual, path, sizeof path, why, sizeof why) != 0) {
        char *a = show(actual);
        fail(file, name, "step %zu%s: `expect` %s\n  answer: %.1200s", i, variant, why, a);
        free(a);
        json_decref(actual);
        break;
      }
    } else if (!json_object_get(s, "stream")) {
      fail(file, name, "step %zu needs `expect`", i);
      json_decref(actual);
      break;
    }
    json_decref(actual);
  }
  run_free(&run);
}

static int replays_enabled(void) {
  const char *v = getenv("MCP_POLICY_CASES_NO_SPLIT");
  return !(v && *v && strcmp(v, "0") != 0);
}

static void run_exchange(void) {
  static const char *const file_keys[] = {"description", "policy", "policyFile", "options", "cases", NULL};
  static const char *const case_keys[] = {"name", "resumable", "steps", NULL};
  size_t n, i, count = 0;
  char **names = list("exchange", &n);
  for (i = 0; i < n; i++) {
    char shown[512], err[1024] = "";
    json_t *doc = load("exchange", names[i], shown, sizeof shown);
    const json_t *cases, *options;
    bytes policy = {0};
    mcp_policy_engine *engine = NULL;
    mcp_policy_options opts;
    char scopes_text[1024];
    size_t j;
    free(names[i]);
    if (!doc) continue;
    if (unknown_keys(shown, NULL, doc, file_keys)) goto next;
    if (resolve(doc, "policy", &policy, err, sizeof err) != 1) {
      fail(shown, NULL, "give `policy` or `policyFile` %s", err);
      goto next;
    }
    memset(&opts, 0, sizeof opts);
    options = json_object_get(doc, "options");
    if (options) {
      const json_t *url = json_object_get(options, "resourceMetadataUrl");
      const json_t *max = json_object_get(options, "maxPending");
      const json_t *scopes = json_object_get(options, "challengeScopes");
      if (json_is_array(scopes)) {
        size_t k;
        const json_t *scope;
        scopes_text[0] = '\0';
        json_array_foreach(scopes, k, scope) {
          if (!json_is_string(scope)) continue;
          if (k) strncat(scopes_text, " ", sizeof scopes_text - strlen(scopes_text) - 1);
          strncat(scopes_text, json_string_value(scope), sizeof scopes_text - strlen(scopes_text) - 1);
        }
        opts.challenge_scopes = (const uint8_t *)scopes_text;
        opts.challenge_scopes_len = strlen(scopes_text);
      }
      if (json_is_string(url)) {
        opts.resource_metadata_url = (const uint8_t *)json_string_value(url);
        opts.resource_metadata_url_len = json_string_length(url);
      }
      if (json_is_integer(max)) opts.max_pending = (size_t)json_integer_value(max);
    }
    if (mcp_policy_engine_new(policy.data, policy.len, &opts, &engine) != MCP_POLICY_RESULT_OK) {
      fail(shown, NULL, "the policy does not compile");
      bytes_free(&policy);
      goto next;
    }
    bytes_free(&policy);
    cases = json_object_get(doc, "cases");
    if (!json_is_array(cases)) {
      fail(shown, NULL, "`cases` must be an array");
      mcp_policy_engine_free(engine);
      goto next;
    }
    for (j = 0; j < json_array_size(cases); j++) {
      const json_t *c = json_array_get(cases, j);
      const json_t *steps;
      const char *name = json_string_value(json_object_get(c, "name"));
      size_t k;
      if (!json_is_object(c) || !name) {
        fail(shown, NULL, "a case has no `name`");
        continue;
      }
      if (unknown_keys(shown, name, c, case_keys)) continue;
      count++;
      run_case(engine, c, 0, NULL, 0, shown, name, "");
      steps = json_object_get(c, "steps");
      if (!replays_enabled()) continue;
      for (k = 0; k < json_array_size(steps); k++) {
        const json_t *s = json_array_get(steps, k);
        bytes *chunks = NULL, whole, *ones, cut[2];
        size_t nc = 0, m, at, total = 0;
        char e2[256];
        if (!json_is_object(s) || !json_object_get(s, "chunks")) continue;
        if (chunk_list(s, &chunks, &nc, e2, sizeof e2)) continue;
        for (m = 0; m < nc; m++) total += chunks[m].len;
        if (total > MAX_SPLIT_REPLAY) {
          chunks_free(chunks, nc);
          continue;
        }
        whole.data = malloc(total + 1);
        if (!whole.data) abort();
        whole.len = 0;
        for (m = 0; m < nc; m++) {
          if (chunks[m].len) memcpy(whole.data + whole.len, chunks[m].data, chunks[m].len);
          whole.len += chunks[m].len;
        }
        chunks_free(chunks, nc);
        for (at = 0; at <= whole.len; at++) {
          char variant[64];
          cut[0].data = whole.data;
          cut[0].len = at;
          cut[1].data = whole.data + at;
          cut[1].len = whole.len - at;
          snprintf(variant, sizeof variant, " (cut at byte %zu)", at);
          run_case(engine, c, k, cut, 2, shown, name, variant);
        }
        ones = malloc((whole.len ? whole.len : 1) * sizeof *ones);
        if (!ones) abort();
        for (at = 0; at < whole.len; at++) {
          ones[at].data = whole.data + at;
          ones[at].len = 1;
        }
        run_case(engine, c, k, ones, whole.len, shown, name, " (one byte at a time)");
        free(ones);
        free(whole.data);
      }
    }
    mcp_policy_engine_free(engine);
  next:
    json_decref(doc);
  }
  free(names);
  cases_run += (int)count;
  printf("cases/exchange: %zu cases in %zu files%s\n", count, n,
         replays_enabled() ? "" : " (split replays off)");
}

int main(int argc, char **argv) {
  static const char *const policy_file[] = {"description", "cases", "policy", "policyText", "policyFile", "context", "contextText", "contextFile", NULL};
  static const char *const policy_case[] = {"name", "expect", "expectPolicy", "policy", "policyText", "policyFile", "message", "messageText", "messageFile", "request", "requestText", "requestFile", "response", "responseText", "responseFile", "context", "contextText", "contextFile", NULL};
  static const char *const policy_expects[] = {"expect", "expectPolicy", NULL};
  static const char *const expr_file[] = {"description", "cases", "context", "contextText", "contextFile", "message", "messageText", "messageFile", NULL};
  static const char *const expr_case[] = {"name", "expect", "expression", "type", "context", "contextText", "contextFile", "message", "messageText", "messageFile", NULL};
  static const char *const expr_expects[] = {"expect", NULL};
  if (argc != 2) {
    fprintf(stderr, "usage: %s <repository root>\n", argv[0]);
    return 2;
  }
  root = argv[1];
  run_folder("policy", policy_file, policy_case, policy_expects, judge_policy);
  run_folder("expr", expr_file, expr_case, expr_expects, judge_expr);
  run_exchange();
  if (failures) {
    fprintf(stderr, "%d failure(s) in the shared cases through the C ABI\n", failures);
    return 1;
  }
  printf("all %d shared cases pass through the C ABI\n", cases_run);
  return 0;
}
