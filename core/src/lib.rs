#![no_std]
#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod answer;
pub mod context;
pub mod error;
pub mod exchange;
pub mod expr;
pub mod jsonrpc;
pub mod limits;
pub mod mcp;
pub mod oauth;
pub mod policy;
pub mod sse;

// The stable surface a host (and each binding) builds on, at the root.
pub use context::Context;
pub use error::{Error, ErrorCode, ErrorKind};
pub use exchange::{
    Answer, ClientVerdict, Exchange, Failure, Forward, Guard, Head, Options, Reply, RequestFacts,
    Route, Session, Step,
};
pub use jsonrpc::{Body, Message, MessageKind, RawValue};
pub use limits::Limits;
pub use policy::{Decision, Engine, Policy};

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
