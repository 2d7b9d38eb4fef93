//! What a raw SSE client reads: the HTTP/1.1 body, de-chunked, cut into SSE lines, and the
//! event ids, resets and gaps it saw.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::BenchResult;

/// What one client saw.
#[derive(Default)]
pub struct ClientLog {
    pub events: Vec<(u64, Instant)>,
    pub resets: usize,
    /// Events whose seq was not the previous one plus one.
    pub gaps: usize,
    pub payload_bytes: usize,
    pub error: Option<String>,
}

impl ClientLog {
    fn record(&mut self, seq: u64, at: Instant, counters: &Counters) {
        match self.events.last() {
            None => {
                counters.heard.fetch_add(1, Ordering::Relaxed);
            }
            Some(&(last, _)) if seq != last + 1 => self.gaps += 1,
            Some(_) => {}
        }
        self.events.push((seq, at));
    }
}

/// How far the clients got, for the driver to wait on.
#[derive(Default)]
pub struct Counters {
    pub connected: AtomicUsize,
    pub failed: AtomicUsize,
    pub heard: AtomicUsize,
}

/// Undoes HTTP/1.1 chunked transfer coding as bytes arrive (hyper frames the stream that way).
#[derive(Default)]
pub struct Dechunker {
    pending: Vec<u8>,
    left_in_chunk: usize,
    crlf_due: bool,
}

impl Dechunker {
    /// Appends the payload carried by `input` to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> BenchResult<()> {
        self.pending.extend_from_slice(input);
        let mut at = 0;
        loop {
            let available = self.pending.len() - at;
            if self.left_in_chunk > 0 {
                let take = self.left_in_chunk.min(available);
                if take == 0 {
                    break;
                }
                out.extend_from_slice(&self.pending[at..at + take]);
                at += take;
                self.left_in_chunk -= take;
                self.crlf_due = self.left_in_chunk == 0;
            } else if self.crlf_due {
                if available < 2 {
                    break;
                }
                at += 2;
                self.crlf_due = false;
            } else {
                let Some(end) = find(&self.pending[at..], b"\r\n") else {
                    break;
                };
                let size = chunk_size(&self.pending[at..at + end])?;
                at += end + 2;
                if size == 0 {
                    return Err("the server ended the stream".into());
                }
                self.left_in_chunk = size;
            }
        }
        self.pending.drain(..at);
        Ok(())
    }
}

fn chunk_size(line: &[u8]) -> BenchResult<usize> {
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    std::str::from_utf8(hex)
        .ok()
        .and_then(|h| usize::from_str_radix(h.trim(), 16).ok())
        .ok_or_else(|| format!("bad chunk size {:?}", String::from_utf8_lossy(line)))
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Takes the complete SSE lines out of `payload`, noting event ids and resets.
fn take_lines(payload: &mut Vec<u8>, at: Instant, log: &mut ClientLog, counters: &Counters) {
    let mut start = 0;
    while let Some(end) = payload[start..].iter().position(|&b| b == b'\n') {
        let line = payload[start..start + end].trim_ascii();
        if let Some(seq) = line.strip_prefix(b"id:").and_then(parse_seq) {
            log.record(seq, at, counters);
        } else if line == b"event: reset" || line == b"event:reset" {
            log.resets += 1;
        }
        start += end + 1;
    }
    log.payload_bytes += start;
    payload.drain(..start);
}

fn parse_seq(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// The body of the stream as it arrives: chunked or not, then SSE lines.
pub struct Body {
    pub dechunker: Option<Dechunker>,
    pub payload: Vec<u8>,
}

impl Body {
    pub fn feed(
        &mut self,
        bytes: &[u8],
        log: &mut ClientLog,
        counters: &Counters,
    ) -> BenchResult<()> {
        let at = Instant::now();
        match &mut self.dechunker {
            Some(dechunker) => dechunker.feed(bytes, &mut self.payload)?,
            None => self.payload.extend_from_slice(bytes),
        }
        take_lines(&mut self.payload, at, log, counters);
        Ok(())
    }
}
