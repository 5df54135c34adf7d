//! JSON-RPC views: never panic, never accept what serde_json rejects, and every accepted
//! message classifies (or fails with a JSON-RPC code) without panicking.

use mcp_policy::jsonrpc::Body;
use mcp_policy::{Limits, mcp};

/// One input: panics if a property above does not hold.
pub fn fuzz_one(data: &[u8]) {
    let limits = Limits {
        max_depth: 32,
        ..Limits::default()
    };
    match Body::parse(data, &limits) {
        Ok(body) => {
            // Our validator must never be looser than a reference parser.
            assert!(
                serde_json::from_slice::<serde_json::Value>(data).is_ok(),
                "accepted invalid JSON"
            );
            for m in body.messages() {
                if m.method().is_some()
                    && let Err(e) = mcp::classify(m)
                {
                    assert!(matches!(e.jsonrpc_code(), -32600 | -32602));
                }
                let _ = m.id().map(|i| i.json());
            }
        }
        Err(e) => assert!(matches!(e.jsonrpc_code(), -32700 | -32600 | -32602)),
    }
}
