/* Every function of the C ABI and every error path it can report, through the header as a C
 * user includes it; then one engine shared by 8 threads, which must answer as one thread does.
 * Built with -Wall -Wextra -Werror -pedantic against the static and the shared library, and
 * run under valgrind (make ffi-test). */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_policy.h"

static int failed;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
      failed++;                                                                      \
    }                                                                                \
  } while (0)

#define OK(call) CHECK((call) == MCP_POLICY_RESULT_OK)
#define LIT(s) (const uint8_t *)(s), strlen(s)

/* Whether a view holds `text` exactly / contains it. */
static int is(mcp_policy_slice s, const char *text) {
  return s.len == strlen(text) && (s.len == 0 || memcmp(s.data, text, s.len) == 0);
}

static int has(mcp_policy_slice s, const char *needle) {
  size_t n = strlen(needle), i;
  if (n > s.len) return 0;
  for (i = 0; i + n <= s.len; i++)
    if (memcmp(s.data + i, needle, n) == 0) return 1;
  return 0;
}

/* The last error's message and JSON, as C strings the caller frees. */
static char *last_message(void) {
  size_t n = 0;
  char *buf;
  CHECK(mcp_policy_last_error_message(NULL, 0, &n) == MCP_POLICY_RESULT_BUFFER_TOO_SMALL);
  buf = malloc(n + 1);
  if (!buf) abort();
  OK(mcp_policy_last_error_message(buf, n + 1, NULL));
  return buf;
}

static int last_json_has(const char *needle) {
  size_t n = 0;
  char *buf;
  int found;
  mcp_policy_last_error_json(NULL, 0, &n);
  buf = malloc(n + 1);
  if (!buf) abort();
  OK(mcp_policy_last_error_json(buf, n + 1, &n));
  found = strstr(buf, needle) != NULL;
  if (!found) fprintf(stderr, "last error JSON %s lacks %s\n", buf, needle);
  free(buf);
  return found;
}

static const char *POLICY =
    "{\"authorizations\":["
    "{\"authorizedFeatures\":["
    "{\"type\":\"TOOLS\",\"methods\":[\"TOOLS_LIST\",\"TOOLS_CALL\"],\"patternType\":\"LITERAL\",\"patternValue\":\"echo\"},"
    "{\"type\":\"RESOURCES\",\"methods\":[\"RESOURCES_LIST\",\"RESOURCES_READ\"],\"patternType\":\"PREFIX\",\"patternValue\":\"demo://public/\"}]},"
    "{\"scopes\":[\"mcp:admin\"],\"condition\":\"{#context.attributes['user.roles'].contains('mcp:admin')}\","
    "\"authorizedFeatures\":[{\"type\":\"TOOLS\",\"methods\":[\"TOOLS_LIST\",\"TOOLS_CALL\"],\"patternType\":\"PREFIX\",\"patternValue\":\"admin-\"}]},"
    "{\"effect\":\"DENY\",\"authorizedFeatures\":[{\"type\":\"SAMPLING\",\"methods\":[\"SAMPLING_CREATE_MESSAGE\"],\"patternType\":\"ANY\"}]}]}";

static const char *CALL_ECHO =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"}}}";
static const char *CALL_ENV = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"get-env\"}}";
static const char *CALL_ADMIN = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"admin-reset\"}}";
static const char *LIST = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}";
static const char *LIST_RESULT =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"get-env\"},{\"name\":\"admin-reset\"}]}}";

static mcp_policy_engine *compile(const char *metadata_url) {
  mcp_policy_engine *e = NULL;
  mcp_policy_options o;
  memset(&o, 0, sizeof o);
  if (metadata_url) {
    o.resource_metadata_url = (const uint8_t *)metadata_url;
    o.resource_metadata_url_len = strlen(metadata_url);
  }
  o.max_pending = 4;
  OK(mcp_policy_engine_new(LIT(POLICY), &o, &e));
  CHECK(e != NULL);
  return e;
}

