//! `WWW-Authenticate` parser: never panics, and whatever it accepts survives a format/parse
//! round trip unchanged (so the gateway can re-emit what it relays without changing meaning).

use mcp_policy::oauth::{
    BearerChallenge, format_www_authenticate, parse_www_authenticate, rewrite_upstream_challenge,
};

const GATEWAY: &str = "https://gw.example.com/mcp";
const GATEWAY_PRM: &str = "https://gw.example.com/.well-known/oauth-protected-resource/mcp";

/// One input: panics if a property above does not hold.
pub fn fuzz_one(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(all) = parse_www_authenticate(header) {
        let again = format_www_authenticate(&all);
        assert_eq!(
            parse_www_authenticate(&again).as_ref(),
            Ok(&all),
            "generic round trip: {again}"
        );
    }
    if let Ok(bearer) = BearerChallenge::parse(header) {
        let again = bearer.to_string();
        assert_eq!(
            BearerChallenge::parse(&again).as_ref(),
            Ok(&bearer),
            "bearer round trip: {again}"
        );
        let _ = bearer.http_status();
    }
    if let Ok(relayed) = rewrite_upstream_challenge(header, GATEWAY) {
        let all = parse_www_authenticate(&relayed).expect("relayed header parses");
        for c in all
            .iter()
            .filter(|c| c.is_scheme("Bearer") && c.token68.is_none())
        {
            assert_eq!(c.param("resource_metadata"), Some(GATEWAY_PRM));
        }
    }
}
