//! Python bindings of the mcp-policy engine.
