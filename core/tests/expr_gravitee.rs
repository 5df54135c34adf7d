//! Gravitee EL behaviour, case by case. Cases are written from Gravitee's public EL unit tests
//! (gravitee-expression-language `SpelTemplateEngineTest`, `JsonPathTest`), its documentation,
//! and the gotchas of `reference/gravitee.md` §3.7.

use mcp_policy::expr::{Env, EvalErrorKind, ExprErrorKind, McpVars, ResultType, Template, Value};
use mcp_policy::{Context, Limits, Message};

fn ctx() -> Context<'static> {
    Context::builder()
        .method("POST")
        .path("/stores/123")
        .path_info("/my/path/A58")
        .header("X-Gravitee-Endpoint", "my_api_host")
        .header("X-Multi", "v1")
        .header("X-Multi", "v2")
        .header("x-user-role", "admin")
        .header("X-Bool", "true")
        .param("param", "myparam")
        .param("multi", "a")
        .param("multi", "b")
        .attribute("gravitee.attribute.api", "my-api-id")
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:tools", "mcp:read"])
        .attribute(
            "oauth.payload",
            r#"{"sub":"alice","scope":"mcp:tools mcp:read","client_id":"vscode"}"#,
        )
        .attributes_json([(
            "jwt.claims".to_string(),
            serde_json::json!({"sub": "alice", "groups": ["dev", "ops"], "tier": 2}),
        )])
        .api_id("weather")
        .api_name("Weather MCP")
        .api_property("name_123", "Doe")
        .api_property("firstname_123", "John")
        .subscription_id("s1")
        .subscription_metadata("clientType", "PARTNER")
        .variable(
            "profile",
            r#"{ "lastname": "DOE", "firstname": "JOHN", "age": 35, "groups" : ["Group1", "Group2", "Group3"], "emptiness" : [], "nothingness" : null }"#,
        )
        .variable("list", vec!["test"])
        .content(r#"{ "lastname": "DOE", "firstname": "JOHN", "age": 35 }"#)
        .build()
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris","days":3,"opts":{"units":"metric"}}}}"#;

fn eval_in(src: &str, ty: ResultType, c: &Context<'_>, with_msg: bool) -> Result<String, String> {
    let t = Template::compile(src, &Limits::default())
        .map_err(|e| format!("compile@{}: {}", e.position(), e.message()))?;
    let msg = Message::parse(CALL.as_bytes(), &Limits::default()).unwrap();
    let mut env = Env::new(c);
    if with_msg {
        env = env.with_mcp(McpVars::from_message(&msg).unwrap());
    }
    t.eval(&env, ty)
        .map(|v| v.to_json())
        .map_err(|e| format!("eval@{}: {}", e.position(), e.message()))
}

/// String result as Gravitee's `eval(…, String.class)`; `None` = empty result.
fn s(src: &str) -> Option<String> {
    let c = ctx();
    let out = eval_in(src, ResultType::String, &c, true).unwrap_or_else(|e| panic!("{src}: {e}"));
    if out == "null" {
        None
    } else {
        Some(serde_json::from_str::<String>(&out).unwrap())
    }
}

/// Condition result.
fn b(src: &str) -> bool {
    let c = ctx();
    let t = Template::compile(src, &Limits::default()).unwrap_or_else(|e| panic!("{src}: {e}"));
    let msg = Message::parse(CALL.as_bytes(), &Limits::default()).unwrap();
    let env = Env::new(&c).with_mcp(McpVars::from_message(&msg).unwrap());
    t.eval_bool(&env).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn eval_err(src: &str) -> (EvalErrorKind, usize) {
    let c = ctx();
    let t = Template::compile(src, &Limits::default()).unwrap_or_else(|e| panic!("{src}: {e}"));
    let msg = Message::parse(CALL.as_bytes(), &Limits::default()).unwrap();
    let env = Env::new(&c).with_mcp(McpVars::from_message(&msg).unwrap());
    let e = t.eval_bool(&env).expect_err(src);
    (e.kind(), e.position())
}

fn compile_err(src: &str) -> (ExprErrorKind, usize) {
    let e = Template::compile(src, &Limits::default()).expect_err(src);
    (e.kind(), e.position())
}

// ----- template rules (§3.1) -------------------------------------------------------------

#[test]
fn header_reads_and_concatenation() {
    assert_eq!(
        s("{#request.headers['X-Gravitee-Endpoint']}").as_deref(),
        Some("my_api_host")
    );
    assert_eq!(
        s("{#request.headers['x-gravitee-endpoint']}").as_deref(),
        Some("my_api_host")
    );
    assert_eq!(
        s("{#request.headers['X-Gravitee-Endpoint'] + '-custom'}").as_deref(),
        Some("my_api_host-custom")
    );
    assert_eq!(
        s("custom-{#request.headers['X-Gravitee-Endpoint']}").as_deref(),
        Some("custom-my_api_host")
    );
    assert_eq!(
        s("{ #request.headers['X-Gravitee-Endpoint'] }").as_deref(),
        Some("my_api_host")
    );
    assert_eq!(s("{#request.headers['X-Multi']}").as_deref(), Some("v1,v2"));
    assert_eq!(s("{#request.headers['X-Multi'][0]}").as_deref(), Some("v1"));
    assert_eq!(s("{#request.headers['X-Multi'][1]}").as_deref(), Some("v2"));
    assert_eq!(
        s("{ #request.headers.getFirst('X-Multi') }").as_deref(),
        Some("v1")
    );
    assert!(b("{#request.headers['X-Missing'] == null}"));
    assert!(b("{#request.headers['X-Bool'] != null}"));
    assert!(b(
        "{#request.headers['X-Bool'] != null && #request.headers['X-Bool'][0] == \"true\"}"
    ));
    assert!(!b(
        "{#request.headers['X-Bool'] != null && #request.headers['X-Bool'][0] == \"false\"}"
    ));
    assert!(!b("{#request.headers['X-Gravitee-No-Present'] != null}"));
    assert!(b(
        "{ #request.headers.containsAllKeys({'X-Multi', 'X-Bool'}) }"
    ));
    assert!(!b(
        "{ #request.headers.containsAllKeys({'X-Multi', 'X-Bool', 'Header3'}) }"
    ));
}

#[test]
fn params_and_paths() {
    assert_eq!(s("{#request.params['param']}").as_deref(), Some("myparam"));
    assert_eq!(s("{#request.params.param}").as_deref(), Some("myparam"));
    assert_eq!(s("{#request.params['multi'][1]}").as_deref(), Some("b"));
    assert_eq!(
        s("{#request.params.getFirst('multi')}").as_deref(),
        Some("a")
    );
    assert_eq!(
        s("<user><id>{#request.paths[2]}</id><name>{#properties['name_123']}</name><firstname>{#properties['firstname_' + #request.paths[2]]}</firstname></user>").as_deref(),
        Some("<user><id>123</id><name>Doe</name><firstname>John</firstname></user>")
    );
    assert_eq!(
        s("[{id: {#request.paths[2]}, firstname: {#properties['firstname_123']}, name: {#properties['name_123']}, age: 0}]").as_deref(),
        Some("[{id: 123, firstname: John, name: Doe, age: 0}]")
    );
}

#[test]
fn text_without_expressions_stays_as_is() {
    for t in [
        "/api/[0-9]{2}/(.*)",
        "/api/[0-9]{217}/(.*)",
        "{",
        "{\n  \"status\": \"OK\"\n}",
        "{\t\"status\": \"OK\"  }",
        "{ \"status\": \"OK\"  }",
        "{ \"status\": \"{2}\"  }",
        "{ \"status\": \"'{2}'\"  }",
    ] {
        assert_eq!(s(t).as_deref(), Some(t), "{t:?}");
    }
}

#[test]
fn which_braces_are_expressions() {
    assert_eq!(
        s("{2} {('abc'.matches('[0-9]{2}'))} {3}").as_deref(),
        Some("{2} false {3}")
    );
    assert_eq!(
        s("{2} {a} {('78'.matches('[0-9]{2}'))} {3}").as_deref(),
        Some("{2} {a} true {3}")
    );
    assert_eq!(
        s("{2} {('718'.matches('[0-9]{2}'))} {3}").as_deref(),
        Some("{2} false {3}")
    );
    assert_eq!(s("{1 == 1}").as_deref(), Some("{1 == 1}"));
    assert_eq!(s("{(1 == 1)}").as_deref(), Some("true"));
    assert_eq!(s("{(12 == 1)}").as_deref(), Some("false"));
    assert_eq!(
        s("{2} {#request.pathInfo.matches('[0-9]{2}')} {3}").as_deref(),
        Some("{2} false {3}")
    );
    assert_eq!(
        s("{2} {#request.pathInfo.matches('/my/path/[A-Z]{1}[0-9]{2}')} {3}").as_deref(),
        Some("{2} true {3}")
    );
    assert_eq!(
        s("{2} {#request.pathInfo.matches('/my/path/[A-Z]{2}[0-9]{2}')} {3}").as_deref(),
        Some("{2} false {3}")
    );
    assert_eq!(
        s("{2} {  #  request.pathInfo.matches ( '/my/path/[A-Z]{1}[0-9]{2}')} {3}").as_deref(),
        Some("{2} true {3}")
    );
    assert_eq!(
        s("{ '/my/path/A58' == #request.pathInfo}").as_deref(),
        Some("{ '/my/path/A58' == #request.pathInfo}")
    );
    assert_eq!(
        s("{('/my/path/A58'==#request.pathInfo)}").as_deref(),
        Some("true")
    );
    assert_eq!(
        s("{('/my/path/A59'==#request.pathInfo)}").as_deref(),
        Some("false")
    );
    // Gotcha 3: negations and literal-first comparisons are text.
    assert_eq!(
        s("{!(#user == null)}").as_deref(),
        Some("{!(#user == null)}")
    );
    assert_eq!(s("{not true}").as_deref(), Some("{not true}"));
    assert_eq!(
        s("{\"PARTNER\".equals(#x)}").as_deref(),
        Some("{\"PARTNER\".equals(#x)}")
    );
    assert_eq!(s("{(!(1 == 2))}").as_deref(), Some("true"));
    assert_eq!(s("{(not false)}").as_deref(), Some("true"));
}

#[test]
fn literal_templates_convert() {
    assert!(b("true"));
    assert!(b(" yes "));
    assert!(!b("false"));
    assert!(!b("off"));
    // An absent (blank) condition applies.
    assert!(b(""));
    assert!(b("   "));
    assert_eq!(
        Template::compile("", &Limits::default())
            .unwrap()
            .is_constant(),
        Some(true)
    );
    assert_eq!(
        Template::compile("true", &Limits::default())
            .unwrap()
            .is_constant(),
        Some(true)
    );
    assert_eq!(
        Template::compile("no", &Limits::default())
            .unwrap()
            .is_constant(),
        Some(false)
    );
    assert_eq!(
        Template::compile("{#a}", &Limits::default())
            .unwrap()
            .is_constant(),
        None
    );
    assert_eq!(
        Template::compile("{1 == 1}", &Limits::default())
            .unwrap()
            .is_constant(),
        None
    );
    // Text that is not a boolean cannot be a condition.
    assert_eq!(eval_err("{1 == 1}").0, EvalErrorKind::Conversion);
    // Text around an expression is concatenated, then converted.
    assert!(b(" {#request.method == 'POST'}"));
}

#[test]
fn brackets_and_unknown_variables() {
    // An unknown variable is null; null < 2 and !(null > 2), so this is false.
    assert!(!b("{ (#timestamp > 2) && (#timestamp < 2) }"));
    assert_eq!(s("{#nothing}"), None);
    assert!(b("{#nothing == null}"));
}

// ----- gotchas (§3.7) ------------------------------------------------------------------

#[test]
fn gotcha_1_headers_are_lists() {
    assert!(!b("{#request.headers['x-user-role'] == 'admin'}"));
    assert!(b("{#request.headers['x-user-role'][0] == 'admin'}"));
    assert!(b("{#request.headers.getFirst('x-user-role') == 'admin'}"));
    assert!(b("{#request.headers.get('x-user-role') == 'admin'}"));
    assert!(b("{#request.headers['x-user-role'].contains('admin')}"));
    // `matches` needs a string: a list is an error.
    assert_eq!(
        eval_err("{#request.headers['x-user-role'] matches 'adm.*'}").0,
        EvalErrorKind::Type
    );
}

#[test]
fn gotcha_2_oauth_payload_is_a_string() {
    let (kind, pos) =
        eval_err("{#context.attributes['oauth.payload']['scopes'].contains('mcp:tools')}");
    assert_eq!(kind, EvalErrorKind::Type);
    assert_eq!(pos, 1);
    assert!(b(
        "{#context.attributes['user.roles'].contains('mcp:tools')}"
    ));
    assert!(!b(
        "{#context.attributes['user.roles'].contains('mcp:admin')}"
    ));
    assert!(b(
        "{#jsonPath(#context.attributes['oauth.payload'], '$.scope').contains('mcp:tools')}"
    ));
    // A substring test: 'mcp' is "contained" in the scope string.
    assert!(b(
        "{#jsonPath(#context.attributes['oauth.payload'], '$.scope').contains('mcp')}"
    ));
    assert_eq!(
        s("{#jsonPath(#context.attributes['oauth.payload'], '$.client_id')}").as_deref(),
        Some("vscode")
    );
}

#[test]
fn gotcha_4_missing_is_null() {
    assert_eq!(s("{#context.attributes['application']}"), None);
    assert_eq!(s("{#context.attributes.application}"), None);
    assert_eq!(s("{#request.headers['nope']}"), None);
    assert_eq!(s("{#jsonPath(#request.content, '$.something')}"), None);
    assert!(!b("{#context.attributes['nope']}"));
}

// ----- attributes, api, subscription ---------------------------------------------------

#[test]
fn attributes_with_prefix_fallback() {
    assert_eq!(
        s("{#context.attributes['api']}").as_deref(),
        Some("my-api-id")
    );
    assert_eq!(s("{#context.attributes.api}").as_deref(), Some("my-api-id"));
    assert_eq!(
        s("{#context.attributes['gravitee.attribute.api']}").as_deref(),
        Some("my-api-id")
    );
    assert_eq!(s("{#context.attributes['user']}").as_deref(), Some("alice"));
    assert_eq!(
        s("{#context.attributes['user.roles']}").as_deref(),
        Some("mcp:tools,mcp:read")
    );
    assert!(b("{#context.attributes.containsKey('user')}"));
    assert!(b("{#context.attributes['jwt.claims']['sub'] == 'alice'}"));
    assert!(b(
        "{#context.attributes['jwt.claims'].groups.contains('ops')}"
    ));
    assert!(b("{#context.attributes['jwt.claims']['tier'] >= 2}"));
    assert_eq!(s("{#api.id}").as_deref(), Some("weather"));
    assert_eq!(s("{#api.name}").as_deref(), Some("Weather MCP"));
    assert_eq!(s("{#api.properties['name_123']}").as_deref(), Some("Doe"));
    assert_eq!(
        s("{#subscription.metadata['clientType']}").as_deref(),
        Some("PARTNER")
    );
    assert!(b("{#subscription.metadata.clientType == 'PARTNER'}"));
    assert!(b("{#list.contains('test') and #list.contains('test')}"));
    assert!(b("{# list.contains('test')}"));
}

// ----- MCP ---------------------------------------------------------------------------------

#[test]
fn mcp_variables_and_tool_name() {
    assert_eq!(s("{#mcp.method}").as_deref(), Some("tools/call"));
    assert_eq!(s("{#mcp.name}").as_deref(), Some("get_weather"));
    assert_eq!(s("{#mcp.uri}"), None);
    assert_eq!(s("{#mcp.arguments['city']}").as_deref(), Some("Paris"));
    assert!(b("{#mcp.arguments.days < 7}"));
    assert!(b("{#mcp.arguments.opts.units == 'metric'}"));
    assert!(b("{#mcp.params.arguments.city == 'Paris'}"));
    assert!(b("{#context.attributes['mcp_tool_name'] == 'get_weather'}"));
    assert!(b("{#mcp.name matches 'get_.*'}"));
    assert!(!b("{#mcp.name matches 'get'}"));
    assert!(b(
        "{#context.attributes['user.roles'].contains('mcp:tools') && #mcp.name matches 'get_.*'}"
    ));
    // The message is the default request content.
    let c = Context::builder().build();
    assert_eq!(
        eval_in(
            "{#jsonPath(#request.content, '$.params.name')}",
            ResultType::String,
            &c,
            true
        )
        .unwrap(),
        "\"get_weather\""
    );
    assert_eq!(
        eval_in(
            "{#request.jsonContent.params.name}",
            ResultType::String,
            &c,
            true
        )
        .unwrap(),
        "\"get_weather\""
    );
    assert_eq!(
        eval_in(
            "{#jsonPath(#request.content, '$.method')}",
            ResultType::String,
            &c,
            true
        )
        .unwrap(),
        "\"tools/call\""
    );
    // Without a message, #mcp fields are null.
    assert_eq!(
        eval_in("{#mcp.name}", ResultType::String, &c, false).unwrap(),
        "null"
    );
    assert_eq!(
        eval_in(
            "{#context.attributes['mcp_tool_name']}",
            ResultType::Auto,
            &c,
            false
        )
        .unwrap(),
        "null"
    );
}

// ----- jsonPath ------------------------------------------------------------------------

#[test]
fn json_path() {
    assert_eq!(
        s("{#jsonPath(#request.content, '$.lastname')}").as_deref(),
        Some("DOE")
    );
    assert_eq!(
        s("{#jsonPath(#request.content, '$.age') + 20}").as_deref(),
        Some("55")
    );
    assert!(!b(
        "{#jsonPath(#profile, '$.identity_provider_id') == 'idp_6'}"
    ));
    assert!(b("{#jsonPath(#profile, '$.lastname') == 'DOE'}"));
    assert!(!b("{#jsonPath(#profile, '$.lastname') == 'DONE'}"));
    assert!(b("{#jsonPath(#profile, '$.groups').contains('Group2')}"));
    assert!(!b("{#jsonPath(#profile, '$.groups').contains('Group4')}"));
    assert!(!b(
        "{#jsonPath(#profile, '$.emptiness').contains('Group4')}"
    ));
    assert!(!b(
        "{#jsonPath(#profile, '$.nothingness')?.contains('Group4')?:false}"
    ));
    assert_eq!(
        s("{#jsonPath(#profile, \"$['groups'][0]\")}").as_deref(),
        Some("Group1")
    );
    assert_eq!(
        s("{#jsonPath(#profile, '$.groups[-1]')}").as_deref(),
        Some("Group3")
    );
    assert_eq!(
        s("{#jsonPath(#profile, '$.groups[*]')}").as_deref(),
        Some("Group1,Group2,Group3")
    );
    assert_eq!(
        s("{#jsonPath(#profile, '$..lastname')}").as_deref(),
        Some("DOE")
    );
    assert_eq!(
        s("{#jsonPath(#mcp.arguments, '$..units')[0]}").as_deref(),
        Some("metric")
    );
    assert_eq!(
        s("{#jsonPath(#context.attributes['jwt.claims'], '$.groups[1]')}").as_deref(),
        Some("ops")
    );
    assert_eq!(
        eval_err("{#jsonPath(#profile, '$.missing.deeper') == null}").0,
        EvalErrorKind::JsonPath
    );
    assert_eq!(
        eval_err("{#jsonPath('not json', '$.a') == null}").0,
        EvalErrorKind::JsonPath
    );
    assert_eq!(
        compile_err("{#jsonPath(#profile, '$[?(@.a)]')}").0,
        ExprErrorKind::Pattern
    );
}

// ----- operators and methods -------------------------------------------------------------

#[test]
fn operators() {
    assert!(b("{(1 + 2 * 3 == 7)}"));
    assert!(b("{(10 / 3 == 3) && (10 % 3 == 1) && (2 ^ 10 == 1024)}"));
    assert!(b("{(1 == 1.0)}"));
    assert!(b(
        "{(1 lt 2) and (2 le 2) and (3 gt 2) and (3 ge 3) and (1 eq 1) and (1 ne 2)}"
    ));
    assert!(b("{(true or false) and not false}"));
    assert!(b("{('abc' < 'abd')}"));
    assert_eq!(s("{(7 / 2.0)}").as_deref(), Some("3.5"));
    assert_eq!(s("{(1.0 * 55)}").as_deref(), Some("55.0"));
    assert_eq!(s("{('a' + 1 + true)}").as_deref(), Some("a1true"));
    assert_eq!(s("{('x' + null)}").as_deref(), Some("xnull"));
    assert_eq!(s("{('ab' * 3)}").as_deref(), Some("ababab"));
    assert_eq!(s("{#nothing ?: 'default'}").as_deref(), Some("default"));
    assert_eq!(s("{('' ?: 'default')}").as_deref(), Some("default"));
    assert_eq!(s("{'' ?: 'default'}").as_deref(), Some("{'' ?: 'default'}"));
    assert_eq!(s("{#user ?: 'x'}"), Some("x".into()));
    assert_eq!(
        s("{#request.method == 'POST' ? 'write' : 'read'}").as_deref(),
        Some("write")
    );
    assert_eq!(s("{#nothing?.length()}"), None);
    assert_eq!(s("{{'a','b'}}").as_deref(), Some("{{'a','b'}}"));
    assert_eq!(s("{({'a','b'}.contains('b'))}").as_deref(), Some("true"));
    assert_eq!(s("{({'a','b'}.size())}").as_deref(), Some("2"));
    assert_eq!(s("{({a: 1, 'b c': 2}['b c'])}").as_deref(), Some("2"));
    assert_eq!(eval_err("{(1 / 0 == 1)}").0, EvalErrorKind::Arithmetic);
    assert_eq!(
        eval_err("{(#nothing && true)}").0,
        EvalErrorKind::Conversion
    );
    assert_eq!(eval_err("{('a' < 1)}").0, EvalErrorKind::Type);
    assert_eq!(eval_err("{({'a'} + {'b'} == 1)}").0, EvalErrorKind::Type);
}

#[test]
fn string_methods() {
    assert!(b("{#request.content.contains('lastname')}"));
    // A `{` inside a string unbalances Gravitee's rewrite regex: the `{#` is then parsed
    // without its `#`, so `request` is a bare name (an error in Gravitee as here).
    assert_eq!(
        compile_err("{#request.content.startsWith('{ x')}"),
        (ExprErrorKind::UnknownName, 2)
    );
    assert!(b("{('abc'.equals('abc') && !'abc'.equals('abd'))}"));
    assert!(b("{('ABC'.equalsIgnoreCase('abc'))}"));
    assert!(b("{('get_weather'.contains('weather'))}"));
    assert!(b("{('get_weather'.endsWith('weather'))}"));
    assert!(b("{('get_weather'.matches('get_.*'))}"));
    assert!(b("{(''.isEmpty())}"));
    assert_eq!(s("{('héllo'.length())}").as_deref(), Some("5"));
    assert_eq!(s("{('AbC'.toLowerCase())}").as_deref(), Some("abc"));
    assert_eq!(s("{('AbC'.toUpperCase())}").as_deref(), Some("ABC"));
    assert_eq!(s("{('  x '.trim())}").as_deref(), Some("x"));
    assert_eq!(
        s("{('get_weather'.substring(4))}").as_deref(),
        Some("weather")
    );
    assert_eq!(
        s("{('get_weather'.substring(0, 3))}").as_deref(),
        Some("get")
    );
    assert_eq!(s("{('get_weather'.indexOf('_'))}").as_deref(), Some("3"));
    assert_eq!(s("{('a,b,,c,,'.split(','))}").as_deref(), Some("a,b,,c"));
    assert_eq!(s("{('a.b.c'.split('\\.')[1])}").as_deref(), Some("b"));
    assert_eq!(s("{('abc'[1])}").as_deref(), Some("b"));
    assert_eq!(
        eval_err("{('abc'.substring(5) == 'x')}").0,
        EvalErrorKind::Index
    );
    assert_eq!(
        eval_err("{('abc'.contains(#nothing))}").0,
        EvalErrorKind::Null
    );
    assert_eq!(
        eval_err("{(#nothing.length() == 1)}").0,
        EvalErrorKind::Null
    );
    assert_eq!(eval_err("{('abc'.size() == 3)}").0, EvalErrorKind::Type);
}

#[test]
fn compile_errors_have_positions() {
    assert_eq!(compile_err("{#"), (ExprErrorKind::Syntax, 0));
    assert_eq!(compile_err("{#}"), (ExprErrorKind::Syntax, 2));
    assert_eq!(
        compile_err("{#request.headers['x'] ==}"),
        (ExprErrorKind::Syntax, 25)
    );
    assert_eq!(
        compile_err("ab {#request.nope}"),
        (ExprErrorKind::UnknownName, 13)
    );
    assert_eq!(
        compile_err("{#request.headers.add('a', 'b')}"),
        (ExprErrorKind::UnknownName, 18)
    );
    assert_eq!(
        compile_err("{#request.params.remove('test')}"),
        (ExprErrorKind::UnknownName, 17)
    );
    assert_eq!(
        compile_err("{T(java.lang.Math).abs(60)}").0,
        ExprErrorKind::Unsupported
    );
    assert_eq!(
        compile_err("{T(java.lang.Class).forName('java.lang.Math')}").0,
        ExprErrorKind::Unsupported
    );
    assert_eq!(
        compile_err("{(new java.lang.Thread())}").0,
        ExprErrorKind::Unsupported
    );
    assert_eq!(compile_err("{#a = 1}").0, ExprErrorKind::Unsupported);
    assert_eq!(
        compile_err("{#mcp.name matches '(?=x)x'}"),
        (ExprErrorKind::Pattern, 20)
    );
    assert_eq!(compile_err("{#a == 1 == 2}"), (ExprErrorKind::Syntax, 9));
    assert_eq!(compile_err("{#x('a')}").0, ExprErrorKind::UnknownName);
    assert_eq!(compile_err("{('unterminated)}").0, ExprErrorKind::Syntax);
    assert_eq!(compile_err("{#a.b(}").0, ExprErrorKind::Syntax);
    assert_eq!(compile_err("{(foo)}"), (ExprErrorKind::UnknownName, 2));
    assert_eq!(compile_err("{#'s'.length(1)}").0, ExprErrorKind::Syntax);
    // Depth is bounded.
    let deep = format!("{{{}1{}}}", "(".repeat(200), ")".repeat(200));
    assert_eq!(compile_err(&deep).0, ExprErrorKind::TooDeep);
    let long = format!("{{({})}}", vec!["1"; 500].join(" + "));
    assert_eq!(compile_err(&long).0, ExprErrorKind::TooDeep);
}

#[test]
fn step_budget_stops_evaluation() {
    let limits = Limits {
        max_expr_steps: 50,
        ..Limits::default()
    };
    let t = Template::compile("{('x' * 100000).length() > 1}", &limits).unwrap();
    let c = ctx();
    let e = t.eval_bool(&Env::new(&c)).unwrap_err();
    assert_eq!(e.kind(), EvalErrorKind::Budget);
}

#[test]
fn auto_values() {
    let c = ctx();
    assert_eq!(
        eval_in("{#request.headers['X-Multi']}", ResultType::Auto, &c, true).unwrap(),
        r#"["v1","v2"]"#
    );
    assert_eq!(
        eval_in("{#mcp.arguments}", ResultType::Auto, &c, true).unwrap(),
        r#"{"city":"Paris","days":3,"opts":{"units":"metric"}}"#
    );
    assert_eq!(
        eval_in("{(1 + 1)}", ResultType::Auto, &c, true).unwrap(),
        "2"
    );
    assert_eq!(
        eval_in("{#request.method == 'POST'}", ResultType::Boolean, &c, true).unwrap(),
        "true"
    );
    assert_eq!(
        eval_in("{#nothing}", ResultType::Boolean, &c, true).unwrap(),
        "null"
    );
    assert_eq!(
        eval_in(
            "{#request.headers['X-Bool']}",
            ResultType::Boolean,
            &c,
            true
        )
        .unwrap(),
        "true"
    );
    let v = Template::compile("{#mcp.name}", &Limits::default()).unwrap();
    let msg = Message::parse(CALL.as_bytes(), &Limits::default()).unwrap();
    let env = Env::new(&c).with_mcp(McpVars::from_message(&msg).unwrap());
    assert!(
        matches!(v.eval(&env, ResultType::Auto).unwrap(), Value::Str(ref s) if s == "get_weather")
    );
}
