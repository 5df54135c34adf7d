//! `mcp-policy serve` against clients that send their body too slowly: `timeouts.body_read_ms`
//! bounds the body as hyper's header timeout bounds the head. The fuller fault suite is
//! `e2e/gateway/faults.test.mjs`; this one runs with `cargo test` alone.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The gateway in front of `backend` (a listener nobody should reach) with a 300 ms body
/// timeout.
fn gateway(backend: &TcpListener) -> common::Gateway {
    let addr = backend.local_addr().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "mcp-gw-faults-{}-{}",
        std::process::id(),
        addr.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"slow\"\npath = \"/mcp\"\n\
             timeouts = {{ body_read_ms = 300 }}\n\
             backend = {{ url = \"http://{addr}/mcp\" }}\n"
        ),
    )
    .unwrap();
    common::start(&config)
}

/// Sends a POST head announcing `len` body bytes, then `pieces` of the body `gap` apart, and
/// returns what the gateway answered once it closed the connection (or after 5 s).
fn post_slowly(base: &str, len: usize, pieces: &[&[u8]], gap: Duration) -> (String, Duration) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = Instant::now();
    write!(
        s,
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {len}\r\n\r\n"
    )
    .unwrap();
    for p in pieces {
        std::thread::sleep(gap);
        // The gateway may have answered and closed already: that is what is being tested.
        if s.write_all(p).is_err() {
            break;
        }
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}") {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer: {e}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), t0.elapsed())
}

fn nothing_reached(backend: &TcpListener) {
    backend.set_nonblocking(true).unwrap();
    match backend.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the backend was contacted: {other:?}"),
    }
}

#[test]
fn a_body_trickled_past_body_read_ms_gets_408_and_is_not_forwarded() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let gw = gateway(&backend);
    let body = br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
    let pieces: Vec<&[u8]> = body.chunks(1).collect();
    let (got, took) = post_slowly(&gw.base, body.len(), &pieces, Duration::from_millis(100));
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    assert!(got.contains(r#""code":-32000"#), "{got}");
    assert!(
        got.contains("Request body not received within 300 ms"),
        "{got}"
    );
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    nothing_reached(&backend);
}

#[test]
fn a_slow_body_that_arrives_in_time_is_judged() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let gw = gateway(&backend);
    // Unparseable on purpose: the engine refuses it, so no backend is needed to tell that
    // the body was read to its end and judged rather than timed out.
    let body = br#"{"jsonrpc":"2.0","id":7,"method":"#;
    let (a, b) = body.split_at(10);
    let (got, _) = post_slowly(&gw.base, body.len(), &[a, b], Duration::from_millis(50));
    assert!(got.starts_with("HTTP/1.1 400 "), "{got}");
    assert!(got.contains(r#""code":-32700"#), "{got}");
    nothing_reached(&backend);
}
