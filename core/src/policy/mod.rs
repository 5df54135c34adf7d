//! The policy engine: Gravitee `mcp-acl` model and extensions (`model`), compilation to an
//! immutable [`Engine`] (`compile`), decisions (`decide`), result filtering (`filter`).
//!
//! ```
//! use mcp_policy::{Context, Limits, Message, policy::{Decision, Engine}};
//!
//! let policy = br#"{"authorizations":[{"authorizedFeatures":[
//!     {"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]}]}"#;
//! let engine = Engine::from_json(policy, &Limits::default()).unwrap();
//! let ctx = Context::default();
//!
//! let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"}}"#;
//! let msg = Message::parse(call, engine.limits()).unwrap();
//! match engine.check(&msg, &ctx) {
//!     Decision::Deny(d) => assert_eq!(
//!         d.jsonrpc_response(),
//!         r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unknown tool: get-env"}}"#
//!     ),
//!     Decision::Allow(..) => unreachable!(),
//! }
//! ```

mod compile;
mod decide;
mod filter;
mod model;

use alloc::collections::VecDeque;
use alloc::string::String;

pub use compile::Engine;
pub use decide::{
    AllowReason, Audit, CondEntry, CondLog, CondOutcome, Decision, Denial, DenialKind,
    FORBIDDEN_CODE, Reason, RpcError,
};
pub use filter::{Filtered, HiddenItem, Rewrite};
pub use model::{
    AclMethod, Authorization, ConfigErrors, ConfigIssue, DenialMode, Effect, Feature, FeatureType,
    LinkMode, PatternType, Policy,
};

use crate::jsonrpc::{Id, Message, MessageKind};

/// Remembers outstanding requests of one direction (by id) so that their responses, which
/// arrive later and carry only the id, can be filtered as what they answer. Bounded: past
/// `capacity` the oldest entry is forgotten (its response then passes unfiltered only if it is
/// not a list; hosts should size it above their concurrency).
#[derive(Debug, Clone)]
pub struct Correlator {
    entries: VecDeque<(String, String)>,
    capacity: usize,
}

impl Correlator {
    /// A correlator remembering at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records a request (notifications and responses are ignored).
    pub fn track(&mut self, msg: &Message<'_>) {
        if msg.kind() != MessageKind::Request {
            return;
        }
        let Some(id) = msg.id() else { return };
        let key = id.json().into_owned();
        self.entries.retain(|(k, _)| *k != key);
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((key, String::from(msg.text())));
    }

    /// Takes the request a response with `id` answers: its JSON text, to parse and pass to
    /// [`Engine::filter_message`].
    pub fn take(&mut self, id: &Id<'_>) -> Option<String> {
        let key = id.json();
        let pos = self.entries.iter().position(|(k, _)| *k == key)?;
        self.entries.remove(pos).map(|(_, v)| v)
    }

    /// Number of outstanding requests remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
