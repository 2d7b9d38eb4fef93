//! Threads of their own for reads, scheduled below the engine's thread and the request handlers:
//! a storm of searches takes the CPU nobody else wants, and a decision never waits for a core
//! behind one. The threads share one queue, so reads beyond the pool's size wait their turn.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::store::Reader;

/// A read waiting for a thread.
pub type Job = Box<dyn FnOnce(&Reader) + Send>;

/// How much lower than its peers a read thread is scheduled: the lowest nice value, which the
/// kernel weighs at about 1/70 of the default when both want the same core; alone on a core, a
/// read runs at full speed.
#[cfg(target_os = "linux")]
const NICENESS: i32 = 19;

#[derive(Clone)]
pub struct ReadPool {
    jobs: Sender<Job>,
}

impl ReadPool {
    /// `threads` read threads on `reader`'s connections, at the lowest priority when
    /// `background`; they end when the last handle does.
    pub fn start(reader: Reader, threads: usize, background: bool) -> ReadPool {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let (reader, queue) = (reader.clone(), queue.clone());
            let started = std::thread::Builder::new()
                .name(format!("opsdeck-read-{n}"))
                .spawn(move || {
                    if background {
                        lower_priority();
                    }
                    serve(&reader, &queue)
                });
            if let Err(e) = started {
                tracing::warn!("a read thread did not start: {e}");
            }
        }
        ReadPool { jobs }
    }

    /// Queues `job`; false when no thread is left to run it.
    pub fn run(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }
}

fn serve(reader: &Reader, queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while one runs.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(reader),
            Err(_) => return,
        }
    }
}

/// On Linux a nice value belongs to a thread, so this lowers only the calling one.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), NICENESS) {
            tracing::debug!("a read thread keeps its priority: {e}");
        }
    }
}
