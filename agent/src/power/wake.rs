//! Waking the module from Sleep-2 or Hibernate, where UART bytes are
//! dropped: the configured wake action (`modem.power.wake`), then
//! sacrificial `AT`s until the module answers.
//!
//! Timing `[lib]`: ubxlib waits 100 ms after the wake pulse, then probes
//! with `AT` every 333 ms; [`AtClient::sync`] probes at that pace (333 ms
//! per attempt, two `OK`s in a row) within its window.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use super::gpio::{self, GpioError};
use crate::modem::at::{AtClient, AtError};
use crate::modem::ModemLink;

/// The quiet time after the wake action before the first `AT` `[lib]`.
pub const FIRST_PROBE_DELAY: Duration = Duration::from_millis(100);

/// What `modem.power.wake` asks for, with defaults filled in (`config`
/// builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeAction {
    None,
    Gpio {
        chip: PathBuf,
        line: u32,
        active_low: bool,
        pulse: Duration,
    },
    Command {
        program: PathBuf,
        args: Vec<String>,
        timeout: Duration,
    },
}

/// A wake line driven by something other than the host's GPIO: the
/// in-process simulator's PWR_ON ([`Waker::for_link`] picks it for
/// `modem.port = "sim"`).
pub trait WakeLine: Send + Sync + std::fmt::Debug {
    fn pulse_wake_line(&self) -> Result<(), WakeError>;
}

/// The wake action, ready to run.
#[derive(Debug, Clone)]
pub enum Waker {
    /// What `modem.power.wake` says ([`WakeAction::None`]: only sacrificial
    /// `AT`s, enough for Sleep-1).
    Action(WakeAction),
    Line(Arc<dyn WakeLine>),
}

/// The simulator's PWR_ON line as a [`WakeLine`].
#[cfg(feature = "sim")]
#[derive(Debug)]
struct SimWakeLine(lexi_sim::SimHandle);

#[cfg(feature = "sim")]
impl WakeLine for SimWakeLine {
    fn pulse_wake_line(&self) -> Result<(), WakeError> {
        self.0.pulse_wake_line();
        Ok(())
    }
}

