//! Node.js bindings of the mcp-policy engine.
