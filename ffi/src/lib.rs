//! C ABI of the mcp-policy engine.
