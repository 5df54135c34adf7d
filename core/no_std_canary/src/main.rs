//! A `#![no_std]` binary for the host target. If any dependency links `std`, the compiler sees
//! two `panic_impl` lang items (std's and ours) and the check fails: that is the whole test.
#![no_std]
#![no_main]
// A global allocator is mandatory for a no_std binary using `alloc`; this one is never run.
#![allow(unsafe_code)]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;

struct NoAlloc;

// SAFETY: returning null is always a valid answer from `alloc` (it reports exhaustion).
unsafe impl GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAlloc = NoAlloc;

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    loop {}
}

/// Uses the engine's public API so that it is really compiled in.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: isize, _argv: *const *const u8) -> isize {
    let limits = mcp_policy::Limits::default();
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
    match mcp_policy::Message::parse(body, &limits) {
        Ok(m) => m.name().map_or(1, |n| n.len() as isize),
        Err(e) => e.jsonrpc_code() as isize,
    }
}