/// The module could not be woken.
#[derive(Debug, thiserror::Error)]
pub enum WakeError {
    #[error("wake pulse: {0}")]
    Gpio(#[from] GpioError),
    #[error("the GPIO wake pulse did not finish: {0}")]
    GpioTask(String),
    #[error("cannot run the wake command {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("the wake command {} failed: {status}", program.display())]
    Failed {
        program: PathBuf,
        status: std::process::ExitStatus,
    },
    #[error("the wake command {} did not finish within {after:?}; it was killed", program.display())]
    Timeout { program: PathBuf, after: Duration },
    #[error("the wake line: {0}")]
    Line(String),
    #[error("the module did not answer after the wake action: {0}")]
    NoAnswer(#[source] AtError),
}

impl Waker {
    /// What wakes the module on `link`: the simulator's PWR_ON line for
    /// `port = "sim"`, else the configured `action` (`None` only for a
    /// table the config check refused).
    pub fn for_link(link: &ModemLink, action: Option<&WakeAction>) -> Waker {
        #[cfg(feature = "sim")]
        if let Some(sim) = &link.simulator {
            return Waker::Line(Arc::new(SimWakeLine(sim.clone())));
        }
        #[cfg(not(feature = "sim"))]
        let _ = link;
        Waker::Action(action.cloned().unwrap_or(WakeAction::None))
    }

    pub fn from_action(action: &WakeAction) -> Waker {
        Waker::Action(action.clone())
    }

    /// Nothing but sacrificial `AT`s.
    pub fn is_none(&self) -> bool {
        matches!(self, Waker::Action(WakeAction::None))
    }

    /// The wake action alone.
    pub async fn pulse(&self) -> Result<(), WakeError> {
        match self {
            Waker::Action(WakeAction::None) => Ok(()),
            Waker::Action(WakeAction::Gpio {
                chip,
                line,
                active_low,
                pulse,
            }) => {
                let (chip, line, active_low, pulse) = (chip.clone(), *line, *active_low, *pulse);
                tokio::task::spawn_blocking(move || {
                    gpio::pulse_blocking(&chip, line, active_low, pulse)
                })
                .await
                .map_err(|e| WakeError::GpioTask(e.to_string()))??;
                Ok(())
            }
            Waker::Action(WakeAction::Command {
                program,
                args,
                timeout,
            }) => run_command(program, args, *timeout).await,
            Waker::Line(line) => line.pulse_wake_line(),
        }
    }

    /// The wake action, then `AT`s until the module answers.
    pub async fn wake(&self, at: &AtClient) -> Result<(), WakeError> {
        self.pulse().await?;
        tokio::time::sleep(FIRST_PROBE_DELAY).await;
        at.sync().await.map_err(WakeError::NoAnswer)
    }
}

async fn run_command(
    program: &PathBuf,
    args: &[String],
    timeout: Duration,
) -> Result<(), WakeError> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        // A hung script is killed when its wait is given up.
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| WakeError::Spawn {
            program: program.clone(),
            source,
        })?;
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(waited) => waited.map_err(|source| WakeError::Spawn {
            program: program.clone(),
            source,
        })?,
        Err(_) => {
            // Reaped here so no zombie is left; kill_on_drop covers a
            // cancelled wake.
            let _ = child.kill().await;
            return Err(WakeError::Timeout {
                program: program.clone(),
                after: timeout,
            });
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(WakeError::Failed {
            program: program.clone(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::modem::test_peer;

    fn command(program: &str, args: &[&str], timeout: Duration) -> Waker {
        Waker::from_action(&WakeAction::Command {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout,
        })
    }

    #[tokio::test]
    async fn a_wake_command_must_exit_zero_in_time() {
        let long = Duration::from_secs(30);
        command("/bin/true", &[], long).pulse().await.unwrap();
        let err = command("/bin/false", &[], long).pulse().await.unwrap_err();
        assert!(matches!(err, WakeError::Failed { .. }), "{err:?}");
        assert!(err.to_string().contains("/bin/false"), "{err}");
        let err = command("/bin/sh", &["-c", "exit 3"], long)
            .pulse()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("exit status: 3"), "{err}");
        let err = command("/nonexistent/wake-modem", &[], long)
            .pulse()
            .await
            .unwrap_err();
        assert!(matches!(err, WakeError::Spawn { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/wake-modem"), "{err}");
    }

    #[tokio::test]
    async fn a_hung_wake_command_is_killed_at_its_timeout() {
        let err = command("/bin/sh", &["-c", "sleep 30"], Duration::from_millis(200))
            .pulse()
            .await
            .unwrap_err();
        assert!(matches!(err, WakeError::Timeout { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_gpio_wake_on_a_missing_chip_names_it() {
        let waker = Waker::from_action(&WakeAction::Gpio {
            chip: "/dev/gpiochip-edge-agent-test".into(),
            line: 2,
            active_low: false,
            pulse: Duration::from_millis(1),
        });
        let err = waker.pulse().await.unwrap_err();
        assert!(
            err.to_string().contains("/dev/gpiochip-edge-agent-test"),
            "{err}"
        );
    }

    #[derive(Debug, Default)]
    struct CountingLine(AtomicUsize);

    impl WakeLine for CountingLine {
        fn pulse_wake_line(&self) -> Result<(), WakeError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_line_is_pulsed_before_the_first_sacrificial_at() {
        let (at, mut peer) = test_peer::start();
        let line = Arc::new(CountingLine::default());
        let waker = Waker::Line(line.clone());
        let woken = tokio::spawn(async move { waker.wake(&at).await });
        assert_eq!(peer.command().await, "AT");
        assert_eq!(line.0.load(Ordering::SeqCst), 1);
        peer.say(b"\r\nOK\r\n").await;
        peer.ok("AT").await;
        woken.await.unwrap().unwrap();
        assert_eq!(line.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn none_maps_to_none() {
        assert!(Waker::from_action(&WakeAction::None).is_none());
    }
}
