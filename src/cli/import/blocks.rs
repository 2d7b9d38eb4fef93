//! Reading a file in blocks of whole lines that worker threads work on in parallel, with the
//! results taken in file order.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sha2::{Digest, Sha256};

use super::super::error::CliError;

/// Fresh bytes per block handed to a worker (a block ends at a line end).
const BLOCK: usize = 4 << 20;

/// Calls `f` with each line of `bytes` without its line end, as `BufRead::lines` gives them:
/// `\n` or `\r\n` ends a line, and a last line without `\n` keeps everything it holds.
pub(super) fn for_each_line(bytes: &[u8], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let line = &bytes[start..end];
        f(line.strip_suffix(b"\r").unwrap_or(line));
        start = end + 1;
    }
    if start < bytes.len() {
        f(&bytes[start..]);
    }
}

/// The file's digest: SHA-256 of its lines, each followed by `\n` (so a missing final newline
/// or CRLF line ends do not make the same trail a different file).
pub(super) fn digest_block(digest: &mut Sha256, bytes: &[u8]) {
    if bytes.ends_with(b"\n") && memchr::memchr(b'\r', bytes).is_none() {
        digest.update(bytes);
    } else {
        for_each_line(bytes, |line| {
            digest.update(line);
            digest.update(b"\n");
        });
    }
}

/// Block buffers go back here after use, so that reading does not fault fresh pages in.
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Vec::with_capacity(BLOCK + BLOCK / 4))
    }

    fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut pool) = self.0.lock()
            && pool.len() < 16
        {
            pool.push(buf);
        }
    }
}

/// Tells the kernel that the bytes of `file` before `end` will not be read again, so that its
/// page cache keeps room for what will (a large import writes gigabytes at the same time).
fn forget(file: &std::fs::File, end: u64) {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Advice, fadvise};
        // Advice only: an import goes on the same if the kernel does not take it.
        let _ = fadvise(file, 0, std::num::NonZeroU64::new(end), Advice::DontNeed);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, end);
}

/// Reads `file` in blocks of whole lines, about `BLOCK` fresh bytes each; `emit` returns false
/// to stop early. With `last_read`, the file's pages are let go of behind the reader.
fn read_blocks(
    file: &mut std::fs::File,
    pool: &Pool,
    last_read: bool,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    loop {
        let mut buf = pool.take();
        buf.append(&mut carry);
        let want = buf.len() + BLOCK;
        buf.reserve(BLOCK);
        let read = (&mut *file).take(BLOCK as u64).read_to_end(&mut buf)?;
        offset += read as u64;
        if last_read {
            forget(file, offset);
        }
        if buf.len() < want || read == 0 {
            // End of file: whatever is left is the last block.
            if !buf.is_empty() {
                emit(buf);
            }
            return Ok(());
        }
        match memchr::memrchr(b'\n', &buf) {
            Some(end) => {
                carry.extend_from_slice(&buf[end + 1..]);
                buf.truncate(end + 1);
                if !emit(buf) {
                    return Ok(());
                }
            }
            // A line longer than a block: read on.
            None => carry = buf,
        }
    }
}

