//! Policy documents: reading and compiling never panics; errors always name a path.

use mcp_policy::Limits;
use mcp_policy::policy::Engine;

/// One input: panics if a property above does not hold.
pub fn fuzz_one(data: &[u8]) {
    let limits = Limits {
        max_regex_bytes: 1 << 16,
        ..Limits::default()
    };
    if let Err(e) = Engine::from_json(data, &limits) {
        assert!(!e.issues.is_empty());
        assert!(
            e.issues
                .iter()
                .all(|i| i.path.starts_with('$') || i.path == "limits")
        );
    }
}
