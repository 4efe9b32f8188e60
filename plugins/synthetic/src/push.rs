//! The push-style mode (`push_rate > 0`): a thread that emits rounds at the
//! configured rate from `start` until `stop`, and hands the generator back
//! when it ends so a later `start` continues the same sequence.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use edge_agent_sdk::{EmitStatus, Error, Host};

use crate::config::Config;
use crate::generator::Generator;
use crate::pacer::Pacer;
use crate::readings;

/// The push thread's owner: idle (holding the generator) or running.
#[derive(Debug)]
pub struct Pusher {
    host: Host,
    config: Config,
    state: State,
}

#[derive(Debug)]
enum State {
    Idle(Generator),
    Running {
        /// Dropping it (or sending on it) tells the thread to end.
        stop: Sender<()>,
        thread: JoinHandle<Generator>,
    },
    /// Only while switching between the two.
    Switching,
}

impl Pusher {
    /// An idle pusher for `config` (whose `push_rate` is > 0).
    pub fn new(host: Host, config: Config) -> Pusher {
        Pusher {
            host,
            state: State::Idle(Generator::new(config.clone())),
            config,
        }
    }

    /// Starts the thread; a second `start` while running does nothing.
    pub fn start(&mut self) -> Result<(), Error> {
        let generator = match std::mem::replace(&mut self.state, State::Switching) {
            State::Idle(generator) => generator,
            running @ State::Running { .. } => {
                self.state = running;
                return Ok(());
            }
            State::Switching => Generator::new(self.config.clone()),
        };
        let (stop, stopped) = mpsc::channel();
        let host = self.host;
        let rate = self.config.push_rate;
        let spawned = thread::Builder::new()
            .name("synthetic-push".into())
            .spawn(move || push(host, rate, generator, stopped));
        match spawned {
            Ok(thread) => {
                self.state = State::Running { stop, thread };
                Ok(())
            }
            Err(e) => {
                self.state = State::Idle(Generator::new(self.config.clone()));
                Err(Error::new(format!("cannot start the push thread: {e}")))
            }
        }
    }

    /// Ends the thread and waits for it, so nothing is emitted after this
    /// returns; stopping an idle pusher does nothing.
    pub fn stop(&mut self) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Switching) {
            State::Running { stop, thread } => {
                drop(stop);
                match thread.join() {
                    Ok(generator) => {
                        self.state = State::Idle(generator);
                        Ok(())
                    }
                    Err(_) => {
                        // The sequence restarts from sample 0: its state
                        // went down with the thread.
                        self.state = State::Idle(Generator::new(self.config.clone()));
                        Err(Error::new("the push thread panicked"))
                    }
                }
            }
            idle => {
                self.state = idle;
                Ok(())
            }
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        // Joining here keeps "nothing after stop" true even if the host
        // destroys without stopping (the SDK stops first, but be sure).
        let _ = self.stop();
    }
}

/// The thread: emits whole rounds as they fall due, in bounded batches,
/// until told to stop or the host says the instance is stopped.
fn push(host: Host, rate: f64, mut generator: Generator, stopped: Receiver<()>) -> Generator {
    let tags = generator.config().tags.clone();
    let tag_refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let round_len = generator.round_len(true);
    let pacer = Pacer::new(rate, round_len);
    let batch_rounds = Pacer::batch_rounds(round_len);
    let started = Instant::now();
    let mut rounds_done = 0u64;
    let mut samples = Vec::new();
    loop {
        let due = pacer.due(started.elapsed());
        if rounds_done >= due {
            match stopped.recv_timeout(pacer.wait(rounds_done, started.elapsed())) {
                Err(RecvTimeoutError::Timeout) => continue,
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        match stopped.try_recv() {
            Err(TryRecvError::Empty) => {}
            Ok(()) | Err(TryRecvError::Disconnected) => break,
        }
        let rounds = (due - rounds_done).min(batch_rounds);
        samples.clear();
        for _ in 0..rounds {
            generator.round(true, &mut samples);
        }
        rounds_done += rounds;
        let status = host.emit(&readings(&generator, &tag_refs, &samples));
        // Full and Rejected are the host's to count and log; sampling goes
        // on. Stopped means the host will take nothing more.
        if status == EmitStatus::Stopped {
            break;
        }
    }
    generator
}
