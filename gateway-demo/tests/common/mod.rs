//! What the gateway's integration tests share: running the built binary on a config file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `mcp-policy serve`, killed when dropped.
pub(crate) struct Gateway {
    /// The gateway process.
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`, as the gateway logged it.
    pub(crate) base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the gateway on `config` (which should listen on `127.0.0.1:0`) and waits until it
/// logs the address it listens on.
pub(crate) fn start(config: &Path) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("gateway exited").unwrap();
        if let Some(i) = line.find("listening on http://") {
            let rest = &line[i + "listening on ".len()..];
            break rest.trim_end_matches(['"', '}']).to_owned();
        }
    };
    // Keep draining stderr so the gateway never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Gateway { child, base }
}

/// A response body fed by a channel, one frame per message: how the test backends stream.
// Not every test binary that includes this module serves streams.
#[allow(dead_code)]
pub(crate) struct ChannelBody(
    pub(crate)  tokio::sync::mpsc::Receiver<
        Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>,
    >,
);

impl hyper::body::Body for ChannelBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>>>
    {
        self.0.poll_recv(cx)
    }
}
