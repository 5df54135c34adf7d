//! Command-line tools: each turns files into engine calls and prints JSON.

pub(crate) mod check;
