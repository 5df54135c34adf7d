//! Benches only: see `benches/` and README.md.
