//! A real pseudo-terminal running the real binary, read back through a terminal emulator
//! (vt100), so tests and benches see the screen a person would.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// How much of the raw output a Pty keeps (the console's long runs write far more).
const RAW_KEPT: usize = 8 << 20;
/// Silence that separates one frame's output from the next: programs write a frame in one go.
const BURST_GAP: Duration = Duration::from_millis(40);

pub struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote to the terminal.
    pub bytes: Arc<AtomicU64>,
    /// The first `RAW_KEPT` bytes themselves, as the terminal received them.
    raw: Arc<Mutex<Vec<u8>>>,
    /// Set when the program's side of the terminal closed and everything was read.
    drained: Arc<AtomicBool>,
    /// When each BEL (0x07) byte arrived: the console's bell, timed as the terminal got it.
    bells: Arc<Mutex<Vec<Instant>>>,
    /// Output that arrived after at least `BURST_GAP` of silence: one per redrawn frame.
    pub bursts: Arc<AtomicU64>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    /// Starts `program args…` in a `cols`×`rows` terminal with `env` added and `home` as HOME
    /// and XDG base (so nothing touches the developer's own files).
    pub fn spawn(
        program: &str,
        args: &[&str],
        cols: u16,
        rows: u16,
        home: &Path,
        env: &[(&str, &str)],
    ) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("HOME", home);
        for dir in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"] {
            cmd.env(dir, home.join(dir.to_lowercase()));
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("the program starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("a reader");
        let writer = pair.master.take_writer().expect("a writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let bytes = Arc::new(AtomicU64::new(0));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let drained = Arc::new(AtomicBool::new(false));
        let bells = Arc::new(Mutex::new(Vec::new()));
        let (p, b, r, d) = (parser.clone(), bytes.clone(), raw.clone(), drained.clone());
        let rung = bells.clone();
        let bursts = Arc::new(AtomicU64::new(0));
        let frames = bursts.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            let mut last: Option<Instant> = None;
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                b.fetch_add(n as u64, Ordering::Relaxed);
                let at = Instant::now();
                if last.is_none_or(|l| at - l >= BURST_GAP) {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                last = Some(at);
                let count = buf[..n].iter().filter(|c| **c == 0x07).count();
                if count > 0 {
                    rung.lock().unwrap().extend(std::iter::repeat_n(at, count));
                }
                {
                    let mut raw = r.lock().unwrap();
                    let room = RAW_KEPT.saturating_sub(raw.len()).min(n);
                    raw.extend_from_slice(&buf[..room]);
                }
                p.lock().unwrap().process(&buf[..n]);
            }
            d.store(true, Ordering::Release);
        });
        Pty {
            parser,
            bytes,
            raw,
            drained,
            bells,
            bursts,
            writer,
            child,
            _master: pair.master,
        }
    }

    /// When each bell so far reached the terminal.
    pub fn bells(&self) -> Vec<Instant> {
        self.bells.lock().unwrap().clone()
    }

    /// Every byte received so far (up to the kept limit).
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    pub fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until the screen shows `needle`; the limit only guards against a hang.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("waited {limit:?} for {needle:?}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "the program did not exit within {limit:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the program to exit and its output to be read to the end; returns the exit
    /// status and every byte the terminal received.
    pub fn run_to_end(&mut self, limit: Duration) -> (portable_pty::ExitStatus, Vec<u8>) {
        let status = self.wait_exit(limit);
        let start = Instant::now();
        while !self.drained.load(Ordering::Acquire) && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status, self.raw.lock().unwrap().clone())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