static void test_basics(void) {
  mcp_policy_buffer *b = (mcp_policy_buffer *)1;
  char small[4];
  size_t n = 99;
  char *m;
  CHECK(strcmp(mcp_policy_version(), "0.1.0") == 0);
  CHECK(strcmp(mcp_policy_result_name(MCP_POLICY_RESULT_OK), "OK") == 0);
  CHECK(strcmp(mcp_policy_result_name(MCP_POLICY_RESULT_INVALID_POLICY), "INVALID_POLICY") == 0);
  CHECK(strcmp(mcp_policy_result_name(MCP_POLICY_RESULT_BUFFER_TOO_SMALL), "BUFFER_TOO_SMALL") == 0);
  CHECK(strcmp(mcp_policy_result_name(MCP_POLICY_RESULT_INTERNAL), "INTERNAL") == 0);
  CHECK(strcmp(mcp_policy_result_name(12345), "UNKNOWN") == 0);
  /* A NULL out-parameter fails the call, and leaves a precise message. */
  CHECK(mcp_policy_oauth_metadata_url(LIT("https://gw.example.com/mcp"), NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  m = last_message();
  CHECK(strstr(m, "out_url") != NULL);
  free(m);
  /* NULL bytes with a length: refused, out untouched. */
  CHECK(mcp_policy_oauth_metadata_url(NULL, 5, &b) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(b == (mcp_policy_buffer *)1);
  CHECK(last_json_has("\"code\":\"INVALID_ARGUMENT\""));
  CHECK(last_json_has("\"number\":901"));
  /* The message accessor: too small, exactly without room for the NUL, then enough. */
  CHECK(mcp_policy_last_error_message(small, sizeof small, &n) == MCP_POLICY_RESULT_BUFFER_TOO_SMALL);
  CHECK(n > sizeof small);
  {
    char *exact = malloc(n);
    size_t n2 = 0;
    if (!exact) abort();
    CHECK(mcp_policy_last_error_message(exact, n, &n2) == MCP_POLICY_RESULT_BUFFER_TOO_SMALL);
    CHECK(n2 == n);
    free(exact);
  }
  CHECK(mcp_policy_last_error_json(NULL, 0, NULL) == MCP_POLICY_RESULT_BUFFER_TOO_SMALL);
  /* Text that must be UTF-8. */
  CHECK(mcp_policy_oauth_metadata_url((const uint8_t *)"\xff\xfe", 2, &b) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(last_json_has("not UTF-8"));
  /* Freeing NULL is a no-op for every handle. */
  mcp_policy_buffer_free(NULL);
  mcp_policy_context_free(NULL);
  mcp_policy_engine_free(NULL);
  mcp_policy_decision_free(NULL);
  mcp_policy_session_free(NULL);
  mcp_policy_exchange_free(NULL);
  mcp_policy_output_free(NULL);
  CHECK(mcp_policy_buffer_data(NULL).len == 0);
}

static void test_engine(void) {
  mcp_policy_engine *e = NULL, *e2 = NULL, *sentinel = (mcp_policy_engine *)1;
  mcp_policy_decision *d = NULL;
  mcp_policy_buffer *b = NULL;
  mcp_policy_output *o = NULL;
  mcp_policy_context *admin = NULL;
  mcp_policy_header h = {(const uint8_t *)"x-role", 6, (const uint8_t *)"admin", 5};

  /* A policy that does not compile: every issue with its JSON path; out untouched. */
  CHECK(mcp_policy_engine_new(LIT("{\"authorizations\":[{\"authorizedFeatures\":[{\"type\":\"TOOLZ\"}]}]}"), NULL,
                              &sentinel) == MCP_POLICY_RESULT_INVALID_POLICY);
  CHECK(sentinel == (mcp_policy_engine *)1);
  CHECK(last_json_has("\"issues\""));
  CHECK(last_json_has("TOOLZ"));
  CHECK(mcp_policy_engine_new(LIT("not json"), NULL, &sentinel) != MCP_POLICY_RESULT_OK);
  CHECK(mcp_policy_engine_new(NULL, 3, NULL, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_engine_new(LIT(POLICY), NULL, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  {
    mcp_policy_options bad = {(const uint8_t *)"\xff", 1, 0, NULL, 0};
    mcp_policy_options bad_scopes = {NULL, 0, 0, (const uint8_t *)"\xff", 1};
    CHECK(mcp_policy_engine_new(LIT(POLICY), &bad, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
    CHECK(mcp_policy_engine_new(LIT(POLICY), &bad_scopes, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  }
  CHECK(sentinel == (mcp_policy_engine *)1);

  e = compile(NULL);
  OK(mcp_policy_engine_clone(e, &e2));
  CHECK(mcp_policy_engine_clone(NULL, &e2) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_engine_free(e); /* the clone lives on */

  OK(mcp_policy_engine_check(e2, LIT(CALL_ECHO), NULL, &d));
  CHECK(mcp_policy_decision_allowed(d));
  CHECK(mcp_policy_decision_status(d) == 200);
  CHECK(mcp_policy_decision_rule(d) == 0);
  CHECK(is(mcp_policy_decision_reason(d), "granted"));
  CHECK(mcp_policy_decision_response(d).len == 0);
  mcp_policy_decision_free(d);

  OK(mcp_policy_engine_check(e2, LIT(CALL_ENV), NULL, &d));
  CHECK(!mcp_policy_decision_allowed(d));
  CHECK(mcp_policy_decision_status(d) == 200);
  CHECK(mcp_policy_decision_rule(d) == -1);
  CHECK(mcp_policy_decision_reason(d).len > 0);
  CHECK(has(mcp_policy_decision_response(d), "\"id\":2"));
  CHECK(has(mcp_policy_decision_response(d), "-32602"));
  mcp_policy_decision_free(d);

  /* A role from the context grants the admin tool (rule 1); without it, it is denied. */
  OK(mcp_policy_context_new(&h, 1, LIT("{\"user.roles\":[\"mcp:admin\"]}"), &admin));
  OK(mcp_policy_engine_check(e2, LIT(CALL_ADMIN), admin, &d));
  CHECK(mcp_policy_decision_allowed(d) && mcp_policy_decision_rule(d) == 1);
  mcp_policy_decision_free(d);
  OK(mcp_policy_engine_check(e2, LIT(CALL_ADMIN), NULL, &d));
  CHECK(!mcp_policy_decision_allowed(d));
  mcp_policy_decision_free(d);

  /* Not a message: an error with its code, no decision. */
  d = (mcp_policy_decision *)1;
  CHECK(mcp_policy_engine_check(e2, LIT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"method\":\"x\"}"),
                                NULL, &d) == MCP_POLICY_RESULT_DUPLICATE_KEY);
  CHECK(d == (mcp_policy_decision *)1);
  CHECK(mcp_policy_engine_check(e2, LIT("{oops"), NULL, &d) == MCP_POLICY_RESULT_SYNTAX);
  CHECK(last_json_has("\"offset\""));
  CHECK(mcp_policy_engine_check(NULL, LIT(CALL_ECHO), NULL, &d) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_engine_check(e2, LIT(CALL_ECHO), NULL, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(!mcp_policy_decision_allowed(NULL) && mcp_policy_decision_status(NULL) == 0);
  CHECK(mcp_policy_decision_rule(NULL) == -1 && mcp_policy_decision_reason(NULL).len == 0);
  CHECK(mcp_policy_decision_response(NULL).len == 0);

  /* The JSON answer format, batches included. */
  OK(mcp_policy_engine_check_json(e2, LIT(CALL_ENV), NULL, &b));
  CHECK(has(mcp_policy_buffer_data(b), "\"decision\":\"deny\""));
  mcp_policy_buffer_free(b);
  {
    char batch[1024];
    snprintf(batch, sizeof batch, "[%s,%s]", CALL_ECHO, CALL_ENV);
    OK(mcp_policy_engine_check_json(e2, LIT(batch), NULL, &b));
    CHECK(has(mcp_policy_buffer_data(b), "\"batch\":["));
    CHECK(has(mcp_policy_buffer_data(b), "\"allowed\":false"));
    mcp_policy_buffer_free(b);
  }
  OK(mcp_policy_engine_check_json(e2, LIT("nope"), NULL, &b));
  CHECK(has(mcp_policy_buffer_data(b), "invalid_message"));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_engine_check_json(e2, LIT(CALL_ENV), NULL, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);

  /* Filtering one whole answer: the list keeps echo; the admin's keeps admin-reset too. */
  OK(mcp_policy_engine_filter(e2, LIT(LIST), LIT(LIST_RESULT), NULL, &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_FILTERED);
  CHECK(mcp_policy_output_body_state(o) == MCP_POLICY_BODY_SET);
  CHECK(has(mcp_policy_output_body(o), "echo") && !has(mcp_policy_output_body(o), "get-env"));
  CHECK(!has(mcp_policy_output_body(o), "admin-reset"));
  CHECK(has(mcp_policy_output_json(o), "\"rewrite\":\"replaced\""));
  mcp_policy_output_free(o);
  OK(mcp_policy_engine_filter(e2, LIT(LIST), LIT(LIST_RESULT), admin, &o));
  CHECK(has(mcp_policy_output_body(o), "admin-reset"));
  mcp_policy_output_free(o);
  OK(mcp_policy_engine_filter(e2, LIT(CALL_ECHO), LIT("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"), NULL, &o));
  CHECK(mcp_policy_output_body_state(o) == MCP_POLICY_BODY_UNCHANGED);
  CHECK(mcp_policy_output_body(o).len == 0);
  mcp_policy_output_free(o);
  OK(mcp_policy_engine_filter(e2, LIT(CALL_ECHO),
                              LIT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"demo://secret/x\"}}"),
                              NULL, &o));
  CHECK(mcp_policy_output_body_state(o) == MCP_POLICY_BODY_NONE);
  mcp_policy_output_free(o);
  o = (mcp_policy_output *)1;
  CHECK(mcp_policy_engine_filter(e2, LIT(LIST), LIT("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"roots/list\"}"), NULL,
                                 &o) == MCP_POLICY_RESULT_INVALID_REQUEST);
  CHECK(mcp_policy_engine_filter(e2, LIT("[]"), LIT(LIST_RESULT), NULL, &o) != MCP_POLICY_RESULT_OK);
  CHECK(o == (mcp_policy_output *)1);

  mcp_policy_context_free(admin);
  mcp_policy_engine_free(e2);
}

static void test_context_and_expressions(void) {
  mcp_policy_header hs[3] = {
      {(const uint8_t *)"X-Role", 6, (const uint8_t *)"admin", 5},
      {(const uint8_t *)"Authorization", 13, (const uint8_t *)"Bearer secret", 13},
      {(const uint8_t *)"x-bin", 5, (const uint8_t *)"\xff", 1},
  };
  mcp_policy_context *c = NULL, *doc = NULL, *sentinel = (mcp_policy_context *)1;
  mcp_policy_buffer *v = NULL;

  OK(mcp_policy_context_new(hs, 3, LIT("{\"user\":\"alice\"}"), &c));
  OK(mcp_policy_evaluate(LIT("{#request.headers['x-role'][0]}"), c, NULL, 0, MCP_POLICY_EXPR_TYPE_AUTO, &v));
  CHECK(is(mcp_policy_buffer_data(v), "\"admin\""));
  mcp_policy_buffer_free(v);
  /* Credentials never reach conditions; a header that is not UTF-8 is skipped. */
  OK(mcp_policy_evaluate(LIT("{#request.headers['authorization'] == null}"), c, NULL, 0, MCP_POLICY_EXPR_TYPE_BOOLEAN, &v));
  CHECK(is(mcp_policy_buffer_data(v), "true"));
  mcp_policy_buffer_free(v);
  OK(mcp_policy_evaluate(LIT("{#request.headers['x-bin'] == null}"), c, NULL, 0, MCP_POLICY_EXPR_TYPE_BOOLEAN, &v));
  CHECK(is(mcp_policy_buffer_data(v), "true"));
  mcp_policy_buffer_free(v);
  OK(mcp_policy_evaluate(LIT("{#context.attributes['user']}"), c, NULL, 0, MCP_POLICY_EXPR_TYPE_STRING, &v));
  CHECK(is(mcp_policy_buffer_data(v), "\"alice\""));
  mcp_policy_buffer_free(v);
  /* The message judged fills #mcp. */
  OK(mcp_policy_evaluate(LIT("{#mcp.name}"), NULL, LIT(CALL_ECHO), MCP_POLICY_EXPR_TYPE_AUTO, &v));
  CHECK(is(mcp_policy_buffer_data(v), "\"echo\""));
  mcp_policy_buffer_free(v);

  /* Errors: a template that does not compile, one that fails, a bad type, a bad message. */
  v = (mcp_policy_buffer *)1;
  CHECK(mcp_policy_evaluate(LIT("{#request.headers["), c, NULL, 0, 0, &v) == MCP_POLICY_RESULT_INVALID_EXPRESSION);
  CHECK(last_json_has("\"position\""));
  CHECK(mcp_policy_evaluate(LIT("{#request.headers['x-role'] matches 'adm.*'}"), c, NULL, 0, 0, &v) ==
        MCP_POLICY_RESULT_EVALUATION_FAILED);
  CHECK(last_json_has("EVALUATION_FAILED"));
  CHECK(mcp_policy_evaluate(LIT("{true}"), c, NULL, 0, 7, &v) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_evaluate(LIT("{true}"), c, LIT("[1"), 0, &v) == MCP_POLICY_RESULT_SYNTAX);
  CHECK(mcp_policy_evaluate(LIT("{true}"), c, NULL, 0, 0, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(v == (mcp_policy_buffer *)1);
  OK(mcp_policy_evaluate_json(LIT("{#request.headers["), c, NULL, 0, 0, &v));
  CHECK(has(mcp_policy_buffer_data(v), "INVALID_EXPRESSION"));
  mcp_policy_buffer_free(v);
  OK(mcp_policy_evaluate_json(LIT("{#context.attributes['user'] == 'alice'}"), c, NULL, 0, 0, &v));
  CHECK(is(mcp_policy_buffer_data(v), "{\"value\":true}"));
  mcp_policy_buffer_free(v);
  CHECK(mcp_policy_evaluate_json(LIT("{1}"), NULL, LIT("x"), 0, &v) == MCP_POLICY_RESULT_SYNTAX);
  CHECK(mcp_policy_evaluate_json(LIT("{1}"), NULL, NULL, 0, 3, &v) == MCP_POLICY_RESULT_INVALID_ARGUMENT);

  /* Context errors. */
  CHECK(mcp_policy_context_new(hs, 1, LIT("[1]"), &sentinel) == MCP_POLICY_RESULT_INVALID_CONTEXT);
  CHECK(mcp_policy_context_new(hs, 1, LIT("{"), &sentinel) != MCP_POLICY_RESULT_OK);
  CHECK(mcp_policy_context_new(hs, 1, (const uint8_t *)"\xff", 1, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_context_new(NULL, 2, NULL, 0, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  {
    mcp_policy_header bad = {NULL, 3, NULL, 0};
    CHECK(mcp_policy_context_new(&bad, 1, NULL, 0, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  }
  CHECK(mcp_policy_context_new(NULL, 0, NULL, 0, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(sentinel == (mcp_policy_context *)1);

  OK(mcp_policy_context_from_json(LIT("{\"request\":{\"headers\":{\"X-Team\":[\"blue\"]}},\"api\":{\"id\":\"w\"}}"), &doc));
  OK(mcp_policy_evaluate(LIT("{#request.headers['x-team'][0] + #api.id}"), doc, NULL, 0, 0, &v));
  CHECK(is(mcp_policy_buffer_data(v), "\"bluew\""));
  mcp_policy_buffer_free(v);
  CHECK(mcp_policy_context_from_json(LIT("{\"request\":{\"headers\":7}}"), &sentinel) == MCP_POLICY_RESULT_INVALID_CONTEXT);
  CHECK(last_json_has("\"path\""));
  CHECK(mcp_policy_context_from_json((const uint8_t *)"\xff", 1, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_context_from_json(LIT("{}"), NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(sentinel == (mcp_policy_context *)1);
  mcp_policy_context_free(doc);
  mcp_policy_context_free(c);
}

static const mcp_policy_header JSON_TYPE[1] = {{(const uint8_t *)"content-type", 12, (const uint8_t *)"application/json", 16}};

static void test_exchange(void) {
  mcp_policy_engine *e = compile("https://gw.example.com/.well-known/oauth-protected-resource/mcp");
  mcp_policy_session *s = NULL;
  mcp_policy_output *v = NULL, *o = NULL, *o2 = NULL;
  mcp_policy_exchange *x = NULL, *g = NULL;
  mcp_policy_head head;
  mcp_policy_slice name, value;
  mcp_policy_notes notes;
  mcp_policy_route route;
  uint64_t id = 99;

  OK(mcp_policy_session_new(e, &s));
  CHECK(mcp_policy_session_new(NULL, &s) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  OK(mcp_policy_session_set_resumable(s, false));
  CHECK(mcp_policy_session_set_resumable(NULL, true) == MCP_POLICY_RESULT_INVALID_ARGUMENT);

  /* A list request is forwarded with the type it was judged as. */
  OK(mcp_policy_exchange_new(e, s, LIT(LIST), JSON_TYPE, 1, NULL, &v, &x));
  CHECK(mcp_policy_output_kind(v) == MCP_POLICY_KIND_FORWARD && x != NULL);
  CHECK(is(mcp_policy_output_content_type(v), "application/json"));
  CHECK(mcp_policy_output_header_count(v) == 1);
  CHECK(mcp_policy_output_status(v) == 0);
  CHECK(has(mcp_policy_output_json(v), "\"verdict\":\"forward\""));
  mcp_policy_output_free(v);
  CHECK(mcp_policy_exchange_waiting(x) == 1);
  CHECK(mcp_policy_exchange_id(x) != 0);

  /* Its answer arrives as SSE, cut in the middle of the event: filtered, whole events out. */
  OK(mcp_policy_exchange_head(x, 200, LIT("text/event-stream"), NULL, 0, &head));
  CHECK(head == MCP_POLICY_HEAD_STREAM);
  OK(mcp_policy_exchange_chunk(x, LIT("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"echo\"},"), NULL, &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_STEP);
  CHECK(mcp_policy_output_body(o).len == 0 && !mcp_policy_output_end(o));
  OK(mcp_policy_exchange_chunk(x, LIT("{\"name\":\"get-env\"}]}}\n\n"), NULL, &o2));
  CHECK(has(mcp_policy_output_body(o2), "echo") && !has(mcp_policy_output_body(o2), "get-env"));
  CHECK(has(mcp_policy_output_body(o2), "id: 1\n"));
  CHECK(mcp_policy_output_notes(o2, &notes) && notes.answered == 1 && notes.hidden == 1);
  OK(mcp_policy_output_merge(o, o2));
  CHECK(has(mcp_policy_output_json(o), "\"answered\":1"));
  mcp_policy_output_free(o2);
  CHECK(mcp_policy_exchange_waiting(x) == 0);
  OK(mcp_policy_exchange_finish(x, &o2));
  CHECK(mcp_policy_output_body(o2).len == 0);
  CHECK(mcp_policy_output_merge(o2, v = NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_output_free(o2);
  mcp_policy_exchange_free(x);
  {
    mcp_policy_output *f = NULL;
    mcp_policy_exchange *fx = NULL;
    OK(mcp_policy_exchange_new(e, s, LIT(LIST), JSON_TYPE, 1, NULL, &f, &fx));
    CHECK(mcp_policy_output_merge(o, f) == MCP_POLICY_RESULT_INVALID_ARGUMENT); /* not a step */
    CHECK(mcp_policy_output_merge(f, o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
    /* The server refuses to answer: a whole-answer failure is a 502 reply with the id. */
    OK(mcp_policy_exchange_fail(fx, MCP_POLICY_FAILURE_UNREACHABLE, LIT("connection refused"), false, &o2));
    CHECK(mcp_policy_output_kind(o2) == MCP_POLICY_KIND_REPLY && mcp_policy_output_status(o2) == 502);
    CHECK(has(mcp_policy_output_body(o2), "\"id\":7"));
    mcp_policy_output_free(o2);
    CHECK(mcp_policy_exchange_fail(fx, 42, LIT("x"), false, &o2) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
    mcp_policy_output_free(f);
    mcp_policy_exchange_free(fx);
  }
  mcp_policy_output_free(o);

  /* 2026-07-28 clients have no session: each request comes with a fresh one, and the engine
     keeps their task bindings, so a task one request creates can be followed by the next; a
     request of an earlier revision sees only its own session's. */
  {
    mcp_policy_session *s1 = NULL, *s2 = NULL, *own = NULL;
    mcp_policy_header h[4] = {JSON_TYPE[0],
                              {(const uint8_t *)"mcp-protocol-version", 20, (const uint8_t *)"2026-07-28", 10},
                              {(const uint8_t *)"mcp-method", 10, (const uint8_t *)"tools/call", 10},
                              {(const uint8_t *)"mcp-name", 8, (const uint8_t *)"echo", 4}};
    OK(mcp_policy_session_new(e, &s1));
    OK(mcp_policy_session_new(e, &s2));
    OK(mcp_policy_session_new(e, &own));
    OK(mcp_policy_exchange_new(e, s1, LIT(CALL_ECHO), h, 4, NULL, &v, &x));
    CHECK(mcp_policy_output_kind(v) == MCP_POLICY_KIND_FORWARD && x != NULL);
    mcp_policy_output_free(v);
    OK(mcp_policy_exchange_head(x, 200, LIT("application/json"), NULL, 0, &head));
    CHECK(head == MCP_POLICY_HEAD_WHOLE);
    OK(mcp_policy_exchange_body(x, LIT("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"task\",\"taskId\":\"t-1\",\"status\":\"working\"}}"), NULL, &o));
    mcp_policy_output_free(o);
    mcp_policy_exchange_free(x);
    h[2].value = (const uint8_t *)"tasks/get";
    h[2].value_len = 9;
    h[3].value = (const uint8_t *)"t-1";
    h[3].value_len = 3;
    OK(mcp_policy_exchange_new(e, s2, LIT("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"t-1\"}}"), h, 4, NULL, &v, &x));
    CHECK(mcp_policy_output_kind(v) == MCP_POLICY_KIND_FORWARD);
    mcp_policy_output_free(v);
    mcp_policy_exchange_free(x);
    h[1].value = (const uint8_t *)"2025-11-25";
    OK(mcp_policy_exchange_new(e, own, LIT("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"t-1\"}}"), h, 4, NULL, &v, &x));
    CHECK(mcp_policy_output_kind(v) == MCP_POLICY_KIND_REPLY && x == NULL);
    CHECK(has(mcp_policy_output_body(v), "Unknown task: t-1"));
    mcp_policy_output_free(v);
    mcp_policy_session_free(s1);
    mcp_policy_session_free(s2);
    mcp_policy_session_free(own);
  }

  /* A denied call is answered by the engine: nothing forwarded, no exchange. */
  x = (mcp_policy_exchange *)1;
  OK(mcp_policy_exchange_new(e, s, LIT(CALL_ENV), JSON_TYPE, 1, NULL, &v, &x));
  CHECK(x == NULL);
  CHECK(mcp_policy_output_kind(v) == MCP_POLICY_KIND_REPLY && mcp_policy_output_status(v) == 200);
  CHECK(has(mcp_policy_output_body(v), "Unknown tool"));
  CHECK(mcp_policy_output_header(v, 0, &name, &value) && is(name, "content-type") && is(value, "application/json"));
  CHECK(!mcp_policy_output_header(v, 1, &name, &value));
  CHECK(!mcp_policy_output_header(v, 0, NULL, &value));
  mcp_policy_output_free(v);

  /* A denial a scope would cure: 403 with the step-up challenge. */
  OK(mcp_policy_exchange_new(e, s, LIT(CALL_ADMIN), JSON_TYPE, 1, NULL, &v, &x));
  CHECK(mcp_policy_output_status(v) == 403 && mcp_policy_output_header_count(v) == 2);
  CHECK(mcp_policy_output_header(v, 1, &name, &value) && is(name, "www-authenticate"));
  CHECK(has(value, "insufficient_scope") && has(value, "mcp:admin"));
  mcp_policy_output_free(v);

  /* What cannot be judged is refused: a charset other than UTF-8, a header sent twice. */
  {
    mcp_policy_header utf7[1] = {{(const uint8_t *)"Content-Type", 12, (const uint8_t *)"application/json; charset=utf-7", 31}};
    mcp_policy_header twice[2] = {JSON_TYPE[0], JSON_TYPE[0]};
    OK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), utf7, 1, NULL, &v, &x));
    CHECK(mcp_policy_output_status(v) == 415 && x == NULL);
    mcp_policy_output_free(v);
    OK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), twice, 2, NULL, &v, &x));
    CHECK(mcp_policy_output_status(v) == 415);
    mcp_policy_output_free(v);
  }
  v = (mcp_policy_output *)1;
  CHECK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), NULL, 1, NULL, &v, &x) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_new(NULL, s, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, &x) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_new(e, NULL, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, &x) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(v == (mcp_policy_output *)1);

  /* A call answered as a whole JSON body, unchanged; a server request the policy refuses
   * on a stream goes back to the server as an error, never to the client. */
  OK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, &x));
  mcp_policy_output_free(v);
  OK(mcp_policy_exchange_head(x, 200, LIT("application/json"), NULL, 0, &head));
  CHECK(head == MCP_POLICY_HEAD_WHOLE);
  OK(mcp_policy_exchange_body(x, LIT("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"), NULL, &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_ANSWER && mcp_policy_output_status(o) == 200);
  CHECK(mcp_policy_output_body_state(o) == MCP_POLICY_BODY_UNCHANGED);
  CHECK(is(mcp_policy_output_content_type(o), "application/json"));
  mcp_policy_output_free(o);
  CHECK(mcp_policy_exchange_body(NULL, LIT("{}"), NULL, &o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_head(x, 200, NULL, 0, NULL, 0, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_exchange_free(x);

  OK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, &x));
  mcp_policy_output_free(v);
  OK(mcp_policy_exchange_head(x, 200, LIT("text/event-stream"), NULL, 0, &head));
  OK(mcp_policy_exchange_chunk(x, LIT("data: {\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"sampling/createMessage\",\"params\":{}}\n\n"), NULL, &o));
  CHECK(mcp_policy_output_body(o).len == 0);
  CHECK(mcp_policy_output_to_server_count(o) == 1);
  CHECK(has(mcp_policy_output_to_server(o, 0), "\"id\":50") && has(mcp_policy_output_to_server(o, 0), "\"error\""));
  CHECK(mcp_policy_output_to_server(o, 1).len == 0);
  CHECK(mcp_policy_output_notes(o, &notes) && notes.refused == 1);
  CHECK(!mcp_policy_output_notes(o, NULL) && !mcp_policy_output_notes(NULL, &notes));
  mcp_policy_output_free(o);
  /* An event that cannot be read ends the stream with an error for the waiting call. */
  OK(mcp_policy_exchange_chunk(x, LIT("data: {not json\n\n"), NULL, &o));
  CHECK(mcp_policy_output_end(o));
  CHECK(has(mcp_policy_output_body(o), "\"id\":1") && has(mcp_policy_output_body(o), "\"error\""));
  mcp_policy_output_free(o);
  OK(mcp_policy_exchange_fail(x, MCP_POLICY_FAILURE_BROKEN, LIT("reset"), true, &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_STEP);
  mcp_policy_output_free(o);
  CHECK(mcp_policy_exchange_chunk(x, NULL, 4, NULL, &o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_finish(NULL, &o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_exchange_fail(x, MCP_POLICY_FAILURE_TIMEOUT, (const uint8_t *)"\xff", 1, true, &o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_exchange_free(x);

  /* stdio: lines routed to the exchange waiting for them, judged, delivered. */
  OK(mcp_policy_exchange_new(e, s, LIT(LIST), JSON_TYPE, 1, NULL, &v, &x));
  mcp_policy_output_free(v);
  OK(mcp_policy_exchange_new_stream(e, s, NULL, 0, &g));
  OK(mcp_policy_session_route(s, e, LIT(LIST_RESULT), &route, &id));
  CHECK(route == MCP_POLICY_ROUTE_EXCHANGE && id == mcp_policy_exchange_id(x));
  OK(mcp_policy_session_route(s, e, LIT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}"), &route, &id));
  CHECK(route == MCP_POLICY_ROUTE_UNSOLICITED && id == 0);
  OK(mcp_policy_session_route(s, e, LIT("garbage"), &route, &id));
  CHECK(route == MCP_POLICY_ROUTE_UNREADABLE);
  CHECK(mcp_policy_session_route(s, NULL, LIT("x"), &route, &id) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_session_route(s, e, LIT("x"), NULL, &id) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  OK(mcp_policy_exchange_message(x, LIT(LIST_RESULT), NULL, &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_DELIVERY && mcp_policy_output_body_state(o) == MCP_POLICY_BODY_SET);
  CHECK(!has(mcp_policy_output_body(o), "get-env"));
  mcp_policy_output_free(o);
  o = (mcp_policy_output *)1;
  CHECK(mcp_policy_exchange_message(g, LIT("{\"jsonrpc\":"), NULL, &o) == MCP_POLICY_RESULT_SYNTAX);
  CHECK(o == (mcp_policy_output *)1);
  mcp_policy_exchange_free(x);

  /* The server channel broke: every waiting request gets an error on its exchange's stream. */
  OK(mcp_policy_exchange_new(e, s, LIT(CALL_ECHO), JSON_TYPE, 1, NULL, &v, &x));
  mcp_policy_output_free(v);
  OK(mcp_policy_session_fail_all(s, -32603, LIT("the server exited"), &o));
  CHECK(mcp_policy_output_kind(o) == MCP_POLICY_KIND_FAILURES && mcp_policy_output_failed_count(o) == 1);
  {
    mcp_policy_slice body;
    uint64_t ex = 0;
    CHECK(mcp_policy_output_failed(o, 0, &ex, &body) && ex == mcp_policy_exchange_id(x));
    CHECK(has(body, "the server exited") && has(body, "\"id\":1"));
    CHECK(!mcp_policy_output_failed(o, 1, &ex, &body));
    CHECK(!mcp_policy_output_failed(o, 0, NULL, &body));
  }
  CHECK(has(mcp_policy_output_json(o), "the server exited"));
  mcp_policy_output_free(o);
  CHECK(mcp_policy_session_fail_all(NULL, -32603, LIT("x"), &o) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_exchange_free(x);
  mcp_policy_exchange_free(g);

  /* A resumed stream takes over what a resumable stream left waiting. */
  OK(mcp_policy_session_set_resumable(s, true));
  OK(mcp_policy_exchange_new(e, s, LIT(LIST), JSON_TYPE, 1, NULL, &v, &x));
  mcp_policy_output_free(v);
  OK(mcp_policy_exchange_head(x, 200, LIT("text/event-stream"), NULL, 0, &head));
  OK(mcp_policy_exchange_chunk(x, LIT("id: ev-1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"x\"}}\n\n"), NULL, &o));
  mcp_policy_output_free(o);
  OK(mcp_policy_exchange_finish(x, &o));
  CHECK(mcp_policy_output_body(o).len == 0); /* no error: it can be resumed */
  mcp_policy_output_free(o);
  mcp_policy_exchange_free(x);
  OK(mcp_policy_exchange_new_stream(e, s, LIT("ev-1"), &g));
  CHECK(mcp_policy_exchange_waiting(g) == 1);
  OK(mcp_policy_exchange_head(g, 200, LIT("text/event-stream"), NULL, 0, &head));
  OK(mcp_policy_exchange_chunk(g, LIT("data: "), NULL, &o));
  mcp_policy_output_free(o);
  {
    char ev[512];
    snprintf(ev, sizeof ev, "%s\n\n", LIST_RESULT);
    OK(mcp_policy_exchange_chunk(g, LIT(ev), NULL, &o));
  }
  CHECK(has(mcp_policy_output_body(o), "echo") && !has(mcp_policy_output_body(o), "admin-reset"));
  mcp_policy_output_free(o);
  CHECK(mcp_policy_exchange_new_stream(e, s, NULL, 0, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  mcp_policy_exchange_free(g);

  /* Accessors on NULL answer their empty value. */
  CHECK(mcp_policy_output_kind(NULL) == 0 && mcp_policy_output_status(NULL) == 0);
  CHECK(mcp_policy_output_body_state(NULL) == MCP_POLICY_BODY_NONE && mcp_policy_output_body(NULL).len == 0);
  CHECK(mcp_policy_output_content_type(NULL).len == 0 && mcp_policy_output_header_count(NULL) == 0);
  CHECK(!mcp_policy_output_header(NULL, 0, &name, &value) && mcp_policy_output_to_server_count(NULL) == 0);
  CHECK(mcp_policy_output_to_server(NULL, 0).len == 0 && !mcp_policy_output_end(NULL));
  CHECK(mcp_policy_output_failed_count(NULL) == 0 && mcp_policy_output_json(NULL).len == 0);
  CHECK(mcp_policy_exchange_id(NULL) == 0 && mcp_policy_exchange_waiting(NULL) == 0);

  mcp_policy_session_free(s);
  mcp_policy_engine_free(e);
}

static void test_oauth(void) {
  mcp_policy_buffer *b = NULL, *sentinel = (mcp_policy_buffer *)1;
  uint16_t status = 0;
  mcp_policy_slice scopes[2] = {{(const uint8_t *)"mcp:tools", 9}, {(const uint8_t *)"mcp:admin", 9}};
  mcp_policy_slice servers[1] = {{(const uint8_t *)"https://auth.example.com", 24}};
  const char *meta = "https://gw.example.com/.well-known/oauth-protected-resource/mcp";

  OK(mcp_policy_oauth_challenge(MCP_POLICY_CHALLENGE_UNAUTHORIZED, LIT(meta), NULL, 0, NULL, 0, &b, &status));
  CHECK(status == 401 && has(mcp_policy_buffer_data(b), "resource_metadata=\"https://gw.example.com/"));
  CHECK(!has(mcp_policy_buffer_data(b), "error="));
  mcp_policy_buffer_free(b);
  OK(mcp_policy_oauth_challenge(MCP_POLICY_CHALLENGE_INVALID_TOKEN, LIT(meta), NULL, 0, LIT("expired"), &b, &status));
  CHECK(status == 401 && has(mcp_policy_buffer_data(b), "error=\"invalid_token\"") && has(mcp_policy_buffer_data(b), "expired"));
  mcp_policy_buffer_free(b);
  OK(mcp_policy_oauth_challenge(MCP_POLICY_CHALLENGE_INSUFFICIENT_SCOPE, LIT(meta), scopes, 2, NULL, 0, &b, &status));
  CHECK(status == 403 && has(mcp_policy_buffer_data(b), "scope=\"mcp:tools mcp:admin\""));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_oauth_challenge(9, LIT(meta), NULL, 0, NULL, 0, &sentinel, &status) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_oauth_challenge(1, NULL, 0, NULL, 0, NULL, 0, &sentinel, &status) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_oauth_challenge(1, LIT(meta), NULL, 1, NULL, 0, &sentinel, &status) == MCP_POLICY_RESULT_INVALID_ARGUMENT);
  CHECK(mcp_policy_oauth_challenge(1, LIT(meta), NULL, 0, NULL, 0, &sentinel, NULL) == MCP_POLICY_RESULT_INVALID_ARGUMENT);

  OK(mcp_policy_oauth_metadata(LIT("https://gw.example.com/mcp"), servers, 1, scopes, 2, &b));
  CHECK(has(mcp_policy_buffer_data(b), "\"resource\":\"https://gw.example.com/mcp\""));
  CHECK(has(mcp_policy_buffer_data(b), "\"authorization_servers\":[\"https://auth.example.com\"]"));
  CHECK(has(mcp_policy_buffer_data(b), "\"scopes_supported\""));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_oauth_metadata(LIT("not a url"), servers, 1, NULL, 0, &sentinel) == MCP_POLICY_RESULT_INVALID_METADATA);
  CHECK(mcp_policy_oauth_metadata(LIT("https://gw.example.com/mcp"), NULL, 1, NULL, 0, &sentinel) == MCP_POLICY_RESULT_INVALID_ARGUMENT);

  OK(mcp_policy_oauth_metadata_url(LIT("https://gw.example.com/mcp"), &b));
  CHECK(is(mcp_policy_buffer_data(b), meta));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_oauth_metadata_url(LIT("ftp://x"), &sentinel) == MCP_POLICY_RESULT_INVALID_URL);

  OK(mcp_policy_oauth_relay_challenge(LIT("Bearer resource_metadata=\"http://up.example/.well-known/oauth-protected-resource\""),
                                      LIT("https://gw.example.com/mcp"), &b));
  CHECK(has(mcp_policy_buffer_data(b), meta));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_oauth_relay_challenge(LIT("Bearer \"unclosed"), LIT("https://gw.example.com/mcp"), &sentinel) ==
        MCP_POLICY_RESULT_RELAY_FAILED);
  OK(mcp_policy_oauth_relay_metadata(LIT("{\"resource\":\"http://up.example/mcp\",\"authorization_servers\":[\"https://a\"]}"),
                                     LIT("https://gw.example.com/mcp"), &b));
  CHECK(has(mcp_policy_buffer_data(b), "\"resource\":\"https://gw.example.com/mcp\""));
  CHECK(has(mcp_policy_buffer_data(b), "https://a"));
  mcp_policy_buffer_free(b);
  CHECK(mcp_policy_oauth_relay_metadata(LIT("[]"), LIT("https://gw.example.com/mcp"), &sentinel) == MCP_POLICY_RESULT_RELAY_FAILED);
  CHECK(sentinel == (mcp_policy_buffer *)1);
}

/* ---- 8 threads, one engine ------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 200

static mcp_policy_engine *shared;
static mcp_policy_context *shared_ctx;
static const char *const MESSAGES[] = {NULL, NULL, NULL, NULL};

/* One round's answers, concatenated: check_json of each message, then a whole exchange. */
static char *answers(void) {
  size_t cap = 1 << 14, len = 0, i;
  char *out = malloc(cap);
  const char *msgs[4];
  mcp_policy_session *s = NULL;
  mcp_policy_output *v = NULL, *o = NULL;
  mcp_policy_exchange *x = NULL;
  mcp_policy_head head;
  if (!out) abort();
  msgs[0] = CALL_ECHO;
  msgs[1] = CALL_ENV;
  msgs[2] = CALL_ADMIN;
  msgs[3] = LIST;
  out[0] = 0;
#define APPEND(sl)                                                      \
  do {                                                                  \
    mcp_policy_slice s_ = (sl);                                         \
    if (len + s_.len + 2 > cap) abort();                                \
    if (s_.len) memcpy(out + len, s_.data, s_.len);                     \
    len += s_.len;                                                      \
    out[len++] = '\n';                                                  \
    out[len] = 0;                                                       \
  } while (0)
  for (i = 0; i < 4; i++) {
    mcp_policy_buffer *b = NULL;
    if (mcp_policy_engine_check_json(shared, LIT(msgs[i]), shared_ctx, &b) != MCP_POLICY_RESULT_OK) abort();
    APPEND(mcp_policy_buffer_data(b));
    mcp_policy_buffer_free(b);
  }
  if (mcp_policy_session_new(shared, &s) != MCP_POLICY_RESULT_OK) abort();
  if (mcp_policy_exchange_new(shared, s, LIT(LIST), JSON_TYPE, 1, shared_ctx, &v, &x) != MCP_POLICY_RESULT_OK) abort();
  APPEND(mcp_policy_output_json(v));
  mcp_policy_output_free(v);
  if (mcp_policy_exchange_head(x, 200, LIT("application/json"), NULL, 0, &head) != MCP_POLICY_RESULT_OK) abort();
  if (mcp_policy_exchange_body(x, LIT(LIST_RESULT), shared_ctx, &o) != MCP_POLICY_RESULT_OK) abort();
  APPEND(mcp_policy_output_json(o));
  mcp_policy_output_free(o);
  mcp_policy_exchange_free(x);
  mcp_policy_session_free(s);
  return out;
}

static void *worker(void *expected) {
  int i;
  long bad = 0;
  for (i = 0; i < ROUNDS; i++) {
    char *a = answers();
    if (strcmp(a, (const char *)expected) != 0) bad++;
    free(a);
  }
  return (void *)bad;
}

static void test_threads(void) {
  pthread_t t[THREADS];
  mcp_policy_header h = {(const uint8_t *)"x-role", 6, (const uint8_t *)"user", 4};
  char *expected;
  int i;
  (void)MESSAGES;
  shared = compile(NULL);
  OK(mcp_policy_context_new(&h, 1, LIT("{\"user.roles\":[\"mcp:admin\"]}"), &shared_ctx));
  expected = answers();
  CHECK(strstr(expected, "admin-reset") != NULL); /* the admin sees it: the context is used */
  for (i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, expected) == 0);
  for (i = 0; i < THREADS; i++) {
    void *bad = NULL;
    CHECK(pthread_join(t[i], &bad) == 0);
    CHECK(bad == NULL);
  }
  /* A reload while threads run: the old engine's handles stay valid until freed. */
  free(expected);
  mcp_policy_context_free(shared_ctx);
  mcp_policy_engine_free(shared);
}

int main(void) {
  test_basics();
  test_engine();
  test_context_and_expressions();
  test_exchange();
  test_oauth();
  test_threads();
  if (failed) {
    fprintf(stderr, "%d check(s) failed\n", failed);
    return 1;
  }
  printf("C ABI: every function and error path checked; %d threads x %d rounds agree with one thread\n", THREADS, ROUNDS);
  return 0;
}