/// Runs `work` over the blocks of `path` on worker threads, then `sequence` over the results in
/// file order on a thread of its own, and gives what that returns to `take` on this thread.
/// `see` sees every block in file order on the reading thread. `take` returning an error stops
/// the reading and the workers. With `last_read` (the file is not read again), its pages leave
/// the page cache behind the reader.
pub(super) fn pipeline<R: Send, S: Send>(
    path: &Path,
    last_read: bool,
    see: &mut (dyn FnMut(&[u8]) + Send),
    work: &(dyn Fn(&[u8]) -> R + Sync),
    sequence: &mut (dyn FnMut(R) -> S + Send),
    take: &mut dyn FnMut(S) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let cannot_read =
        |e: std::io::Error| CliError::Runtime(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot_read)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let pool = Pool(Mutex::new(Vec::new()));
    let (jobs_tx, jobs_rx) = sync_channel::<(Vec<u8>, SyncSender<R>)>(workers);
    let (order_tx, order_rx) = sync_channel::<Receiver<R>>(2 * workers + 1);
    let (sequenced_tx, sequenced_rx) = sync_channel::<S>(2);
    let jobs_rx = Mutex::new(jobs_rx);
    let (jobs_rx, pool) = (&jobs_rx, &pool);
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            read_blocks(&mut file, pool, last_read, |block| {
                see(&block);
                let (result_tx, result_rx) = sync_channel(1);
                order_tx.send(result_rx).is_ok() && jobs_tx.send((block, result_tx)).is_ok()
            })
        });
        for _ in 0..workers {
            s.spawn(move || {
                while let Some((block, result_tx)) =
                    jobs_rx.lock().ok().and_then(|rx| rx.recv().ok())
                {
                    let result = work(&block);
                    pool.give(block);
                    // The sequencer may have stopped; then nobody wants the result.
                    let _ = result_tx.send(result);
                }
            });
        }
        let sequencer = s.spawn(move || {
            for result_rx in order_rx {
                // A worker that drops its result without sending it has panicked.
                let Ok(result) = result_rx.recv() else {
                    return false;
                };
                if sequenced_tx.send(sequence(result)).is_err() {
                    break;
                }
            }
            true
        });
        let mut outcome = Ok(());
        for item in sequenced_rx.iter() {
            outcome = take(item);
            if outcome.is_err() {
                break;
            }
        }
        drop(sequenced_rx);
        let sequenced = sequencer.join().unwrap_or(false);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")));
        outcome.and(read.map_err(cannot_read)).and(if sequenced {
            Ok(())
        } else {
            Err(CliError::Runtime(format!(
                "reading {} failed in a worker thread",
                path.display()
            )))
        })
    })
}

/// A checksum of a block, so that the second pass knows it reads what the first pass checked.
pub(super) fn block_sum(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x4F50_5344).hash_one(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_line(bytes, |l| out.push(l.to_vec()));
        out
    }

    #[test]
    fn lines_end_as_bufread_ends_them() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\nb\r\n",
            b"a\nb",
            b"a\r",
            b"\n\nx\r\r\n",
        ] {
            let expected: Vec<Vec<u8>> = std::io::BufRead::lines(text)
                .map(|l| l.unwrap().into_bytes())
                .collect();
            assert_eq!(
                lines_of(text),
                expected,
                "{:?}",
                String::from_utf8_lossy(text)
            );
            let mut fast = Sha256::new();
            digest_block(&mut fast, text);
            let mut slow = Sha256::new();
            for line in &expected {
                slow.update(line);
                slow.update(b"\n");
            }
            assert_eq!(fast.finalize(), slow.finalize());
        }
    }

    #[test]
    fn blocks_hold_whole_lines_and_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Lines of many lengths, one longer than a block, and no final newline.
        let mut text = Vec::new();
        for i in 0..200_000usize {
            text.extend(std::iter::repeat_n(b'x', i % 97));
            text.push(b'\n');
            if i == 1000 {
                text.extend(std::iter::repeat_n(b'y', BLOCK + 10));
                text.push(b'\n');
            }
        }
        text.extend_from_slice(b"last");
        std::fs::write(&path, &text).unwrap();
        let pool = Pool(Mutex::new(Vec::new()));
        let mut joined = Vec::new();
        let mut blocks = 0;
        read_blocks(&mut std::fs::File::open(&path).unwrap(), &pool, true, |b| {
            assert!(b.ends_with(b"\n") || b.ends_with(b"last"));
            joined.extend_from_slice(&b);
            blocks += 1;
            true
        })
        .unwrap();
        assert!(blocks > 2);
        assert_eq!(joined, text);
    }
}
